"""The open photo and its hints: the one piece of state the commands change.

A `Document` holds the current photo (full-resolution pixels, a downscaled preview for
live inference), its hints as an immutable tuple and its saturation (the chroma scale of
its result, saved with the hints). Only commands call `set_hints` and `set_saturation`;
everything else listens to `hints_changed` and `saturation_changed`. The document is
dirty when its hints or saturation differ from those last saved to (or loaded from) the
sidecar.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, Signal

from ..core.fileio import atomic_write_text, file_stamp, photo_digest, photo_key
from ..core.hints import Hint, PhotoHints, hints_file_text, hints_to_json, load_photo_hints
from ..core.images import LoadedImage

PREVIEW_LONG_SIDE = 1024


def make_preview(pixels: np.ndarray, long_side: int = PREVIEW_LONG_SIDE) -> np.ndarray:
    """A copy of `pixels` whose long side is at most `long_side` (area-averaged), same dtype."""
    h, w = pixels.shape[:2]
    if max(h, w) <= long_side:
        return pixels
    s = long_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


class Document(QObject):
    """The open photo and its hints."""

    hints_changed = Signal(object)  # tuple[Hint, ...]
    saturation_changed = Signal(float)
    image_changed = Signal()
    dirty_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.image: LoadedImage | None = None
        self.preview: np.ndarray | None = None
        self._hints: tuple[Hint, ...] = ()
        self._saved: tuple[Hint, ...] = ()
        self._saturation = 1.0
        self._saved_saturation = 1.0
        self._key = ""
        self.photo_stamp: tuple[int, int] | None = None  # the photo file's (size, mtime) when opened

    # -- queries ------------------------------------------------------------------------
    @property
    def hints(self) -> tuple[Hint, ...]:
        return self._hints

    @property
    def saved_hints(self) -> tuple[Hint, ...]:
        return self._saved

    @property
    def saturation(self) -> float:
        return self._saturation

    @property
    def saved_saturation(self) -> float:
        return self._saved_saturation

    @property
    def key(self) -> str:
        """The open photo's absolute path as a string ("" if none); resolved once, at load."""
        return self._key

    @property
    def is_open(self) -> bool:
        return self.image is not None

    @property
    def dirty(self) -> bool:
        return self._hints != self._saved or self._saturation != self._saved_saturation

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the full-resolution photo, (0, 0) if none."""
        return self.image.size if self.image is not None else (0, 0)

    # -- changes --------------------------------------------------------------------------
    def load(self, path: Path, image: LoadedImage, hints: tuple[Hint, ...], saved: tuple[Hint, ...],
             saturation: float = 1.0, saved_saturation: float = 1.0) -> None:
        """Replace the photo. `saved` and `saved_saturation` are on disk; `hints` and
        `saturation` are the ones to show."""
        was_dirty = self.dirty
        self.path = Path(path)
        self._key = photo_key(self.path)
        self.photo_stamp = photo_stamp(self.path)
        self.image = image
        self.preview = make_preview(image.pixels)
        self._hints = tuple(hints)
        self._saved = tuple(saved)
        self._saturation = float(saturation)
        self._saved_saturation = float(saved_saturation)
        self.image_changed.emit()  # listeners read the new saturation here: no saturation_changed
        self.hints_changed.emit(self._hints)
        if self.dirty != was_dirty:
            self.dirty_changed.emit(self.dirty)

    def set_hints(self, hints: tuple[Hint, ...]) -> None:
        hints = tuple(hints)
        if hints == self._hints:
            return
        was_dirty = self.dirty
        self._hints = hints
        self.hints_changed.emit(hints)
        if self.dirty != was_dirty:
            self.dirty_changed.emit(self.dirty)

    def set_saturation(self, saturation: float) -> None:
        saturation = float(saturation)
        if saturation == self._saturation:
            return
        was_dirty = self.dirty
        self._saturation = saturation
        self.saturation_changed.emit(saturation)
        if self.dirty != was_dirty:
            self.dirty_changed.emit(self.dirty)

    def mark_saved(self, saved: tuple[Hint, ...] | None = None, saved_saturation: float | None = None) -> None:
        was_dirty = self.dirty
        self._saved = self._hints if saved is None else tuple(saved)
        self._saved_saturation = self._saturation if saved_saturation is None else float(saved_saturation)
        if self.dirty != was_dirty:
            self.dirty_changed.emit(self.dirty)


# -- autosave ----------------------------------------------------------------------------
def autosave_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".colorstudio") / "autosave"


def autosave_path(image_path: str | Path) -> Path:
    """The autosave file for a photo, in the per-user data folder (never next to the photo)."""
    return autosave_dir() / f"{photo_digest(image_path)}.json"


def photo_stamp(image_path: str | Path) -> tuple[int, int] | None:
    """(size in bytes, modification time in ns) of a photo file, as its autosave notes them; None
    if it cannot be read."""
    stamp = file_stamp(image_path)
    return None if stamp is None else (stamp[1], stamp[0])


class Autosave(NamedTuple):
    """A photo's autosave: its hints and saturation, when it was written (time.time()), and
    whether the photo file is still the one it was written for (False once the photo was
    replaced under its name, a rescan say; True for an autosave that does not say)."""

    hints: PhotoHints
    mtime: float
    same_photo: bool = True


def write_autosave(image_path: str | Path, hints: tuple[Hint, ...], saturation: float = 1.0,
                   stamp: tuple[int, int] | None = None) -> Path:
    """Write a photo's autosave, with the photo file's `stamp` (photo_stamp: now, if not given);
    raises OSError, or ValueError for hints no hints file can hold."""
    path = autosave_path(image_path)
    stamp = stamp or photo_stamp(image_path)
    extra = {"image": photo_key(image_path), "saved_at": time.time(), "saturation": round(float(saturation), 4)}
    if stamp is not None:
        extra["photo_size"], extra["photo_mtime_ns"] = stamp
    text = hints_file_text(hints_to_json(hints, extra))  # escaped where a photo's name (or a hint's text) is not UTF-8
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path


def read_autosave(image_path: str | Path) -> Autosave | None:
    """A photo's autosave, or None if there is none (or it is unreadable)."""
    path = autosave_path(image_path)
    if not path.exists():
        return None
    try:
        hints, mtime = load_photo_hints(path), path.stat().st_mtime
        doc = json.loads(path.read_text("utf-8"))  # read and checked once already
    except (OSError, ValueError):
        return None
    written = (doc.get("photo_size"), doc.get("photo_mtime_ns"))
    now = photo_stamp(image_path)
    same = None in written or now is None or tuple(written) == now
    return Autosave(hints, mtime, same)


def set_autosave_aside(image_path: str | Path) -> Path | None:
    """Move a photo's autosave out of the way (it is for an earlier picture under that name):
    kept beside it, under a name of its own, as a hints file File > Load Hints can read.
    Returns where it went; None if it could not be moved."""
    path = autosave_path(image_path)
    try:
        when = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
        aside = path.with_name(f"{path.stem}.earlier-photo-{when}.colorstudio.json")
        os.replace(path, aside)
    except OSError:
        return None
    return aside


def remove_autosave(image_path: str | Path) -> None:
    try:
        autosave_path(image_path).unlink(missing_ok=True)
    except OSError:
        pass


__all__ = ["Document", "make_preview", "photo_key", "photo_stamp", "autosave_path", "Autosave", "write_autosave",
           "read_autosave", "set_autosave_aside", "remove_autosave", "PREVIEW_LONG_SIDE"]
