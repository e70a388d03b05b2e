"""The PySide6 app. Everything Qt lives below here; colorstudio.core never imports it."""
from __future__ import annotations

from .main_window import MainWindow

__all__ = ["MainWindow"]
