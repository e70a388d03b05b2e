"""Atomic writes: all or nothing, no leftovers, and the permissions a normal write would give."""
from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

import pytest

from colorstudio.core import fileio
from colorstudio.core.fileio import atomic_path, atomic_write_bytes, atomic_write_text, atomic_write_with


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_replace_and_no_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old" * 1000)
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    atomic_write_text(path, "été\n")
    assert path.read_bytes() == "été\n".encode()
    atomic_write_with(path, lambda tmp: tmp.write_bytes(b"via writer"))
    assert path.read_bytes() == b"via writer"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_writer_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"precious")

    def fails(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        atomic_write_with(path, fails)
    assert path.read_bytes() == b"precious" and os.listdir(tmp_path) == ["f.bin"]


def test_temporary_keeps_the_suffix_and_lives_next_to_the_file(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "photo.tif") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".tif.part") and tmp.name.startswith(".photo.tif.")
        tmp.write_bytes(b"x")
    with atomic_path(tmp_path / "photo.tif", suffix=".png") as tmp:
        assert tmp.name.endswith(".png.part")
        tmp.write_bytes(b"x")


def test_long_non_ascii_names(tmp_path: Path) -> None:
    name = "照" * 80 + ".json"  # 245 bytes: the temporary name must not exceed 255
    atomic_write_text(tmp_path / name, "{}")
    assert os.listdir(tmp_path) == [name]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "new.txt", b"x")
    with open(tmp_path / "plain.txt", "wb") as fh:
        fh.write(b"x")
    assert mode(tmp_path / "new.txt") == mode(tmp_path / "plain.txt") == 0o666 & ~fileio._UMASK


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_replaced_files_keep_their_permissions(tmp_path: Path) -> None:
    path = tmp_path / "shared.txt"
    path.write_bytes(b"old")
    path.chmod(0o640)
    atomic_write_bytes(path, b"new")
    assert mode(path) == 0o640
    path.chmod(0o664)
    atomic_write_text(path, "newer")
    assert mode(path) == 0o664


@pytest.mark.skipif(fileio.fcntl is None, reason="POSIX file locks")
def test_writes_work_on_file_systems_without_locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fileio.fcntl, "flock", no_locks)
    target = tmp_path / "out.txt"
    with fileio.atomic_path(target) as tmp:
        tmp.write_text("done")
        assert not fileio.part_in_use(tmp)  # cannot tell: a cleanup may take it for a leftover
    assert target.read_text() == "done"


@pytest.mark.skipif(sys.platform == "win32", reason="links need privileges on Windows")
def test_same_file_key_with_a_cache_of_real_folders_gives_the_same_keys(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.png").write_bytes(b"x")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "b.png").symlink_to(tmp_path / "real" / "a.png")
    folders: dict[str, str] = {}
    for p in ("real/a.png", "linked/a.png", "linked/b.png", "linked/missing.png", "real/../real/a.png"):
        assert fileio.same_file_key(tmp_path / p, folders) == fileio.same_file_key(tmp_path / p), p
    assert fileio.same_file_key(tmp_path / "linked" / "b.png", folders) == fileio.same_file_key(tmp_path / "real/a.png")
    assert folders[str(tmp_path / "linked")] == os.path.realpath(tmp_path / "real")


@pytest.mark.skipif(fileio.fcntl is None, reason="POSIX file locks")
def test_a_dead_writers_temporary_file_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "photo.png"
    dead = tmp_path / f"{fileio.part_prefix(target)}abcd1234.png.part"
    dead.write_bytes(b"half")
    with fileio.atomic_path(target) as live:
        live.write_bytes(b"being written")
        fileio.remove_stale_parts(target)
        assert not dead.exists() and live.exists()
    assert target.read_bytes() == b"being written"
