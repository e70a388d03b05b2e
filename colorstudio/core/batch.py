"""Batch colorization: one routine for the command line and the app.

run_batch() colorizes a list of photos into an output folder. Each photo is read, its
sidecar hints (photo.jpg.colorstudio.json) applied, colorized and written atomically, so
an output file that exists is complete: a rerun skips it and finishes only the rest,
whether the earlier run ended normally, was cancelled, interrupted or killed. A photo
that fails (corrupt, empty, not an image, invalid sidecar, unwritable output, full disk)
is reported with its reason and the batch goes on.

Reading the next photo and writing the previous one run on two helper threads while the
calling thread colorizes, so file I/O adds no serial time around Engine.colorize. At most
three photos are in memory at once, whatever the length of the batch.

run_batch_cli() is `colorstudio batch`: progress on stderr, a summary, one line per
failure, and a JSON-lines report (see docs/batch.md).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import stat
import string
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, TextIO

import numpy as np

from .errors import ColorStudioError, HintsFileError
from .fileio import same_file_key
from .hints import MAX_SATURATION, Hint, PhotoHints, find_hints_file, load_photo_hints
from .images import DEFAULT_MAX_PIXELS, READ_SUFFIXES, WRITE_FORMATS, LoadedImage, read_image, write_image

log = logging.getLogger(__name__)

REPORT_NAME = "colorstudio-report.jsonl"
PATTERN_FIELDS = ("stem", "ext", "name")
DEFAULT_FORMAT = "png"  # when the input's own format cannot be written (GIF)

ProgressFn = Callable[[int, int, Path, "BatchResult | None"], None]


# -- values -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchOptions:
    """Where and how a batch writes its outputs.

    output_dir: outputs go here; with `input_root`, a photo's folder below input_root is
        mirrored below output_dir (else every output goes straight into output_dir).
    pattern: output file name; fields {stem} (name without suffix), {ext} (output format's
        suffix, no dot), {name} (the input's whole file name).
    format: "jpg", "png", "tif", "webp" (also "jpeg", "tiff", "bmp"); "" keeps the input's
        format when it can be written, else PNG. 16-bit inputs stay 16-bit in PNG and TIFF.
    quality: JPEG/WebP quality 1..100.
    overwrite: redo photos whose output exists (default: skip them, which is how runs resume).
    max_pixels: refuse photos larger than this (checked on the header, before decoding).
    saturation: scale of the outputs' chroma, as Engine.colorize's (1.0: as predicted), for
        photos whose hints file sets none; a photo's own saturation (saved with its hints in
        the app) wins.
    hints_file: a hints file (hints and saturation) for the photos that have none of their
        own, e.g. one roll of near-identical frames hinted once; None: such photos get none.
    """

    output_dir: Path
    pattern: str = "{stem}.{ext}"
    format: str = ""
    quality: int = 95
    overwrite: bool = False
    input_root: Path | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    saturation: float = 1.0
    hints_file: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "output_dir", Path(self.output_dir))
        if self.hints_file is not None:
            object.__setattr__(self, "hints_file", Path(self.hints_file))
        if self.input_root is not None:
            object.__setattr__(self, "input_root", Path(self.input_root))
        fmt = self.format.lower().lstrip(".") if isinstance(self.format, str) else self.format
        if not isinstance(fmt, str) or (fmt and f".{fmt}" not in WRITE_FORMATS):
            names = ", ".join(sorted({s[1:] for s in WRITE_FORMATS}))
            raise ColorStudioError(f"output format must be one of {names} (or empty: as the input), got {self.format!r}")
        object.__setattr__(self, "format", fmt)
        if isinstance(self.quality, bool) or not isinstance(self.quality, int) or not 1 <= self.quality <= 100:
            raise ColorStudioError(f"quality must be an integer 1..100, got {self.quality!r}")
        if isinstance(self.max_pixels, bool) or not isinstance(self.max_pixels, int) or self.max_pixels < 1:
            raise ColorStudioError(f"max_pixels must be a positive integer, got {self.max_pixels!r}")
        sat = self.saturation
        if (isinstance(sat, bool) or not isinstance(sat, (int, float)) or not math.isfinite(sat)
                or not 0 <= sat <= MAX_SATURATION):  # the bound a hints file's saturation has
            raise ColorStudioError(f"saturation must be a number from 0 to {MAX_SATURATION:g}, got {sat!r}")
        _check_pattern(self.pattern)
        sample = Path(_render(self.pattern, Path("photo.tif"), fmt or "tif")).suffix.lower()
        if fmt and WRITE_FORMATS.get(sample) != WRITE_FORMATS[f".{fmt}"]:
            raise ColorStudioError(f"output name pattern {self.pattern!r} names {sample} files, not the {fmt} the "
                                   "format asks for; end the pattern with .{ext}")


@dataclass(frozen=True)
class BatchResult:
    """What happened to one photo. status: "done", "skipped" (output there and current) or "failed"."""

    input: Path
    output: Path | None
    status: str
    seconds: float
    error: str = ""
    notes: tuple[str, ...] = ()  # what the reading said of a done photo ("only the first of 4 pages is used")

    def to_json(self) -> dict[str, Any]:
        # Absolute paths: a rerun from another working folder, and the check of which photo an
        # output was made from (made_from), read them as meant. Earlier versions wrote the paths as given.
        record = {"input": os.path.abspath(self.input),
                  "output": None if self.output is None else os.path.abspath(self.output),
                  "status": self.status, "seconds": round(self.seconds, 3), "error": self.error}
        if self.status == "done":
            with contextlib.suppress(OSError):  # tells the photo moved elsewhere from another one of its name
                record["input_bytes"] = os.stat(self.input).st_size
        if self.notes:
            record["notes"] = list(self.notes)
        return record


# -- finding photos and naming outputs ------------------------------------------------------
EXPORT_SUFFIX = "_colorized"  # Export offers NAME_colorized.EXT beside the photo NAME.EXT


def find_photos(input_dir: str | os.PathLike[str], recursive: bool = False,
                on_error: Callable[[Path, OSError], None] | None = None) -> list[Path]:
    """The photos in `input_dir` (and its subfolders if `recursive`), sorted.

    A photo is a regular file (or a link to one) with a readable suffix (READ_SUFFIXES, any
    case). Hidden files and folders (".name") are left out, and links to folders are not
    followed. So is the app's own export beside its photo (NAME_colorized.EXT next to a photo
    NAME.*, the name Export offers): it is a colorized copy, not a photo to colorize. A subfolder that cannot be listed is passed to `on_error(folder, exc)` (default:
    a logged warning) and the search goes on; an unreadable `input_dir` raises ColorStudioError.
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise ColorStudioError(f"{root}: {'not a folder' if root.exists() else 'no such folder'}")
    photos: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            if folder == root:
                raise ColorStudioError(f"{root}: cannot list the folder ({exc.strerror or exc})") from None
            if on_error is None:
                log.warning("%s: cannot list the folder (%s); its photos are left out", folder, exc.strerror or exc)
            else:
                on_error(folder, exc)
            continue
        here: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append(Path(entry.path))
                elif os.path.splitext(entry.name)[1].lower() in READ_SUFFIXES and entry.is_file():
                    here.append(Path(entry.path))
            except OSError:  # vanished or unstatable entry: not a photo we can read
                continue
        stems = {p.stem for p in here}
        photos += [p for p in here if not (p.stem.endswith(EXPORT_SUFFIX) and p.stem[:-len(EXPORT_SUFFIX)] in stems)]
    return sorted(photos)


