"""Colour hints: the value type, the sidecar JSON file and the encoding into network channels."""
from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .color import rgb_to_ab
from .errors import HintsFileError
from .fileio import atomic_write_text, file_stamp, photo_digest, photo_key

FORMAT = "colorstudio.hints"
VERSION = 1
SIDECAR_SUFFIX = ".colorstudio.json"
DEFAULT_HINT_SIZE = 0.02
MAX_HINTS = 10_000
MAX_SATURATION = 4.0  # a hints file's "saturation": the photo's chroma scale, 0 (gray) to 4
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Hint:
    """A colour hint at a point of the photo.

    x, y: normalised image coordinates in [0, 1] (x = (column + 0.5) / width).
    rgb: sRGB triple 0..255; only its chroma is used.
    size: side of the hint's square patch as a fraction of the image's long side.
    """

    x: float
    y: float
    rgb: tuple[int, int, int]
    size: float = DEFAULT_HINT_SIZE
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("x", "y", "size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise TypeError(f"Hint.{name} must be a number, got {type(value).__name__}")
            try:
                number = float(value)
            except OverflowError:  # an int too large for a float (a JSON file can hold one)
                raise ValueError(f"Hint.{name} must be a finite number, got one too large for a float") from None
            if not math.isfinite(number):
                raise ValueError(f"Hint.{name} must be finite, got {value}")
            object.__setattr__(self, name, number)
        if not (0.0 <= self.x <= 1.0 and 0.0 <= self.y <= 1.0):
            raise ValueError(f"Hint coordinates must lie in [0, 1], got x={self.x}, y={self.y}")
        if not (0.0 < self.size <= 1.0):
            raise ValueError(f"Hint.size must be in (0, 1], got {self.size}")
        rgb = self.rgb
        if isinstance(rgb, (str, bytes)) or not isinstance(rgb, (Sequence, np.ndarray)):  # a set has no order
            raise TypeError(f"Hint.rgb must be a triple of ints 0..255 (a tuple or list), got {rgb!r}")
        rgb = tuple(rgb)
        if len(rgb) != 3 or any(
            isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= int(c) <= 255 for c in rgb
        ):
            raise ValueError(f"Hint.rgb must be a triple of ints 0..255, got {self.rgb!r}")
        object.__setattr__(self, "rgb", (int(rgb[0]), int(rgb[1]), int(rgb[2])))

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)

    def moved(self, x: float, y: float) -> Hint:
        return Hint(x, y, self.rgb, self.size, self.extra)

    def recoloured(self, rgb: tuple[int, int, int]) -> Hint:
        return Hint(self.x, self.y, rgb, self.size, self.extra)

    def resized(self, size: float) -> Hint:
        return Hint(self.x, self.y, self.rgb, size, self.extra)


@dataclass(frozen=True)
class PhotoHints:
    """What a hints file holds for its photo: the hints and the photo's saturation, the
    chroma scale its results are shown and exported with (None when the file sets none:
    the caller's default applies, 1.0 unless a batch says otherwise)."""

    hints: tuple[Hint, ...] = ()
    saturation: float | None = None


def parse_color(value: Any) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b)."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):  # fullmatch: no trailing newline
        raise ValueError(f"colour must be a string '#rrggbb', got {value!r}")
    h = value[1:]
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def sidecar_path(image_path: str | os.PathLike[str]) -> Path:
    """photo.jpg -> photo.jpg.colorstudio.json (next to the image)."""
    p = Path(image_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def stored_hints_path(image_path: str | os.PathLike[str]) -> Path:
    """Where the hints of a photo whose folder cannot take a sidecar (a read-only archive,
    a DVD) are kept: the user's ColorStudio data folder, one file per photo, named after a
    digest of the photo's absolute path (the file also names the photo)."""
    from .settings import data_dir

    return data_dir() / "hints" / f"{photo_digest(image_path)}.colorstudio.json"


def _mtime(path: Path) -> int | None:
    """A file's modification time (ns); None where there is none, as Path.exists sees it, or
    where its name is too long for the file system (a photo named in 239 to 255 bytes leaves
    no room for the sidecar's suffix)."""
    try:
        return path.stat().st_mtime_ns
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP, errno.ENAMETOOLONG):
            return None
        raise


def find_hints_file(image_path: str | os.PathLike[str]) -> Path | None:
    """The photo's hints file: its sidecar or its stored hints (stored_hints_path), else None.

    Where it has both, the stored file if it was saved over that very sidecar: a save where
    the sidecar could not be written (a read-only archive that came with its sidecars) goes
    to the stored file, which notes the sidecar's time and size then, and the photo is read
    with it from then on. A sidecar that is not that one (another disc mounted at the same
    place with its own sidecars, or the sidecar written since elsewhere) is read instead."""
    side, stored = sidecar_path(image_path), stored_hints_path(image_path)
    side_time, stored_time = _mtime(side), _mtime(stored)
    if stored_time is None:
        return side if side_time is not None else None
    if side_time is None:
        return stored
    return stored if _saved_over(stored) == _file_stamp(side) else side


