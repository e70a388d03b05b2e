"""The PySide6 app. Everything Qt lives below here; colorstudio.core never imports it."""
from __future__ import annotations

from ._compat import guard_none_refcount

guard_none_refcount()  # before any other Qt call of ours: see _compat

from .main_window import MainWindow  # noqa: E402

__all__ = ["MainWindow"]