def _check_pattern(pattern: Any) -> None:
    if not isinstance(pattern, str) or not pattern:
        raise ColorStudioError(f"output name pattern must be a non-empty string, got {pattern!r}")
    try:
        fields_used = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        raise ColorStudioError(f"output name pattern {pattern!r}: {exc}") from None
    for f in fields_used:
        if f not in PATTERN_FIELDS:
            raise ColorStudioError(f"output name pattern {pattern!r}: unknown field {{{f}}}; use {{stem}}, {{ext}}, {{name}}")
    if not {"stem", "name"} & set(fields_used):
        raise ColorStudioError(f"output name pattern {pattern!r} gives every photo the same name; use {{stem}} or {{name}}")
    sample = _render(pattern, Path("photo.jpg"), "jpg")
    if Path(sample).suffix.lower() not in WRITE_FORMATS:
        raise ColorStudioError(f"output name pattern {pattern!r} gives {sample!r}: the name must end with an image "
                               f"suffix such as .{{ext}}")


def _render(pattern: str, photo: Path, ext: str) -> str:
    name = pattern.format(stem=photo.stem, ext=ext, name=photo.name)
    bad = [c for c in ("/", os.sep, os.altsep or "/", "\0") if c in name]
    if bad or name in ("", ".", ".."):
        raise ColorStudioError(f"output name pattern {pattern!r} gives {name!r}, which is not a plain file name")
    return name


def output_path(photo: str | os.PathLike[str], options: BatchOptions) -> Path:
    """Where run_batch writes `photo`'s colorized copy (the app uses this for 'exported' badges)."""
    photo = Path(photo)
    if options.format:
        ext = options.format
    elif photo.suffix.lower() in WRITE_FORMATS:
        ext = photo.suffix[1:]  # keep the user's own spelling: IMG_001.JPG -> IMG_001.JPG
    else:
        ext = DEFAULT_FORMAT
    folder = options.output_dir
    if options.input_root is not None:
        with contextlib.suppress(ValueError):
            folder = folder.joinpath(*photo.parent.relative_to(options.input_root).parts)
    return folder / _render(options.pattern, photo, ext)


