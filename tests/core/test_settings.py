"""The settings file: a broken or hostile file never stops the program."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from colorstudio.core.settings import Settings, load_settings, save_settings, settings_path


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
    ],
    ids=["empty", "binary", "list", "truncated", "deep nesting", "out of range", "NaN and bool", "infinity",
         "float overflow", "huge int"],
)
def test_broken_values_fall_back_to_defaults(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(raw)
    assert load_settings(path) == Settings()


def test_unknown_keys_and_partial_files(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"device": "cpu", "future_option": [1, 2]}), "utf-8")
    assert load_settings(path) == Settings(device="cpu")


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