def _file_stamp(path: Path) -> list[int] | None:
    """file_stamp as a JSON list (how a stored hints file notes its sidecar), or None."""
    stamp = file_stamp(path)
    return None if stamp is None else list(stamp)


def _saved_over(stored: Path) -> list[int] | None:
    """The sidecar stamp a stored hints file was saved over (save_hints_for), or None."""
    try:
        with open(stored, "rb") as f:
            data = json.loads(f.read())
        stamp = data.get("sidecar") if isinstance(data, dict) else None
    except (OSError, ValueError, RecursionError):
        return None
    return stamp if isinstance(stamp, list) else None


def hints_from_json(data: Any, source: str = "<hints>") -> tuple[Hint, ...]:
    """Validate a parsed hints document and return its hints."""

    def fail(problem: str) -> HintsFileError:
        return HintsFileError(f"{source}: {problem}")

    if not isinstance(data, dict):
        raise fail("expected a JSON object with 'format', 'version' and 'hints'")
    if data.get("format") != FORMAT:
        raise fail(f"'format' must be {FORMAT!r}, got {data.get('format')!r}")
    version = data.get("version")
    if isinstance(version, bool) or version != VERSION:
        raise fail(f"unsupported 'version' {version!r} (this program reads version {VERSION})")
    items = data.get("hints")
    if not isinstance(items, list):
        raise fail("'hints' must be a list")
    if len(items) > MAX_HINTS:
        raise fail(f"too many hints ({len(items)}; at most {MAX_HINTS})")
    hints = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise fail(f"hint {i} must be an object with 'x', 'y' and 'color'")
        for key in ("x", "y", "color"):
            if key not in item:
                raise fail(f"hint {i} has no {key!r}")
        try:
            rgb = parse_color(item["color"])
            size = item.get("size", DEFAULT_HINT_SIZE)
            extra = tuple(sorted((k, v) for k, v in item.items() if k not in ("x", "y", "color", "size")
                                 and _finite(v)))
            hints.append(Hint(item["x"], item["y"], rgb, size, extra))
        except (TypeError, ValueError) as exc:
            raise fail(f"hint {i}: {exc}") from None
    return tuple(hints)


def _finite(value: Any) -> bool:
    """Whether a parsed JSON value holds no inf or NaN. A number too large for a float (1e400)
    is read as inf, which JSON cannot write back: an unknown key holding one is dropped rather
    than carried over into a file that could then not be saved."""
    todo = [value]
    while todo:  # not recursive: a value may be nested as deeply as json.loads allows
        v = todo.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if isinstance(v, dict):
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
    return True