def output_is_current(photo: str | os.PathLike[str], options: BatchOptions) -> bool:
    """Whether `photo`'s output exists and is newer than the photo and its hints sidecar, as
    `make` judges a target: a rerun skips such photos and redoes those hinted (or retouched)
    since their output was written. An output the output folder's report says was made from
    another photo (a second roll with the same file names, sent to the same folder) is not
    current for this one, whatever its time."""
    return _is_current(output_path(photo, options), Path(photo), options.hints_file,
                       made_from(Path(options.output_dir) / REPORT_NAME))


def _sources(photo: Path, hints_file: Path | None) -> list[tuple[Path, int | None]]:
    """What a photo's output is made from, with modification times (None: unreadable): the
    photo, and the hints file it is colorized with (its own, else the batch's shared one)."""
    out: list[tuple[Path, int | None]] = []
    for source in (photo, hints_file):
        if source is not None:
            try:
                out.append((source, source.stat().st_mtime_ns))
            except OSError:
                out.append((source, None))
    return out


def _is_current(out: Path, photo: Path, shared_hints: Path | None = None,
                made: Mapping[str, str] | None = None) -> bool:
    """`made`: made_from() of the report of the output's folder; an output it says was made
    from another photo is not current; one it says nothing of is judged by its time alone."""
    try:
        st = out.stat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    if made and _made_from_another(made.get(same_file_key(out)), photo):
        return False
    # an unreadable source is passed over: reading it will say so
    return all(m is None or m <= st.st_mtime_ns for _, m in _sources(photo, find_hints_file(photo) or shared_hints))


def _made_from_another(source: tuple[str, int | None] | None, photo: Path) -> bool:
    """Whether made_from()'s record of an output names another photo than `photo`: another
    path that is still there (a first roll), or one gone whose size was not this photo's (a
    folder renamed since keeps its photos' sizes). Uncompressed scans of one size all have
    the same number of bytes, so while the recorded photo exists its size decides nothing."""
    if source is None or source[0] == same_file_key(photo):
        return False
    if os.path.lexists(source[0]):
        return True
    try:
        return source[1] is None or os.stat(photo).st_size != source[1]
    except OSError:
        return True


def _mark_if_changed(out: Path, read: list[tuple[Path, int | None]], shared_hints: Path | None) -> None:
    """A photo or its hints saved while the batch worked on it (after it was read, before its
    output was written): the output is given a time before that save, so the output counts as
    older than what it should have been made from, and a rerun redoes it."""
    if not read:
        return
    before, photo = dict(read), read[0][0]
    now = _sources(photo, find_hints_file(photo) or shared_hints)
    changed = [m for p, m in now if m is not None and before.get(p) != m]
    if changed:
        earlier = min(changed) - 2_000_000_000  # 2 s: what a FAT or SMB share's clock resolves
        with contextlib.suppress(OSError):
            os.utime(out, ns=(earlier, earlier))


