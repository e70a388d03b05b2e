"""Property-based fuzzing of the front doors: hints files, image files, model files.

Whatever bytes or JSON arrive, the only exception is the project's own clear error type.
Runs are derandomized (the same examples each run, so CI cannot flake); set
COLORSTUDIO_FUZZ_SCALE=10 (or more) for a longer, seeded-at-random hunt.
"""
from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from colorstudio.core.checkpoint import load_model
from colorstudio.core.errors import HintsFileError, ImageReadError, ModelFileError
from colorstudio.core.hints import hints_from_json, load_hints, save_hints
from colorstudio.core.images import read_image

SCALE = max(1, int(os.environ.get("COLORSTUDIO_FUZZ_SCALE", "1")))


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=SCALE == 1, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# -- strategies ----------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | st.sampled_from(["#b42823", "#FFFFFF", "#fff", "colorstudio.hints", "", "NaN"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=16)
coordinates = (st.floats(-0.5, 1.5) | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-2, 2)
               | st.integers() | st.integers(10**300, 10**400) | st.booleans() | st.text(max_size=4) | st.none())
colours = (st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True) | st.from_regex(r"\A#[0-9a-fA-F]{6}\s\Z")
           | st.text(max_size=9) | json_values)
hint_items = st.fixed_dictionaries(
    {}, optional={"x": coordinates, "y": coordinates, "color": colours, "size": coordinates, "label": json_values}
) | json_values
documents = st.fixed_dictionaries(
    {"format": st.just("colorstudio.hints") | json_values, "version": st.just(1) | json_values,
     "hints": st.lists(hint_items, max_size=6) | json_values},
    optional={"app": json_values},
) | json_values


# Past the envelope checks: every document has the right format and version, so the fuzzing
# reaches the validation of each hint.
full_hints = st.fixed_dictionaries({"x": coordinates, "y": coordinates, "color": colours},
                                   optional={"size": coordinates, "label": json_values})
envelopes = st.fixed_dictionaries({"format": st.just("colorstudio.hints"), "version": st.just(1),
                                   "hints": st.lists(full_hints | hint_items, max_size=8)})


