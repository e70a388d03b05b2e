"""ColorStudio: colorize black-and-white photos with a hint-conditioned network."""
from __future__ import annotations

__version__ = "0.1.0"

from .core.engine import Engine, load_engine  # noqa: E402
from .core.hints import Hint  # noqa: E402

__all__ = ["Engine", "Hint", "load_engine", "__version__"]