# -- the report -----------------------------------------------------------------------------
class ReportWriter:
    """Appends one JSON line per photo to a report file, each with a single write and fsync.

    A kill can at worst cut the line being written; read_report() skips such a line, and
    the next writer starts on a fresh line.
    """

    def __init__(self, path: str | os.PathLike[str], model: str = "") -> None:
        self.path = Path(path)
        self.model = model
        self._lock = threading.Lock()  # lines come from the calling thread and the writer thread
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            hint = " (is the folder read-only?)" if isinstance(exc, PermissionError) else ""
            raise ColorStudioError(f"{self.path}: cannot write the report ({exc.strerror or exc}){hint}") from None
        try:
            size = os.fstat(self._fd).st_size
            if size and os.pread(self._fd, 1, size - 1) != b"\n":
                os.write(self._fd, b"\n")  # a torn last line from a killed run stays on its own line
        except (OSError, AttributeError):  # no pread (Windows): at worst one line is joined to a torn one
            pass

    def write(self, result: BatchResult) -> None:
        record = result.to_json()
        record["time"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if self.model:
            record["model"] = self.model
        try:
            data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes in a file name: escape them
            data = (json.dumps(record) + "\n").encode("ascii")
        try:
            with self._lock:
                os.write(self._fd, data)
                os.fsync(self._fd)
        except OSError as exc:  # a full disk must not stop the batch; the outputs are what counts
            log.warning("%s: cannot append to the report (%s)", self.path, exc.strerror or exc)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def read_report(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a JSON-lines report, oldest first; torn or foreign lines are skipped."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    return _records(raw)


def _records(raw: bytes) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for line in raw.splitlines():
        try:
            rec = json.loads(line.decode("utf-8", "surrogateescape"))
        except ValueError:
            continue
        if isinstance(rec, dict) and "input" in rec and "status" in rec:
            records.append(rec)
    return records


# report -> ((inode, mtime, size), made_from, bytes read): a report grows by whole lines appended,
# so a newer version of the same file is read from where the last reading stopped
_MADE_FROM: dict[str, tuple[tuple[int, int, int], Mapping[str, tuple[str, int | None]], int]] = {}
_MADE_FROM_LOCK = threading.Lock()  # the app's badges (GUI thread) and a batch (its thread) both ask


def made_from(report_path: str | os.PathLike[str]) -> Mapping[str, tuple[str, int | None]]:
    """{same_file_key(output): (same_file_key(photo), its size in bytes then, or None)} for every
    output the report says was written ("done"), the latest line winning: which photo each
    output was made from. {} when there is no report (or it cannot be read). The mapping
    returned is shared, and read-only; a report that grew since it was read is read on from
    where the last reading stopped, one replaced or cut back from its start.

    Reports of earlier versions hold the paths as given on the command line, relative to a
    working folder no longer known: it is taken to be the report's folder or the first one above
    it where the output named exists (else the current one); a line it cannot place is left out.
    """
    path = os.path.abspath(report_path)
    try:
        st = os.stat(path)
    except OSError:
        return {}
    version = (st.st_ino, st.st_mtime_ns, st.st_size)
    with _MADE_FROM_LOCK:
        known = _MADE_FROM.get(path)
    if known is not None and known[0] == version:
        return known[1]
    grown = known is not None and known[0][0] == st.st_ino and known[2] <= st.st_size
    try:
        start, before = (known[2], dict(known[1])) if grown else (0, {})
        table, read = _read_made_from(Path(path), start, before)
        made: Mapping[str, tuple[str, int | None]] = MappingProxyType(table)
    except OSError as exc:  # a folder, unreadable: the outputs are judged by their times, as without one
        log.warning("%s: cannot read the report (%s)", path, exc.strerror or exc)
        made, read = MappingProxyType({}), 0
    with _MADE_FROM_LOCK:
        _MADE_FROM.pop(path, None)
        _MADE_FROM[path] = (version, made, read)
        while len(_MADE_FROM) > 16:  # a few output folders are looked at in one session
            _MADE_FROM.pop(next(iter(_MADE_FROM)))
    return made


def _read_made_from(report: Path, start: int = 0, made: dict[str, tuple[str, int | None]] | None = None,
                    ) -> tuple[dict[str, tuple[str, int | None]], int]:
    """`made` updated with the report's lines from byte `start` on, and where the last whole line ends."""
    folders: dict[str, str] = {}  # real paths of folders, for same_file_key
    made = {} if made is None else made
    with open(report, "rb") as f:
        f.seek(start)
        raw = f.read()
    # read on from the end of the last whole line: one being written is read again, whole, next time
    # (a last line without its newline that parses now counts now, and again then: the same record)
    whole = raw.rfind(b"\n") + 1
    bases: list[str] = []  # working folders that the relative lines of old runs were found to start from
    above = [str(report.parent), *map(str, report.parent.parents)]

    def place(relative: str) -> str | None:
        for base in [*bases, *above, os.getcwd()]:
            if os.path.lexists(os.path.join(base, relative)):
                if base not in bases:
                    bases.insert(0, base)
                return base
        return None

    for r in _records(raw):
        out, photo = r.get("output"), r.get("input")
        if r.get("status") != "done" or not isinstance(out, str) or not isinstance(photo, str):
            continue
        try:
            if not (os.path.isabs(out) and os.path.isabs(photo)):  # a report of an older version
                base = place(out if not os.path.isabs(out) else photo)
                if base is None:
                    continue
                out, photo = os.path.join(base, out), os.path.join(base, photo)  # join keeps an absolute one
            size = r.get("input_bytes")
            made[same_file_key(out, folders)] = (same_file_key(photo, folders),
                                                 size if isinstance(size, int) and not isinstance(size, bool) else None)
        except (OSError, ValueError):  # a hand-edited line (a NUL in a name): not one of ours
            continue
    return made, start + whole


# -- one photo, in three stages --------------------------------------------------------------
@dataclass
class _Loaded:
    image: LoadedImage | None
    hints: tuple[Hint, ...]
    seconds: float
    error: Exception | None = None  # why it could not be read (image is None then)
    saturation: float | None = None  # the photo's own, from its hints file
    sources: list[tuple[Path, int | None]] = field(default_factory=list)  # _sources() before reading


@dataclass
class _Job:
    path: Path
    output: Path
    seconds: float = 0.0
    sources: list[tuple[Path, int | None]] = field(default_factory=list)  # as they were when read


def _load(path: Path, max_pixels: int, shared: PhotoHints | None = None, shared_path: Path | None = None) -> _Loaded:
    t0 = time.perf_counter()
    try:
        side = find_hints_file(path)  # the sidecar, or the hints kept for a read-only folder
        sources = _sources(path, side or shared_path)  # before reading: a save meanwhile is seen
        try:
            stored = load_photo_hints(side) if side is not None else (shared or PhotoHints())
        except HintsFileError as exc:
            raise HintsFileError(f"invalid hints sidecar: {exc}") from None
        image = read_image(path, max_pixels=max_pixels)
    except Exception as exc:  # noqa: BLE001 - reported as this photo's failure
        return _Loaded(None, (), time.perf_counter() - t0, exc)
    return _Loaded(image, stored.hints, time.perf_counter() - t0, saturation=stored.saturation, sources=sources)


def _write(output: Path, rgb: np.ndarray, image: LoadedImage, quality: int, note: str) -> float:
    t0 = time.perf_counter()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ColorStudioError(f"cannot create the folder {output.parent} ({exc.strerror or exc})") from None
    write_image(output, rgb, alpha=image.alpha, exif=image.exif, icc_profile=image.icc_profile, quality=quality,
                description=note, dpi=image.dpi, xmp=image.xmp, iptc=image.iptc)
    # The atomic write's temporary file is created private (0600); an output is an ordinary file.
    with contextlib.suppress(OSError):
        os.chmod(output, 0o666 & ~_umask())
    return time.perf_counter() - t0


def _umask() -> int:
    """The process umask, read without changing it (os.umask would, for every thread)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def _reason(exc: BaseException, *paths: Path) -> str:
    """A one-line reason, without the leading 'path: ' that repeats the file named beside it."""
    if isinstance(exc, MemoryError):
        msg = "not enough memory"
    elif isinstance(exc, (ColorStudioError, ValueError, TypeError)):
        msg = str(exc)
    elif isinstance(exc, OSError):
        msg = f"{exc.filename}: {exc.strerror or exc}" if exc.filename else str(exc.strerror or exc)
    else:
        msg = f"{type(exc).__name__}: {exc}"
    for p in paths:
        if msg.startswith(f"{p}: "):
            msg = msg[len(str(p)) + 2:]
    return " ".join(msg.split()) or type(exc).__name__


def _note(engine: Any, hints: Sequence[Hint]) -> str:
    from .. import __version__

    return (f"Colorized by ColorStudio {__version__} (model: {getattr(engine, 'name', 'model')}, "
            f"{len(hints)} hints); not the original scan")


# -- the batch ------------------------------------------------------------------------------
def run_batch(paths: Sequence[str | os.PathLike[str]], options: BatchOptions, engine: Any,
              progress: ProgressFn | None = None, should_stop: Callable[[], bool] | None = None,
              report_path: str | os.PathLike[str] | None = None) -> list[BatchResult]:
    """Colorize `paths` into options.output_dir; one BatchResult per photo handled, in order.

    progress(done, total, current, last) is called once with done=0 before the first photo,
    then after each photo with its result as `last` and `current` the photo now being worked
    on (the finished one when none is left). should_stop() is checked between photos: when it
    returns True the batch returns what it finished (results shorter than `paths`). A report
    line is appended per result when `report_path` is given (ColorStudioError if that file
    cannot be opened). A photo's own failure is a "failed" result, never an exception. An
    exception from `progress` or `should_stop`, or KeyboardInterrupt, propagates once the
    photo being written is finished (and reported); no partial file is left either way.
    Call it from one thread at a time per output folder; the engine may be shared (it locks).
    """
    photos = [Path(p) for p in paths]
    # The shared hints file is read once, before any photo: a bad one stops the batch with its reason.
    shared = load_photo_hints(options.hints_file) if options.hints_file is not None else None
    total = len(photos)
    outputs = [output_path(p, options) for p in photos]
    conflicts = _conflicts(photos, outputs)
    # Which photo each output there was made from, before this run: read once (this run's own
    # outputs are made from its photos).
    made = made_from(report_path if report_path is not None else options.output_dir / REPORT_NAME)
    report = ReportWriter(report_path, getattr(engine, "name", "")) if report_path is not None else None
    results: list[BatchResult] = []
    reader = ThreadPoolExecutor(1, thread_name_prefix="colorstudio-batch-read")
    writer = ThreadPoolExecutor(1, thread_name_prefix="colorstudio-batch-write")
    prefetched: dict[int, Future[_Loaded]] = {}
    pending: list[Future[BatchResult]] = []  # at most one photo being written

    def write_and_report(job: _Job, rgb: np.ndarray, image: LoadedImage, note: str) -> BatchResult:
        """On the writer thread: a Ctrl+C on the calling thread cannot part a written photo from its report line."""
        try:
            job.seconds += _write(job.output, rgb, image, options.quality, note)
            _mark_if_changed(job.output, job.sources, options.hints_file)
            result = BatchResult(job.path, job.output, "done", job.seconds, notes=tuple(image.notes))
        except Exception as exc:  # noqa: BLE001 - one photo's failure never stops the batch
            reason = f"cannot write {job.output}: {_reason(exc, job.output)}"
            result = BatchResult(job.path, None, "failed", job.seconds, reason)
        if report is not None:
            report.write(result)
        return result

    def announce(result: BatchResult, current: Path) -> None:
        results.append(result)
        if progress is not None:
            progress(len(results), total, current, result)

    def finish(result: BatchResult, current: Path) -> None:
        if report is not None:
            report.write(result)
        announce(result, current)

    def drain(current: Path) -> None:
        while pending:
            result = pending[0].result()
            pending.pop()
            announce(result, current)

    def decided(i: int) -> BatchResult | None:
        """The result of photo i when it needs no work (conflict, or output already there)."""
        if i in conflicts:
            return BatchResult(photos[i], None, "failed", 0.0, conflicts[i])
        out = outputs[i]
        if out.is_dir():
            return BatchResult(photos[i], None, "failed", 0.0, f"the output {out} is a folder")
        try:
            # Another photo's output (a second roll, the same names) is never replaced, not even
            # when redoing: that redoes this folder's own outputs, and the other roll's are kept.
            source = made.get(same_file_key(out)) if made else None
            if _made_from_another(source, photos[i]) and os.path.lexists(out):
                return BatchResult(photos[i], None, "failed", 0.0,
                                   f"its output {out.name} was made from another photo, {source[0]}; choose "
                                   "another output folder or name pattern (delete that output to replace it)")
            if options.overwrite:
                return None
            current = _is_current(out, photos[i], options.hints_file)  # whose output it is: seen to just above
        except Exception as exc:  # noqa: BLE001 - one photo's failure never stops the batch
            return BatchResult(photos[i], None, "failed", 0.0, _reason(exc, photos[i]))
        return BatchResult(photos[i], out, "skipped", 0.0) if current else None

    try:
        if progress is not None and total:
            progress(0, total, photos[0], None)
        for i, photo in enumerate(photos):
            if should_stop is not None and should_stop():
                break
            early = decided(i)
            if early is not None:
                stale = prefetched.pop(i, None)  # its output appeared meanwhile (another run?)
                if stale is not None:
                    stale.cancel()
                drain(photo)
                finish(early, photos[i + 1] if i + 1 < total else photo)
                continue
            fut = prefetched.pop(i, None) or reader.submit(_load, photo, options.max_pixels, shared, options.hints_file)
            if i + 1 < total and decided(i + 1) is None:  # read the next photo while this one runs
                prefetched[i + 1] = reader.submit(_load, photos[i + 1], options.max_pixels, shared,
                                                 options.hints_file)
            job = _Job(photo, outputs[i])
            try:
                loaded = fut.result()
                job.seconds += loaded.seconds
                job.sources = loaded.sources
                if loaded.image is None:
                    raise loaded.error or ColorStudioError("could not be read")
                t0 = time.perf_counter()
                sat = options.saturation if loaded.saturation is None else loaded.saturation
                # Only a saturation that matters is passed: engines without the keyword still work.
                kw = {"saturation": sat} if sat != 1.0 else {}
                rgb = engine.colorize(loaded.image.pixels, loaded.hints, **kw)
                job.seconds += time.perf_counter() - t0
            except Exception as exc:  # noqa: BLE001 - one photo's failure never stops the batch
                drain(photo)
                finish(BatchResult(photo, None, "failed", job.seconds, _reason(exc, photo)),
                       photos[i + 1] if i + 1 < total else photo)
                continue
            drain(photo)
            pending.append(writer.submit(write_and_report, job, rgb, loaded.image, _note(engine, loaded.hints)))
            del rgb, loaded
        drain(photos[-1] if photos else Path())
    finally:
        for fut in prefetched.values():
            fut.cancel()
        try:
            drain(photos[-1] if photos else Path())  # interrupted: finish the write under way
        finally:
            reader.shutdown(wait=True, cancel_futures=True)
            writer.shutdown(wait=True)
            if report is not None:
                report.close()
    return results


def _conflicts(photos: list[Path], outputs: list[Path]) -> dict[int, str]:
    """Photos that must not be written: output over an input, or two photos onto one output."""
    inputs = {same_file_key(p): p for p in photos}
    first: dict[str, Path] = {}
    found: dict[int, str] = {}
    # Where two photos meet on one output (a.gif and a.png -> a.png), the one of that very name
    # and type has it: the GIF is more likely a thumbnail than the scan.
    order = sorted(range(len(photos)), key=lambda i: photos[i].name != outputs[i].name)
    for i in order:
        photo, out = photos[i], outputs[i]
        key = same_file_key(out)
        if out.suffix.lower() not in WRITE_FORMATS:  # e.g. {name} of a GIF
            found[i] = (f"its output name {out.name} is not a type that can be written; use a --pattern that "
                        "ends in .{ext}")
        elif key in inputs:
            found[i] = f"its output {out} would overwrite the input photo {inputs[key]}; choose another output folder or --pattern"
        elif key in first:
            found[i] = (f"its output {out} is also the output of {first[key]}; use {{name}} in --pattern "
                        "or a --format that keeps the names apart")
        else:
            first[key] = photo
    return found


# -- command line ---------------------------------------------------------------------------
def _fmt_duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class ProgressPrinter:
    """progress() for the command line: a one-line bar on a terminal, one line per photo otherwise."""

    def __init__(self, stream: TextIO, root: Path | None = None, tty: bool | None = None) -> None:
        self.stream = stream
        self.root = root
        self.tty = stream.isatty() if tty is None else tty
        self.results: list[BatchResult] = []
        self.worked = 0  # photos that were worked on (not skipped) ...
        self.busy = 0.0  # ... and the seconds between progress calls they took
        self.failed = 0
        self._last_call = time.monotonic()
        self._drawn = False

    def _show(self, p: Path) -> str:
        if self.root is not None:
            with contextlib.suppress(ValueError):
                return str(p.relative_to(self.root))
        return str(p)

    def eta(self, done: int, total: int) -> str:
        if not self.worked:
            return "time left: estimating"
        return f"about {_fmt_duration((total - done) * self.busy / self.worked)} left"

    def __call__(self, done: int, total: int, current: Path, last: BatchResult | None) -> None:
        now = time.monotonic()
        if last is not None:
            self.results.append(last)
            self.failed += last.status == "failed"
            if last.status != "skipped":  # skipped photos take no time: they would skew the estimate
                self.worked += 1
                self.busy += now - self._last_call
        self._last_call = now
        width = len(str(total))
        if self.tty:
            import shutil

            cols = max(40, shutil.get_terminal_size((80, 20)).columns) - 1
            pct = 100 * done // max(1, total)
            head = (f"[{done:>{width}}/{total}] {pct:3d}%  " + (f"{self.failed} failed  " if self.failed else "")
                    + (f"{self.eta(done, total)}  " if done < total else ""))
            name = self._show(current) if done < total else "finished"
            room = max(8, cols - len(head))
            if len(name) > room:
                name = "…" + name[-(room - 1):]
            self.stream.write("\r" + (head + name)[:cols] + "\x1b[K")
            self._drawn = True
        elif last is not None:
            what = {"done": f"done ({last.seconds:.1f} s)", "skipped": "skipped (output exists)",
                    "failed": f"FAILED: {_first_line(last.error, 200)}"}.get(last.status, last.status)
            tail = f"; {self.eta(done, total)}" if done < total else ""
            self.stream.write(f"[{done:>{width}}/{total}] {self._show(last.input)}: {what}{tail}\n")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _first_line(text: str, most: int) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else "(no reason given)"
    return line if len(line) <= most else line[:most - 1] + "…"


def _inside(child: Path, parent: Path) -> bool:
    c, p = Path(os.path.realpath(child)), Path(os.path.realpath(parent))
    return c == p or p in c.parents


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let `kill` (SIGTERM) stop the batch like Ctrl+C: clean temporary files, a summary."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_batch_cli(args: argparse.Namespace, load_engine_fn: Callable[[argparse.Namespace], Any]) -> int:
    """`colorstudio batch INPUT_DIR -o OUTPUT_DIR ...`; returns the exit status.

    0: every photo found was written (or already was); 1: a photo or a folder failed (one
    line each on stderr); 130: interrupted (rerun the same command to finish).
    """
    err = sys.stderr
    input_dir, output_dir = Path(args.input_dir), Path(args.output_dir)
    allow_inside = bool(getattr(args, "allow_inside", False))
    max_mp = getattr(args, "max_megapixels", None)
    if max_mp is not None and not (math.isfinite(max_mp) and max_mp > 0):
        raise ColorStudioError(f"--max-megapixels must be a positive number, got {max_mp}")
    if output_dir.exists() and not output_dir.is_dir():
        raise ColorStudioError(f"{output_dir}: not a folder; the output must be a folder (it is created if missing)")
    options = BatchOptions(
        output_dir=output_dir, pattern=args.pattern, format=args.format or "", quality=args.quality,
        overwrite=bool(args.overwrite), input_root=input_dir,
        max_pixels=max(1, int(max_mp * 1e6)) if max_mp is not None else DEFAULT_MAX_PIXELS,
        saturation=float(getattr(args, "saturation", 1.0)),
        hints_file=Path(args.hints) if getattr(args, "hints", None) else None,
    )
    if not input_dir.is_dir():
        raise ColorStudioError(f"{input_dir}: {'not a folder' if input_dir.exists() else 'no such folder'}")
    if options.hints_file is not None:
        load_photo_hints(options.hints_file)  # a bad file is refused before the model loads
    if _inside(output_dir, input_dir) and not allow_inside:
        raise ColorStudioError(f"{output_dir}: the output folder is inside the input folder {input_dir}; "
                               "choose another one (or pass --allow-inside)")
    report_path = Path(args.report) if getattr(args, "report", None) else output_dir / REPORT_NAME
    if _inside(report_path, input_dir) and not allow_inside:
        raise ColorStudioError(f"{report_path}: the report would be written inside the input folder {input_dir}")

    unlisted: list[tuple[Path, str]] = []
    photos = find_photos(input_dir, bool(args.recursive),
                         on_error=lambda folder, exc: unlisted.append((folder, str(exc.strerror or exc))))
    if _inside(output_dir, input_dir):  # --allow-inside: never take our own outputs for photos
        own, folders = made_from(report_path), {}  # what earlier runs wrote, wherever they were run from
        out_real = Path(os.path.realpath(output_dir))
        photos = [p for p in photos if same_file_key(p, folders) not in own
                  and (out_real == Path(os.path.realpath(input_dir)) or not _inside(p, output_dir))]
    else:  # the output folder is outside; still, an odd subfolder name must not lead back inside
        for p in photos:
            if _inside(output_path(p, options), input_dir):
                raise ColorStudioError(f"{p}: its output {output_path(p, options)} would be inside the input folder "
                                       f"{input_dir}; choose another output folder")
    if same_file_key(report_path) in {same_file_key(p) for p in photos}:
        raise ColorStudioError(f"{report_path}: the report file is one of the photos")

    output_dir.mkdir(parents=True, exist_ok=True)
    printer = ProgressPrinter(err, root=input_dir)
    if unlisted:
        rw = ReportWriter(report_path)
        for folder, why in unlisted:
            rw.write(BatchResult(folder, None, "failed", 0.0, f"cannot list the folder ({why})"))
        rw.close()
    if not photos:
        print(f"colorstudio: no photos found in {input_dir}"
              + ("" if args.recursive else " (add --recursive to include subfolders)"), file=err)
        return _print_failures(err, [], unlisted)
    engine = load_engine_fn(args)
    started = time.monotonic()
    try:
        with _sigterm_as_interrupt():
            results = run_batch(photos, options, engine, progress=printer, report_path=report_path)
    except KeyboardInterrupt:
        printer.close()
        left = len(photos) - len(printer.results)
        _print_failures(err, printer.results, unlisted)
        _print_summary(err, printer.results, time.monotonic() - started, report_path)
        again = ("run it again without --overwrite to finish them (with it, every photo is redone)"
                 if options.overwrite else "run the same command again to finish them (finished photos are skipped)")
        print(f"colorstudio: interrupted; {left} photos not done yet: {again}", file=err)
        return 130
    printer.close()
    status = _print_failures(err, results, unlisted)
    _print_summary(err, results, time.monotonic() - started, report_path)
    return status


def _print_failures(err: TextIO, results: Sequence[BatchResult], unlisted: Sequence[tuple[Path, str]]) -> int:
    for folder, why in unlisted:
        print(f"colorstudio: {folder}: cannot list the folder ({why}); its photos were not done", file=err)
    for r in results:
        for note in r.notes:
            print(f"colorstudio: note: {r.input}: {note}", file=err)
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        print(f"colorstudio: {r.input}: {r.error}", file=err)
    return 1 if failed or unlisted else 0


def _print_summary(err: TextIO, results: Sequence[BatchResult], seconds: float, report_path: Path) -> None:
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    print(f"colorstudio: {len(results)} photos in {_fmt_duration(seconds)}: {counts['done']} colorized, "
          f"{counts['skipped']} skipped (already done), {counts['failed']} failed; report: {report_path}", file=err)