def mutate(data: bytes, draw: Any) -> bytes:
    """Truncate, overwrite, insert or delete bytes, favouring headers and trailers."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "splice"]))
        if not buf:
            break
        region = draw(st.sampled_from(["head", "tail", "any"]))
        if region == "head":
            pos = draw(st.integers(0, min(len(buf) - 1, 64)))
        elif region == "tail":
            pos = draw(st.integers(max(0, len(buf) - 64), len(buf) - 1))
        else:
            pos = draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            buf[pos] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x01]))
        elif kind == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del buf[pos:pos + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del buf[pos:]
        else:  # repeat a chunk of the file elsewhere (confuses chunk/segment parsers)
            start = draw(st.integers(0, len(buf) - 1))
            buf[pos:pos] = buf[start:start + draw(st.integers(1, 64))]
    return bytes(buf)


# -- hints ---------------------------------------------------------------------------------

@fuzz_settings(200)
@given(raw=st.binary(max_size=2048))
def test_random_bytes_as_a_hints_file(workdir: Path, raw: bytes) -> None:
    path = workdir / "random.json"
    path.write_bytes(raw)
    try:
        load_hints(path)
    except HintsFileError as exc:
        assert str(exc).startswith(str(path) + ": ")


def check_document(doc: Any) -> None:
    try:
        hints = hints_from_json(doc, "doc.json")
    except HintsFileError as exc:
        assert str(exc).startswith("doc.json: ")
        return
    for h in hints:  # anything accepted is a valid hint
        assert 0.0 <= h.x <= 1.0 and 0.0 <= h.y <= 1.0 and 0.0 < h.size <= 1.0
        assert all(isinstance(c, int) and 0 <= c <= 255 for c in h.rgb)


@fuzz_settings(100)
@given(doc=documents | envelopes)
def test_random_json_documents(doc: Any) -> None:
    check_document(doc)


@fuzz_settings(150)
@given(doc=envelopes)
def test_random_hints_in_a_valid_envelope(doc: Any) -> None:
    check_document(doc)


@fuzz_settings(60)
@given(doc=documents | envelopes)
def test_random_json_documents_through_a_file_and_back(workdir: Path, doc: Any) -> None:
    path = workdir / "doc.json"
    path.write_text(json.dumps(doc), "utf-8")  # NaN / Infinity are written as literals, and refused
    try:
        hints = load_hints(path)
    except HintsFileError:
        return
    save_hints(path, hints)  # keeps unknown top-level keys of the file it replaces
    again = load_hints(path)
    assert len(again) == len(hints)
    assert all(math.isclose(a.x, b.x, abs_tol=1e-6) and a.rgb == b.rgb for a, b in zip(again, hints))


VALID_HINTS = json.dumps({"format": "colorstudio.hints", "version": 1, "app": {"zoom": 2},
                          "hints": [{"x": 0.25, "y": 0.6, "color": "#b42823"},
                                    {"x": 1, "y": 0, "color": "#00ff00", "size": 0.1, "label": "sky"}]}).encode()


@fuzz_settings(150)
@given(data=st.data())
def test_mutated_hints_files(workdir: Path, data: st.DataObject) -> None:
    path = workdir / "mutated.json"
    path.write_bytes(mutate(VALID_HINTS, data.draw))
    try:
        load_hints(path)
    except HintsFileError:
        pass


# -- images --------------------------------------------------------------------------------

def _samples() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (12, 16, 3)).astype(np.uint8)
    out = {}
    for ext, fmt, kw in (("png", "PNG", {}), ("jpg", "JPEG", {"quality": 80}), ("tif", "TIFF", {}),
                         ("gif", "GIF", {}), ("webp", "WEBP", {}), ("bmp", "BMP", {})):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format=fmt, **kw)
        out[ext] = buf.getvalue()
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", exif=exif.tobytes())
    out["exif.jpg"] = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(rgb).quantize(8).save(buf, format="PNG", transparency=2)
    out["pal.png"] = buf.getvalue()
    for ext in ("png", "tif"):
        ok, enc = cv2.imencode(f".{ext}", rng.integers(0, 65536, (12, 16, 3)).astype(np.uint16))
        assert ok
        out[f"16.{ext}"] = enc.tobytes()
    return out


SAMPLES = _samples()
FUZZ_MAX_PIXELS = 1_000_000  # mutated headers may claim big sizes; keep each decode small and quick


def check_read(path: Path) -> None:
    try:
        loaded = read_image(path, max_pixels=FUZZ_MAX_PIXELS)
    except ImageReadError as exc:
        assert str(exc).startswith(str(path) + ": ")
        assert "\n" not in str(exc)
        return
    px = loaded.pixels
    assert isinstance(px, np.ndarray) and px.dtype in (np.uint8, np.uint16)
    assert px.ndim == 2 or (px.ndim == 3 and px.shape[2] == 3)
    assert px.shape[0] * px.shape[1] <= FUZZ_MAX_PIXELS
    assert loaded.alpha is None or loaded.alpha.shape == px.shape[:2]


@fuzz_settings(200)
@given(raw=st.binary(max_size=4096), suffix=st.sampled_from([".jpg", ".png", ".tif", ".webp", ".gif", ".bmp"]))
def test_random_bytes_as_an_image(workdir: Path, raw: bytes, suffix: str) -> None:
    path = workdir / f"random{suffix}"
    path.write_bytes(raw)
    check_read(path)


@fuzz_settings(250)
@given(name=st.sampled_from(sorted(SAMPLES)), data=st.data())
def test_mutated_images(workdir: Path, name: str, data: st.DataObject) -> None:
    path = workdir / f"mutated.{name}"
    path.write_bytes(mutate(SAMPLES[name], data.draw))
    check_read(path)


@fuzz_settings(100)
@given(name=st.sampled_from(sorted(SAMPLES)), data=st.data())
def test_images_with_a_random_prefix_of_a_real_header(workdir: Path, name: str, data: st.DataObject) -> None:
    # A real signature followed by noise: the decoder is chosen, then fed garbage.
    head = SAMPLES[name][: data.draw(st.integers(1, 48))]
    path = workdir / f"prefix.{name}"
    path.write_bytes(head + data.draw(st.binary(max_size=512)))
    check_read(path)


# -- model files ---------------------------------------------------------------------------

@fuzz_settings(60)
@given(data=st.data())
def test_mutated_model_files(workdir: Path, tiny_model_path: Path, data: st.DataObject) -> None:
    path = workdir / "mutated.pt"
    path.write_bytes(mutate(tiny_model_path.read_bytes(), data.draw))
    try:
        load_model(path)
    except ModelFileError as exc:
        assert str(exc).startswith(str(path) + ": ") and "\n" not in str(exc)


@fuzz_settings(60)
@given(raw=st.binary(max_size=2048))
def test_random_bytes_as_a_model_file(workdir: Path, raw: bytes) -> None:
    path = workdir / "random.pt"
    path.write_bytes(raw)
    with pytest.raises(ModelFileError):
        load_model(path)
