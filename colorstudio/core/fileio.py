"""Atomic file writes (a crash at any moment leaves either the old file or the new one), and
the keys that name per-photo files kept elsewhere (autosaves, stored hints)."""
from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows, where a file another process has open cannot be deleted anyway
    fcntl = None  # type: ignore[assignment]


def photo_key(path: str | os.PathLike[str]) -> str:
    """A stable key for a photo file (its absolute path): names its autosave and stored hints."""
    return str(Path(path).expanduser().resolve())


def same_file_key(path: str | os.PathLike[str], real_folders: dict[str, str] | None = None) -> str:
    """A key under which two paths name the same file: the real path, case-folded where the
    usual file system ignores case (macOS, Windows), so that IMG_0001.JPG and img_0001.jpg,
    one file there, are one key even before the file exists.

    real_folders: for the keys of many files in few folders (a batch report), a cache of each
    folder's real path, filled as it goes; each folder is then resolved once, and the file's
    own name only where it is a link."""
    path = os.path.expanduser(path)
    if real_folders is None:
        s = os.path.realpath(path)
    else:
        folder, name = os.path.split(os.path.abspath(path))
        real = real_folders.get(folder)
        if real is None:
            real = real_folders[folder] = os.path.realpath(folder)
        s = os.path.join(real, name)
        if os.path.islink(s):
            s = os.path.realpath(s)
    s = os.path.normcase(s)
    return s.casefold() if sys.platform in ("darwin", "win32") else s


def file_stamp(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(modification time in ns, size in bytes) of a file, following links; None if it cannot
    be read (gone, or its name too long for the file system): what tells that a file was
    written since it was looked at."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_mtime_ns, st.st_size


def photo_digest(path: str | os.PathLike[str]) -> str:
    """A short file-name-safe digest of photo_key(path), for per-photo files kept elsewhere."""
    # os.fsencode: a name that is not valid UTF-8 (Latin-1 from an old CD) is bytes the file
    # system holds, kept as surrogates by Python; for any other name it is its UTF-8.
    return hashlib.sha1(os.fsencode(photo_key(path))).hexdigest()[:20]


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import (os.umask can only be read by setting it, which is not thread-safe).
_UMASK = _read_umask()


def _final_mode(dest: Path) -> int:
    """Permissions for the new file: those of the file it replaces, else what open() would give.

    mkstemp creates its file readable by the owner only (0600); without this every output,
    sidecar and settings file would silently lose the permissions the user expects.
    """
    try:
        return stat.S_IMODE(dest.stat().st_mode)
    except OSError:
        return 0o666 & ~_UMASK


def part_prefix(dest: Path) -> str:
    """How atomic_path's temporary files for `dest` begin: a dot and up to 80 bytes of its name.
    Names are limited to 255 bytes, not characters: a long non-ASCII name must still leave
    room for the temporary file's own name."""
    stem = dest.name[:80]
    while len(os.fsencode(stem)) > 80:
        stem = stem[:-1]
    return f".{stem}."


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path` atomically.

    The temporary file keeps the destination's suffix (some writers pick the format
    from it). On any exception the temporary file is removed and `path` is untouched.
    """
    dest = Path(path)
    directory = dest.parent if str(dest.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(
        prefix=part_prefix(dest), suffix=(suffix if suffix is not None else dest.suffix) + ".part",
        dir=directory,
    )
    tmp = Path(tmp_name)
    # While it is being written the file stays open and locked (POSIX), so that a cleanup of
    # a killed run's leftovers (`part_in_use`) tells it from another live writer's.
    held = False
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks: written unlocked
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
            held = True
    if not held:
        os.close(fd)
    # mkstemp makes the file private (0600); give the result the mode a plain open() would
    # (or the mode of the file it replaces).
    try:
        mode = dest.stat().st_mode & 0o777 if dest.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
    except OSError:
        pass
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _final_mode(dest))
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        if held:
            os.close(fd)


def part_in_use(path: str | os.PathLike[str]) -> bool:
    """Whether a live `atomic_path` writer (of any process) holds this temporary file.

    POSIX only (advisory locks); elsewhere False, as an open file cannot be deleted there.
    """
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False  # a file system without locks cannot tell
    finally:
        os.close(fd)
    return False


def remove_stale_parts(dest: str | os.PathLike[str]) -> None:
    """Remove the temporary files a killed writer (an export, a batch run) left for `dest`
    (atomic_path's naming); one that a live writer holds at this moment is left alone."""
    dest = Path(dest)
    prefix, suffix = part_prefix(dest), f"{dest.suffix}.part"
    with contextlib.suppress(OSError), os.scandir(dest.parent if str(dest.parent) else ".") as it:
        for e in it:
            # mkstemp adds exactly 8 random characters between prefix and suffix
            if len(e.name) == len(prefix) + 8 + len(suffix) and e.name.startswith(prefix) and \
                    e.name.endswith(suffix) and not part_in_use(e.path):
                with contextlib.suppress(OSError):
                    os.unlink(e.path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Call `writer(tmp_path)` and move the result over `path` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