def hints_to_json(hints: Sequence[Hint], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    # format and version first, as the documented example has them; other keys before the hints
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    doc.update((k, v) for k, v in (extra or {}).items() if k not in ("format", "version", "hints"))
    items = []
    for h in hints:
        item: dict[str, Any] = dict(h.extra)
        item.update({"x": round(h.x, 6), "y": round(h.y, 6), "color": h.hex})
        if h.size != DEFAULT_HINT_SIZE:
            item["size"] = round(h.size, 6)
        items.append(item)
    doc["hints"] = items
    return doc


def _read_json(p: Path) -> Any:
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise HintsFileError(f"{p}: no such hints file") from None
    except OSError as exc:
        raise HintsFileError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        # utf-8-sig: a byte-order mark, as Windows editors write one, is skipped
        return json.loads(raw.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise HintsFileError(f"{p}: not UTF-8 text") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise HintsFileError(f"{p}: not valid JSON ({exc})") from None
    except RecursionError:
        raise HintsFileError(f"{p}: JSON nested too deeply") from None


def saturation_from_json(data: Any, source: str = "<hints>") -> float | None:
    """The optional top-level "saturation" of a hints document (None when absent)."""
    value = data.get("saturation") if isinstance(data, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SATURATION:
        raise HintsFileError(f"{source}: 'saturation' must be a number from 0 to {MAX_SATURATION:g}, got {value!r}")
    return float(value)


def load_hints(path: str | os.PathLike[str]) -> tuple[Hint, ...]:
    """Read and validate a hints file; raises HintsFileError naming the file."""
    return load_photo_hints(path).hints


def load_photo_hints(path: str | os.PathLike[str]) -> PhotoHints:
    """Read and validate a hints file: its hints and its photo's saturation."""
    p = Path(path)
    data = _read_json(p)
    hints = hints_from_json(data, str(p))
    return PhotoHints(hints, saturation_from_json(data, str(p)))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def hints_file_text(doc: dict[str, Any]) -> str:
    """A hints document (hints_to_json) as the text of its file: UTF-8-encodable JSON. Raises
    ValueError for a number JSON cannot hold (inf, NaN)."""
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\\ud800" is valid JSON; a photo name that is not UTF-8, kept by
        # Python as surrogates) has no UTF-8 form: keep it escaped.
        text = json.dumps(doc, indent=2, ensure_ascii=True, allow_nan=False) + "\n"
    return text


def save_hints(path: str | os.PathLike[str], hints: Sequence[Hint], extra: dict[str, Any] | None = None,
               saturation: float | None = None) -> None:
    """Write a hints file atomically, keeping unknown top-level keys of an existing file
    (and adding `extra`'s). `saturation`, when given, is stored as the file's "saturation"
    (None keeps the file's, if any). A link is followed: the file it points to is written
    (a sidecar kept in a synced or versioned folder stays there), not replaced by a plain file."""
    p = Path(path)
    if p.is_symlink():
        p = p.resolve()
    if len(hints) > MAX_HINTS:  # the file could not be read back: refuse it, and keep the one there
        raise ValueError(f"{p}: {len(hints)} hints, more than a hints file holds ({MAX_HINTS})")
    extra = dict(extra or {})
    if p.exists():
        try:
            old = json.loads(p.read_text("utf-8-sig"), parse_constant=_refuse_constant)
            if isinstance(old, dict):
                extra = {k: v for k, v in old.items() if k not in ("format", "version", "hints") and _finite(v)} | extra
        except (OSError, ValueError, RecursionError):
            pass
    if saturation is not None:
        if not 0 <= saturation <= MAX_SATURATION:  # also refuses NaN
            raise ValueError(f"saturation must be from 0 to {MAX_SATURATION:g}, got {saturation!r}")
        extra["saturation"] = round(float(saturation), 4)
    atomic_write_text(p, hints_file_text(hints_to_json(hints, extra)))


def save_hints_for(image_path: str | os.PathLike[str], hints: Sequence[Hint], saturation: float | None = None) -> Path:
    """Save a photo's hints (and saturation, see save_hints) in its sidecar; where its folder
    is read-only (or the photo's name leaves no room for the sidecar's suffix), in its stored
    hints file instead (see stored_hints_path). Returns the file written; raises OSError. A
    sidecar written supersedes (and removes) a stored file."""
    side, stored = sidecar_path(image_path), stored_hints_path(image_path)
    try:
        save_hints(side, hints, saturation=saturation)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG):
            raise
        stored.parent.mkdir(parents=True, exist_ok=True)
        # the sidecar it is saved over (find_hints_file): this one is read, not that one, while it is unchanged
        save_hints(stored, hints, {"image": photo_key(image_path), "sidecar": _file_stamp(side)},
                   saturation=saturation)
        return stored
    with contextlib.suppress(OSError):
        stored.unlink(missing_ok=True)
    return side


def patch_bounds(hint: Hint, height: int, width: int) -> tuple[int, int, int, int]:
    """Rows [r0, r1) and columns [c0, c1) of a hint's square patch on an (height, width) grid."""
    side = max(1, int(round(hint.size * max(height, width))))
    row = min(height - 1, int(hint.y * height))
    col = min(width - 1, int(hint.x * width))
    r0 = max(0, row - (side - 1) // 2)
    c0 = max(0, col - (side - 1) // 2)
    return r0, min(height, r0 + side), c0, min(width, c0 + side)


def encode_hints(hints: Sequence[Hint], height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Hints -> (ab (2, H, W) float32 in Lab units, mask (1, H, W) float32 in {0, 1}).

    Each hint fills its square patch with its chroma; later hints win where patches overlap.
    """
    ab = np.zeros((2, height, width), dtype=np.float32)
    mask = np.zeros((1, height, width), dtype=np.float32)
    cache: dict[tuple[int, int, int], tuple[float, float]] = {}
    for h in hints:
        if h.rgb not in cache:
            cache[h.rgb] = rgb_to_ab(h.rgb)
        a, b = cache[h.rgb]
        r0, r1, c0, c1 = patch_bounds(h, height, width)
        ab[0, r0:r1, c0:c1] = a
        ab[1, r0:r1, c0:c1] = b
        mask[0, r0:r1, c0:c1] = 1.0
    return ab, mask


def validate_hints(hints: Any) -> tuple[Hint, ...]:
    """Accept any sequence of Hint; raise TypeError otherwise."""
    if hints is None:
        return ()
    if isinstance(hints, (str, bytes)) or not isinstance(hints, Iterable):
        raise TypeError(f"hints must be a sequence of Hint, got {type(hints).__name__}")
    out = tuple(hints)
    for i, h in enumerate(out):
        if not isinstance(h, Hint):
            raise TypeError(f"hints[{i}] must be a colorstudio.Hint, got {type(h).__name__}")
    return out
