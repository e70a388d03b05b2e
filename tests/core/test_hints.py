"""Hints: the value type, the sidecar file (round trip, every validation error, atomic save), encoding."""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from colorstudio.core import fileio
from colorstudio.core.color import rgb_to_ab
from colorstudio.core.errors import HintsFileError
from colorstudio.core.hints import (
    DEFAULT_HINT_SIZE,
    MAX_HINTS,
    Hint,
    PhotoHints,
    encode_hints,
    hints_from_json,
    hints_to_json,
    load_hints,
    load_photo_hints,
    patch_bounds,
    save_hints,
    sidecar_path,
    validate_hints,
)


def doc(hints: list[Any], **top: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"format": "colorstudio.hints", "version": 1, "hints": hints}
    d.update(top)
    return d


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), "utf-8")
    return path


# -- Hint ----------------------------------------------------------------------------------

def test_hint_normalises_its_values() -> None:
    h = Hint(x=np.float32(0.25), y=1, rgb=np.array([180, 40, 35]))
    assert (h.x, h.y, h.rgb) == (0.25, 1.0, (180, 40, 35))
    assert type(h.x) is float and type(h.y) is float and all(type(c) is int for c in h.rgb)
    assert h.size == DEFAULT_HINT_SIZE
    assert h.hex == "#b42823"
    assert Hint(0.25, 1.0, (180, 40, 35)) == h and hash(Hint(0.25, 1.0, (180, 40, 35))) == hash(h)


