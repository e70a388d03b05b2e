"""The settings file: a broken or hostile file never stops the program."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from colorstudio.core.settings import (
    Settings,
    cache_dir,
    config_dir,
    load_settings,
    log_dir,
    save_settings,
    settings_path,
)


def test_round_trip_in_the_isolated_location(tmp_path: Path) -> None:
    assert settings_path().parent != Path.home() / ".config" / "colorstudio"  # the autouse fixture isolates it
    s = Settings().updated(device="cpu", working_size=384, max_megapixels=12.5)
    save_settings(s)
    assert load_settings() == s


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe\x00junk",
        b"[1, 2, 3]",
        b'{"working_size": "big"',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"working_size": 8, "max_megapixels": -1, "jpeg_quality": 1000, "device": 3}',
        b'{"max_megapixels": NaN, "working_size": true}',
        b'{"max_megapixels": Infinity}',
        b'{"max_megapixels": 1' + b"0" * 400 + b"}",
        b'{"working_size": 1' + b"0" * 400 + b"}",
        b'{"device": "banana"}',
        b'{"model": "", "hint_colour": "purple", "export_format": "gif", "max_megapixels": 1e-300}',
        b'{"on_leave": "shred"}',
    ],
    ids=["empty", "binary", "list", "truncated", "deep nesting", "out of range", "NaN and bool", "infinity",
         "float overflow", "huge int", "unknown device", "unusable values", "unknown on_leave"],
)
def test_broken_values_fall_back_to_defaults(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(raw)
    assert load_settings(path) == Settings()


def test_unknown_keys_and_partial_files(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"device": "cpu", "future_option": [1, 2]}), "utf-8")
    assert load_settings(path) == Settings(device="cpu")
    save_settings(Settings(device="cpu", working_size=320), path)  # kept for the version that knows it
    assert json.loads(path.read_text("utf-8"))["future_option"] == [1, 2]
    assert load_settings(path) == Settings(device="cpu", working_size=320)


def test_a_bom_a_link_and_a_model_file_that_is_there(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes("\ufeff{\"working_size\": 512}".encode())  # as Windows Notepad saves it
    assert load_settings(path).working_size == 512
    model = tmp_path / "mine.pt"
    model.write_bytes(b"weights")
    path.write_text(json.dumps({"model": str(model), "device": "cuda:1"}), "utf-8")
    assert (load_settings(path).model, load_settings(path).device) == (str(model), "cuda:1")
    real = tmp_path / "dotfiles" / "settings.json"
    real.parent.mkdir()
    real.write_text("{}", "utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save_settings(Settings(working_size=320), link)
    assert link.is_symlink() and load_settings(real).working_size == 320


def test_failed_save_keeps_the_old_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colorstudio.core import fileio

    path = tmp_path / "settings.json"
    save_settings(Settings(device="cpu"), path)
    before = path.read_bytes()

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", fail)
    with pytest.raises(OSError):
        save_settings(Settings(device="cuda"), path)
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


_XDG = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


def test_per_user_folders_on_linux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in _XDG:
        monkeypatch.setenv(var, f"/xdg/{var.lower()}")
    assert (config_dir(), cache_dir(), log_dir()) == (
        Path("/xdg/xdg_config_home/colorstudio"), Path("/xdg/xdg_cache_home/colorstudio"),
        Path("/xdg/xdg_state_home/colorstudio"))
    for var in _XDG:  # unset, or set but empty: the XDG defaults below the home folder
        monkeypatch.delenv(var)
    home = tmp_path / "home"
    expected = (home / ".config" / "colorstudio", home / ".cache" / "colorstudio",
                home / ".local" / "state" / "colorstudio")
    assert (config_dir(), cache_dir(), log_dir()) == expected
    for var in _XDG:
        monkeypatch.setenv(var, "")
    assert (config_dir(), cache_dir(), log_dir()) == expected
    monkeypatch.delenv("COLORSTUDIO_SETTINGS")
    assert settings_path() == home / ".config" / "colorstudio" / "settings.json"


@pytest.mark.parametrize("platform, expected", [
    ("win32", ("AppData/Roaming/ColorStudio", "AppData/Local/ColorStudio/Cache", "AppData/Local/ColorStudio/Logs")),
    ("darwin", ("Library/Application Support/ColorStudio", "Library/Caches/ColorStudio", "Library/Logs/ColorStudio")),
])
def test_per_user_folders_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str,
                                    expected: tuple[str, str, str]) -> None:
    monkeypatch.setattr("sys.platform", platform)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("APPDATA", raising=False)
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    assert (config_dir(), cache_dir(), log_dir()) == tuple(tmp_path / e for e in expected)
    if platform == "win32":
        monkeypatch.setenv("APPDATA", "/roaming")
        monkeypatch.setenv("LOCALAPPDATA", "/local")
        assert (config_dir(), cache_dir(), log_dir()) == (
            Path("/roaming/ColorStudio"), Path("/local/ColorStudio/Cache"), Path("/local/ColorStudio/Logs"))
