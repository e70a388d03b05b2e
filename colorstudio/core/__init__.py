"""Qt-free core: colour science, hints, the network, the engine, image I/O, batch runs."""
from __future__ import annotations

from .engine import Engine, load_engine
from .hints import Hint, load_hints, save_hints, sidecar_path

__all__ = ["Engine", "Hint", "load_engine", "load_hints", "save_hints", "sidecar_path"]