def test_hint_edit_helpers_return_new_hints() -> None:
    h = Hint(0.1, 0.2, (1, 2, 3), extra=(("label", "sky"),))
    assert h.moved(0.5, 0.6) == Hint(0.5, 0.6, (1, 2, 3))
    assert h.recoloured((9, 9, 9)).rgb == (9, 9, 9)
    assert h.resized(0.5).size == 0.5
    assert h.moved(0.5, 0.6).extra == (("label", "sky"),)
    assert (h.x, h.y, h.rgb, h.size) == (0.1, 0.2, (1, 2, 3), DEFAULT_HINT_SIZE)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x": "0.5"}, TypeError, "Hint.x must be a number"),
        ({"y": None}, TypeError, "Hint.y must be a number"),
        ({"x": True}, TypeError, "Hint.x must be a number"),
        ({"y": False}, TypeError, "Hint.y must be a number"),
        ({"x": [0.5]}, TypeError, "Hint.x"),
        ({"x": math.nan}, ValueError, "finite"),
        ({"y": math.inf}, ValueError, "finite"),
        ({"x": -math.inf}, ValueError, "finite"),
        ({"x": np.float64("nan")}, ValueError, "finite"),
        ({"x": 10**400}, ValueError, "finite"),
        ({"x": -0.001}, ValueError, r"\[0, 1\]"),
        ({"y": 1.0001}, ValueError, r"\[0, 1\]"),
        ({"size": 0.0}, ValueError, "size"),
        ({"size": 1.5}, ValueError, "size"),
        ({"size": True}, TypeError, "size"),
        ({"rgb": "#ff0000"}, TypeError, "rgb"),
        ({"rgb": 255}, TypeError, "rgb"),
        ({"rgb": (1, 2)}, ValueError, "rgb"),
        ({"rgb": (1, 2, 3, 4)}, ValueError, "rgb"),
        ({"rgb": (256, 0, 0)}, ValueError, "rgb"),
        ({"rgb": (-1, 0, 0)}, ValueError, "rgb"),
        ({"rgb": (1.5, 0, 0)}, ValueError, "rgb"),
        ({"rgb": (True, 0, 0)}, ValueError, "rgb"),
        ({"rgb": (None, 0, 0)}, ValueError, "rgb"),
    ],
)
def test_hint_validation(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    args: dict[str, Any] = {"x": 0.5, "y": 0.5, "rgb": (10, 20, 30)}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Hint(**args)


def test_hint_bounds_are_inclusive() -> None:
    for x, y in ((0, 0), (1, 1), (0.0, 1.0)):
        Hint(x, y, (0, 0, 0))
    Hint(0.5, 0.5, (0, 0, 0), size=1.0)


def test_validate_hints() -> None:
    h = Hint(0.5, 0.5, (1, 2, 3))
    assert validate_hints(None) == ()
    assert validate_hints([h, h]) == (h, h)
    assert validate_hints(iter([h])) == (h,)
    with pytest.raises(TypeError, match="sequence of Hint"):
        validate_hints("hints")
    with pytest.raises(TypeError, match="sequence of Hint"):
        validate_hints(3)
    with pytest.raises(TypeError, match=r"hints\[1\]"):
        validate_hints([h, (0.5, 0.5, (1, 2, 3))])


# -- sidecar round trip --------------------------------------------------------------------

def test_sidecar_path_is_next_to_the_image(tmp_path: Path) -> None:
    assert sidecar_path(tmp_path / "photo.jpg") == tmp_path / "photo.jpg.colorstudio.json"
    assert sidecar_path("a/b/été 1950.tif") == Path("a/b/été 1950.tif.colorstudio.json")


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    hints = (Hint(0.25, 0.6, (180, 40, 35)), Hint(0.0, 1.0, (0, 255, 0), size=0.1), Hint(1.0, 0.0, (1, 2, 3)))
    path = tmp_path / "photo.jpg.colorstudio.json"
    save_hints(path, hints)
    assert load_hints(path) == hints
    data = json.loads(path.read_text("utf-8"))
    assert data["format"] == "colorstudio.hints" and data["version"] == 1
    assert data["hints"][0] == {"x": 0.25, "y": 0.6, "color": "#b42823"}
    assert data["hints"][1]["size"] == 0.1
    save_hints(path, ())
    assert load_hints(path) == ()


def test_documented_example_loads(tmp_path: Path) -> None:
    text = """{
      "format": "colorstudio.hints",
      "version": 1,
      "hints": [
        {"x": 0.25, "y": 0.60, "color": "#b42823"}
      ]
    }"""
    path = tmp_path / "h.json"
    path.write_text(text, "utf-8")
    assert load_hints(path) == (Hint(0.25, 0.6, (180, 40, 35)),)


def test_colour_is_case_insensitive(tmp_path: Path) -> None:
    path = write_json(tmp_path / "h.json", doc([{"x": 0.5, "y": 0.5, "color": "#B4282F"}]))
    assert load_hints(path)[0].rgb == (0xB4, 0x28, 0x2F)


def test_unknown_keys_are_preserved_or_ignored(tmp_path: Path) -> None:
    path = write_json(tmp_path / "h.json", doc(
        [{"x": 0.5, "y": 0.5, "color": "#ff0000", "label": "sky", "locked": True, "zz": {"a": [1, 2]}}],
        app={"name": "Other app", "nested": [1, {"k": None}]}, note="été",
    ))
    hints = load_hints(path)
    assert hints == (Hint(0.5, 0.5, (255, 0, 0)),)
    assert dict(hints[0].extra) == {"label": "sky", "locked": True, "zz": {"a": [1, 2]}}
    save_hints(path, hints + (Hint(0.1, 0.1, (0, 0, 255)),))
    data = json.loads(path.read_text("utf-8"))
    assert data["app"] == {"name": "Other app", "nested": [1, {"k": None}]}
    assert data["note"] == "été"
    assert data["hints"][0]["label"] == "sky" and data["hints"][0]["zz"] == {"a": [1, 2]}
    assert len(load_hints(path)) == 2


def test_files_are_utf8_and_a_bom_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    save_hints(path, (Hint(0.5, 0.5, (1, 2, 3), extra=(("label", "ciel d'été"),)),))
    assert "ciel d'été" in path.read_bytes().decode("utf-8")
    # as Windows Notepad saves it: a byte-order mark before the JSON (RFC 8259 lets readers skip it)
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc([{"x": 0.5, "y": 0.25, "color": "#B42823"}],
                                                      app="kept")).encode())
    assert load_hints(path) == (Hint(0.5, 0.25, (180, 40, 35)),)
    save_hints(path, load_hints(path))  # saved without the mark, keeping the file's other keys
    assert path.read_bytes()[:1] == b"{" and json.loads(path.read_text("utf-8"))["app"] == "kept"
    path.write_bytes("\ufeff".encode("utf-16") + json.dumps(doc([])).encode("utf-16-le"))
    with pytest.raises(HintsFileError, match=f"{path.name}: not UTF-8 text"):
        load_hints(path)


def test_thousands_of_hints_and_duplicate_points(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    hints = tuple(Hint(float(x), float(y), tuple(int(c) for c in rgb))
                  for x, y, rgb in zip(rng.random(5000), rng.random(5000), rng.integers(0, 256, (5000, 3))))
    hints += (Hint(0.5, 0.5, (255, 0, 0)),) * 50  # duplicate points
    path = tmp_path / "many.json"
    save_hints(path, hints)
    loaded = load_hints(path)
    assert len(loaded) == len(hints)
    assert all(abs(a.x - b.x) < 1e-6 and abs(a.y - b.y) < 1e-6 and a.rgb == b.rgb for a, b in zip(loaded, hints))
    ab, mask = encode_hints(loaded, 64, 64)
    assert mask.sum() > 0 and np.isfinite(ab).all()


def test_exactly_max_hints_is_accepted_and_one_more_refused(tmp_path: Path) -> None:
    item = {"x": 0.5, "y": 0.5, "color": "#000000"}
    assert len(hints_from_json(doc([item] * MAX_HINTS))) == MAX_HINTS
    path = write_json(tmp_path / "too_many.json", doc([item] * (MAX_HINTS + 1)))
    with pytest.raises(HintsFileError, match="too many hints"):
        load_hints(path)


# -- every validation error names the file -------------------------------------------------

GOOD = {"x": 0.5, "y": 0.5, "color": "#102030"}

BAD_DOCUMENTS: list[tuple[str, Any, str]] = [
    ("top-level list", [GOOD], "JSON object"),
    ("top-level string", "hints", "JSON object"),
    ("top-level null", None, "JSON object"),
    ("no format", {"version": 1, "hints": []}, "'format'"),
    ("wrong format", doc([], format="colorstudio.project"), "'format'"),
    ("format not a string", doc([], format=1), "'format'"),
    ("no version", {"format": "colorstudio.hints", "hints": []}, "version"),
    ("version 2", doc([], version=2), "version"),
    ("version 0", doc([], version=0), "version"),
    ("version as a string", doc([], version="1"), "version"),
    ("version true", doc([], version=True), "version"),
    ("no hints key", {"format": "colorstudio.hints", "version": 1}, "'hints' must be a list"),
    ("hints an object", doc({"0": GOOD}), "'hints' must be a list"),
    ("hints null", doc(None), "'hints' must be a list"),
    ("hint not an object", doc([[0.5, 0.5, "#102030"]]), "hint 0"),
    ("hint missing x", doc([{"y": 0.5, "color": "#102030"}]), "hint 0 has no 'x'"),
    ("hint missing color", doc([GOOD, {"x": 0.5, "y": 0.5}]), "hint 1 has no 'color'"),
    ("x below 0", doc([{**GOOD, "x": -0.1}]), r"\[0, 1\]"),
    ("y above 1", doc([{**GOOD, "y": 1.5}]), r"\[0, 1\]"),
    ("x huge", doc([{**GOOD, "x": 1e300}]), r"\[0, 1\]"),
    ("x as a string", doc([{**GOOD, "x": "0.5"}]), "must be a number"),
    ("x null", doc([{**GOOD, "x": None}]), "must be a number"),
    ("x true", doc([{**GOOD, "x": True}]), "must be a number"),
    ("x a list", doc([{**GOOD, "x": [0.5]}]), "must be a number"),
    ("size negative", doc([{**GOOD, "size": -1}]), "size"),
    ("size a string", doc([{**GOOD, "size": "big"}]), "size"),
    ("colour without #", doc([{**GOOD, "color": "102030"}]), "#rrggbb"),
    ("colour short", doc([{**GOOD, "color": "#fff"}]), "#rrggbb"),
    ("colour with alpha", doc([{**GOOD, "color": "#10203040"}]), "#rrggbb"),
    ("colour not hex", doc([{**GOOD, "color": "#gg0000"}]), "#rrggbb"),
    ("colour name", doc([{**GOOD, "color": "red"}]), "#rrggbb"),
    ("colour as a list", doc([{**GOOD, "color": [255, 0, 0]}]), "#rrggbb"),
    ("colour null", doc([{**GOOD, "color": None}]), "#rrggbb"),
    ("colour with a newline", doc([{**GOOD, "color": "#102030\n"}]), "#rrggbb"),
    ("colour full-width digits", doc([{**GOOD, "color": "#１２３４５６"}]), "#rrggbb"),
]


@pytest.mark.parametrize(("what", "data", "match"), BAD_DOCUMENTS, ids=[b[0] for b in BAD_DOCUMENTS])
def test_invalid_documents_are_refused_naming_the_file(tmp_path: Path, what: str, data: Any, match: str) -> None:
    path = write_json(tmp_path / "broken sidecar.json", data)
    with pytest.raises(HintsFileError, match=match) as info:
        load_hints(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    assert "\n" not in message.strip()


def one_hint(x: bytes) -> bytes:
    return b'{"format": "colorstudio.hints", "version": 1, "hints": [{"x": ' + x + b', "y": 0.5, "color": "#000000"}]}'


BAD_TEXTS: list[tuple[str, bytes, str]] = [
    ("NaN literal", one_hint(b"NaN"), "NaN"),
    ("Infinity literal",
     b'{"format": "colorstudio.hints", "version": 1, "hints": [{"x": 0.5, "y": Infinity, "color": "#000000"}]}',
     "Infinity"),
    ("-Infinity literal",
     b'{"format": "colorstudio.hints", "version": 1, "hints": [{"x": -Infinity, "y": 0.5, "color": "#000000"}]}',
     "Infinity"),
    ("overflowing float is infinite",
     b'{"format": "colorstudio.hints", "version": 1, "hints": [{"x": 1e400, "y": 0.5, "color": "#000000"}]}',
     "finite"),
    ("integer too large for a float", one_hint(b"1" + b"0" * 400), "finite"),
    ("integer with too many digits", one_hint(b"1" + b"0" * 5000), "not valid JSON"),
    ("truncated JSON", b'{"format": "colorstudio.hints", "version": 1, "hints": [{"x": 0.5', "not valid JSON"),
    ("trailing comma", b'{"format": "colorstudio.hints", "version": 1, "hints": [],}', "not valid JSON"),
    ("two documents", b'{"format": "colorstudio.hints", "version": 1, "hints": []} {}', "not valid JSON"),
    ("empty file", b"", "not valid JSON"),
    ("whitespace only", b"  \n\t ", "not valid JSON"),
    ("single quotes", b"{'format': 'colorstudio.hints'}", "not valid JSON"),
    ("comment", b'// hints\n{"format": "colorstudio.hints", "version": 1, "hints": []}', "not valid JSON"),
    ("binary junk", bytes(range(256)), "not UTF-8"),
    ("latin-1 text", '{"format": "colorstudio.hints", "note": "été"}'.encode("latin-1"), "not UTF-8"),
    ("UTF-16 text", json.dumps(doc([])).encode("utf-16"), "UTF-8"),
    ("deep nesting", b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    ("deep nesting of objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    ("deep nesting inside a hint", b'{"format": "colorstudio.hints", "version": 1, "hints": [{"x": 0.5, "y": 0.5, '
     b'"color": "#000000", "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}", "nested too deeply"),
]


@pytest.mark.parametrize(("what", "raw", "match"), BAD_TEXTS, ids=[b[0] for b in BAD_TEXTS])
def test_invalid_files_are_refused_naming_the_file(tmp_path: Path, what: str, raw: bytes, match: str) -> None:
    path = tmp_path / "sidecar.json"
    path.write_bytes(raw)
    with pytest.raises(HintsFileError, match=match) as info:
        load_hints(path)
    assert str(info.value).startswith(str(path) + ": ")
    assert len(str(info.value)) < 500


def test_missing_file_and_folder_are_refused_naming_them(tmp_path: Path) -> None:
    with pytest.raises(HintsFileError, match="no such hints file") as info:
        load_hints(tmp_path / "nope.json")
    assert str(tmp_path / "nope.json") in str(info.value)
    with pytest.raises(HintsFileError, match="cannot read") as info:
        load_hints(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_hints_from_json_names_its_source() -> None:
    with pytest.raises(HintsFileError, match=r"^project\.json: 'format'"):
        hints_from_json({"hints": []}, source="project.json")


def test_hints_to_json_round_trips_through_hints_from_json() -> None:
    hints = (Hint(0.123456789, 0.5, (1, 2, 3), size=0.05), Hint(1.0, 0.0, (255, 255, 255)))
    back = hints_from_json(json.loads(json.dumps(hints_to_json(hints))))
    assert back[1] == hints[1]
    assert back[0].x == pytest.approx(hints[0].x, abs=1e-6) and back[0].size == 0.05


def test_save_over_a_corrupt_sidecar_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    for junk in (b"\xff\xfe garbage", b"[" * 100_000, b"{not json", b"[1, 2, 3]"):
        path.write_bytes(junk)
        save_hints(path, (Hint(0.5, 0.5, (1, 2, 3)),))
        assert load_hints(path) == (Hint(0.5, 0.5, (1, 2, 3)),)


def test_save_does_not_carry_over_values_the_loader_refuses(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"format": "colorstudio.hints", "version": 1, "hints": [], "gain": NaN, "keep": 1}', "utf-8")
    with pytest.raises(HintsFileError, match="NaN"):
        load_hints(path)
    save_hints(path, (Hint(0.5, 0.5, (1, 2, 3)),))
    assert load_hints(path) == (Hint(0.5, 0.5, (1, 2, 3)),)


def test_hint_with_unencodable_unknown_value_still_saves(tmp_path: Path) -> None:
    # "\ud800" is valid JSON (an escaped lone surrogate) but cannot be encoded as UTF-8.
    path = tmp_path / "s.json"
    path.write_text('{"format": "colorstudio.hints", "version": 1, "note": "\\ud800", '
                    '"hints": [{"x": 0.5, "y": 0.5, "color": "#010203", "label": "\\udfff"}]}', "utf-8")
    hints = load_hints(path)
    save_hints(path, hints)
    assert load_hints(path) == hints


def test_an_unknown_key_holding_a_number_json_cannot_write_is_dropped(tmp_path: Path) -> None:
    # 1e400 is valid JSON that Python reads as inf; carried over, no save could write the file back.
    path = tmp_path / "h.json"
    path.write_text('{"format": "colorstudio.hints", "version": 1, "scale": -1e400, "app": {"v": [1, 2e999]}, '
                    '"note": "kept", "hints": [{"x": 0.5, "y": 0.5, "color": "#102030", "weight": 1e400, '
                    '"deep": {"a": [1, 1e999]}, "label": "sky", "n": 1e300}]}', "utf-8")
    hints = load_hints(path)
    assert dict(hints[0].extra) == {"label": "sky", "n": 1e300}
    save_hints(path, hints + (Hint(0.1, 0.1, (0, 0, 255)),))
    data = json.loads(path.read_text("utf-8"))
    assert "scale" not in data and "app" not in data and data["note"] == "kept"
    assert load_hints(path)[0].extra == hints[0].extra and len(load_hints(path)) == 2


# -- atomic save ---------------------------------------------------------------------------

def _only_file(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_save_replaces_an_existing_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    save_hints(path, tuple(Hint(i / 999, 0.5, (i % 256, 0, 0)) for i in range(1000)))
    big = path.stat().st_size
    save_hints(path, (Hint(0.5, 0.5, (1, 2, 3)),))
    assert path.stat().st_size < big / 10
    assert load_hints(path) == (Hint(0.5, 0.5, (1, 2, 3)),)
    assert _only_file(tmp_path) == ["s.json"]


def test_failure_mid_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.json"
    old = (Hint(0.1, 0.2, (10, 20, 30)),)
    save_hints(path, old)
    before = path.read_bytes()

    def half_then_fail(self: Path, data: bytes) -> int:
        with open(self, "wb") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save_hints(path, tuple(Hint(0.5, 0.5, (0, 0, 0)) for _ in range(100)))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_hints(path) == old
    assert _only_file(tmp_path) == ["s.json"]  # no temporary file left behind


@pytest.mark.parametrize("exc", [OSError(5, "Input/output error"), KeyboardInterrupt()])
def test_failure_at_rename_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               exc: BaseException) -> None:
    path = tmp_path / "s.json"
    save_hints(path, (Hint(0.1, 0.2, (10, 20, 30)),))
    before = path.read_bytes()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(fileio.os, "replace", fail)
    with pytest.raises(type(exc)):
        save_hints(path, (Hint(0.9, 0.9, (0, 0, 0)),))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _only_file(tmp_path) == ["s.json"]


def test_new_file_is_not_created_when_the_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileio.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError):
        save_hints(tmp_path / "new.json", (Hint(0.5, 0.5, (0, 0, 0)),))
    assert _only_file(tmp_path) == []


# -- encoding into network channels --------------------------------------------------------

def test_encode_puts_the_chroma_at_the_hinted_pixel() -> None:
    height, width = 40, 60
    h = Hint(x=(17 + 0.5) / width, y=(23 + 0.5) / height, rgb=(180, 40, 35), size=1e-6)
    ab, mask = encode_hints([h], height, width)
    assert ab.shape == (2, height, width) and mask.shape == (1, height, width)
    assert ab.dtype == np.float32 and mask.dtype == np.float32
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert list(zip(*np.nonzero(mask[0]))) == [(23, 17)]
    a, b = rgb_to_ab((180, 40, 35))
    assert ab[:, 23, 17] == pytest.approx([a, b], abs=1e-4)
    assert np.count_nonzero(ab) == 2


@pytest.mark.parametrize(("height", "width"), [(7, 5), (1, 9), (9, 1), (1, 1)])
def test_every_pixel_centre_maps_to_its_own_pixel(height: int, width: int) -> None:
    for row in range(height):
        for col in range(width):
            h = Hint((col + 0.5) / width, (row + 0.5) / height, (0, 0, 255), size=1e-6)
            _, mask = encode_hints([h], height, width)
            assert list(zip(*np.nonzero(mask[0]))) == [(row, col)]


def test_patch_is_a_square_of_the_hint_size_around_the_point() -> None:
    height, width = 100, 200
    h = Hint(0.5, 0.5, (0, 255, 0), size=0.05)  # 0.05 * 200 = 10 pixels
    r0, r1, c0, c1 = patch_bounds(h, height, width)
    assert (r1 - r0, c1 - c0) == (10, 10)
    assert r0 <= 50 < r1 and c0 <= 100 < c1
    _, mask = encode_hints([h], height, width)
    rows, cols = np.nonzero(mask[0])
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (r0, r1, c0, c1)
    assert mask.sum() == 100


@pytest.mark.parametrize(("x", "y"), [(0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0)])
def test_patch_is_clipped_at_the_borders(x: float, y: float) -> None:
    h = Hint(x, y, (255, 0, 0), size=0.2)
    r0, r1, c0, c1 = patch_bounds(h, 50, 50)
    assert 0 <= r0 < r1 <= 50 and 0 <= c0 < c1 <= 50
    _, mask = encode_hints([h], 50, 50)
    row, col = min(49, int(y * 50)), min(49, int(x * 50))
    assert mask[0, row, col] == 1.0
    assert 0 < mask.sum() <= 100


def test_later_hints_win_where_patches_overlap() -> None:
    red, blue = Hint(0.5, 0.5, (255, 0, 0), size=0.3), Hint(0.55, 0.5, (0, 0, 255), size=0.3)
    ab, mask = encode_hints([red, blue], 40, 40)
    a_red, b_red = rgb_to_ab(red.rgb)
    a_blue, b_blue = rgb_to_ab(blue.rgb)
    br0, br1, bc0, bc1 = patch_bounds(blue, 40, 40)
    assert np.allclose(ab[0, br0:br1, bc0:bc1], a_blue) and np.allclose(ab[1, br0:br1, bc0:bc1], b_blue)
    rr0, _, rc0, _ = patch_bounds(red, 40, 40)
    assert rc0 < bc0
    assert ab[0, rr0, rc0] == pytest.approx(a_red) and ab[1, rr0, rc0] == pytest.approx(b_red)
    ab2, _ = encode_hints([blue, red], 40, 40)
    assert ab2[0, 20, bc0 + 1] == pytest.approx(a_red)


def test_hint_lightness_is_ignored_only_chroma_is_encoded() -> None:
    dark, light = Hint(0.5, 0.5, (60, 0, 0)), Hint(0.5, 0.5, (255, 120, 120))
    ab_dark, _ = encode_hints([dark], 10, 10)
    a, b = rgb_to_ab(dark.rgb)
    assert ab_dark[0].max() == pytest.approx(a) and ab_dark[1].max() == pytest.approx(b)
    assert not np.allclose(encode_hints([light], 10, 10)[0], ab_dark)


def test_no_hints_encode_to_zeros_and_gray_hints_to_zero_chroma_with_mask() -> None:
    ab, mask = encode_hints([], 8, 8)
    assert not ab.any() and not mask.any()
    ab, mask = encode_hints([Hint(0.5, 0.5, (128, 128, 128))], 8, 8)
    assert np.abs(ab).max() < 0.05 and mask.sum() == 1


def _read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Writes into `folder` fail as on a read-only archive (tests may run as root, which chmod cannot stop)."""
    import errno

    real = fileio.atomic_write_text

    def write(path: Any, text: str) -> None:
        if Path(path).parent == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        real(path, text)

    monkeypatch.setattr("colorstudio.core.hints.atomic_write_text", write)


def test_hints_of_a_photo_in_a_read_only_folder_are_kept_in_the_data_folder(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from colorstudio.core.hints import find_hints_file, save_hints_for, stored_hints_path

    photo = tmp_path / "archive" / "scan.tif"
    photo.parent.mkdir()
    photo.write_bytes(b"")
    assert find_hints_file(photo) is None
    hints = (Hint(0.2, 0.3, (10, 20, 30)),)
    _read_only(monkeypatch, photo.parent)
    written = save_hints_for(photo, hints)
    assert written == stored_hints_path(photo) and not sidecar_path(photo).exists()
    assert written.is_relative_to(os.environ["XDG_DATA_HOME"])  # the user's data folder
    assert find_hints_file(photo) == written and load_hints(written) == hints
    assert json.loads(written.read_text())["image"] == str(photo.resolve())  # says which photo it is for
    # The folder becomes writable (copied to a disk, say): the sidecar is written and supersedes the stored file.
    monkeypatch.setattr("colorstudio.core.hints.atomic_write_text", fileio.atomic_write_text)
    assert save_hints_for(photo, hints[:0]) == sidecar_path(photo)
    assert find_hints_file(photo) == sidecar_path(photo) and not written.exists()


def test_hints_of_a_photo_whose_name_leaves_no_room_for_a_sidecar_are_kept_in_the_data_folder(tmp_path: Path) -> None:
    from colorstudio.core.hints import find_hints_file, save_hints_for, stored_hints_path

    photo = tmp_path / ("写真" * 40 + ".png")  # 244 bytes: a legal name; with the sidecar's suffix, 261
    photo.write_bytes(b"")
    assert find_hints_file(photo) is None  # raised ENAMETOOLONG: the photo could not be opened
    hints = (Hint(0.2, 0.3, (10, 20, 30)),)
    assert save_hints_for(photo, hints) == stored_hints_path(photo)
    assert find_hints_file(photo) == stored_hints_path(photo) and load_hints(stored_hints_path(photo)) == hints


def test_a_photo_with_a_sidecar_and_stored_hints_is_read_with_the_stored_hints_saved_over_that_sidecar(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colorstudio.core.hints import find_hints_file, save_hints_for, stored_hints_path

    photo = tmp_path / "cdrom" / "IMG_0001.tif"  # a read-only disc, always mounted at the same place
    photo.parent.mkdir()
    photo.write_bytes(b"")
    save_hints(sidecar_path(photo), (Hint(0.5, 0.5, (1, 2, 3)),))  # came with the disc
    os.utime(sidecar_path(photo), ns=(10**18, 10**18))
    _read_only(monkeypatch, photo.parent)
    hints = (Hint(0.2, 0.3, (10, 20, 30)),)
    assert save_hints_for(photo, hints) == stored_hints_path(photo)
    assert find_hints_file(photo) == stored_hints_path(photo)  # the edits saved, not the disc's sidecar
    assert load_photo_hints(find_hints_file(photo)).hints == hints
    # Disc 2 in the same drive: its IMG_0001 has its own sidecar, older than the stored file.
    monkeypatch.setattr("colorstudio.core.hints.atomic_write_text", fileio.atomic_write_text)
    save_hints(sidecar_path(photo), (Hint(0.5, 0.5, (0, 0, 255)),))
    os.utime(sidecar_path(photo), ns=(10**18 + 10**9, 10**18 + 10**9))
    assert find_hints_file(photo) == sidecar_path(photo)  # not disc 1's hints
    photo.unlink()
    sidecar_path(photo).unlink()
    photo.write_bytes(b"")  # a photo with stored hints and no sidecar at all
    assert find_hints_file(photo) == stored_hints_path(photo)


@pytest.mark.skipif(sys.platform == "win32", reason="links need privileges there")
def test_a_sidecar_that_is_a_link_stays_one_and_the_linked_file_is_saved(tmp_path: Path) -> None:
    from colorstudio.core.hints import find_hints_file, save_hints_for

    synced = tmp_path / "sync" / "photo.jpg.colorstudio.json"  # hints kept in a synced or versioned folder
    synced.parent.mkdir()
    save_hints(synced, (Hint(0.1, 0.1, (1, 2, 3)),))
    photo = tmp_path / "photo.jpg"
    sidecar_path(photo).symlink_to(synced)
    hints = (Hint(0.1, 0.1, (1, 2, 3)), Hint(0.2, 0.2, (4, 5, 6)))
    assert save_hints_for(photo, hints) == sidecar_path(photo)
    assert sidecar_path(photo).is_symlink() and load_hints(synced) == hints
    assert find_hints_file(photo) == sidecar_path(photo)
    assert sorted(p.name for p in synced.parent.iterdir()) == [synced.name]  # no temporary file left there


def test_other_write_failures_of_a_sidecar_are_raised(tmp_path: Path) -> None:
    from colorstudio.core.hints import save_hints_for

    photo = tmp_path / "scan.tif"
    sidecar_path(photo).mkdir()  # not a permission problem: no silent fallback
    with pytest.raises(OSError):
        save_hints_for(photo, ())


def test_a_photo_saturation_is_saved_and_read_with_its_hints(tmp_path: Path) -> None:
    p = tmp_path / "photo.jpg.colorstudio.json"
    hints = (Hint(0.5, 0.5, (200, 30, 30)),)
    save_hints(p, hints)
    assert "saturation" not in json.loads(p.read_text("utf-8"))
    assert load_photo_hints(p) == PhotoHints(hints, None)  # none set: the caller's default applies
    save_hints(p, hints, saturation=0.65)
    assert json.loads(p.read_text("utf-8"))["saturation"] == 0.65
    assert load_photo_hints(p) == PhotoHints(hints, 0.65) and load_hints(p) == hints
    save_hints(p, hints[:0])  # saving only hints keeps the file's saturation
    assert load_photo_hints(p) == PhotoHints((), 0.65)
    save_hints(p, hints, saturation=1.0)  # a saturation set to 100 % is kept as such
    assert load_photo_hints(p).saturation == 1.0
    with pytest.raises(ValueError, match="saturation"):
        save_hints(p, hints, saturation=float("nan"))
    assert load_photo_hints(p).saturation == 1.0  # the refused save left the file alone


@pytest.mark.parametrize("value", ["0.5", True, -0.1, 4.5, [1]])
def test_an_invalid_saturation_is_refused_naming_the_file(tmp_path: Path, value: Any) -> None:
    p = tmp_path / "h.json"
    p.write_text(json.dumps({"format": "colorstudio.hints", "version": 1, "hints": [], "saturation": value}))
    with pytest.raises(HintsFileError, match=f"{p.name}.*'saturation' must be a number from 0 to 4"):
        load_photo_hints(p)


def test_more_hints_than_a_file_holds_are_refused_and_the_file_kept(tmp_path: Path) -> None:
    from colorstudio.core.hints import MAX_HINTS

    path = tmp_path / "photo.jpg.colorstudio.json"
    save_hints(path, [Hint(0.5, 0.5, (1, 2, 3))])
    before = path.read_bytes()
    with pytest.raises(ValueError, match=rf"more than a hints file holds \({MAX_HINTS}\)"):
        save_hints(path, [Hint(0.5, 0.5, (1, 2, 3))] * (MAX_HINTS + 1))
    assert path.read_bytes() == before


@pytest.mark.parametrize("rgb", [{180, 40, 35}, {180: 0, 40: 0, 35: 0}, b"abc"])
def test_a_hint_colour_must_be_an_ordered_triple(rgb: object) -> None:
    with pytest.raises(TypeError, match="Hint.rgb must be a triple"):
        Hint(0.5, 0.5, rgb)  # type: ignore[arg-type]
    assert Hint(0.5, 0.5, np.array([180, 40, 35])).rgb == Hint(0.5, 0.5, [180, 40, 35]).rgb == (180, 40, 35)
