"""The colorization engine: contract of Engine.colorize / suggest, bad input, and the shipped weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorstudio.core.color import (
    float_to_code,
    lab_to_rgb,
    lab_to_rgb_keep_lightness,
    lightness,
    rgb_to_ab,
    rgb_to_lab,
)
from colorstudio.core.engine import Engine, load_engine
from colorstudio.core.errors import DeviceError, ModelFileError
from colorstudio.core.hints import Hint
from tests.conftest import SHARED_DATA, SHIPPED_MODEL, requires_shared_data, shipped_models

# Rounding each RGB channel to a code value moves L by up to a few tenths for 8 bit.
# The gamut mapping allows 1e-4 of linear light outside [0, 1]: ~0.07 L near black.
L_TOL = {np.uint8: 0.8, np.uint16: 0.1}


def random_gray(shape: tuple[int, ...], dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top + 1, size=shape).astype(dtype)


def chroma_at(rgb: np.ndarray, row: int, col: int) -> np.ndarray:
    return rgb_to_lab(rgb[row, col])[1:]


def shown_chroma(gray_value: int, rgb: tuple[int, int, int]) -> np.ndarray:
    """The chroma a hint of colour `rgb` should show on a gray of `gray_value`: the photo's L, the
    hint's chroma, reduced to fit the gamut at that L (the engine keeps L, not chroma)."""
    lum = lightness(np.array([[gray_value]], np.uint8))[0, 0]
    a, b = rgb_to_ab(rgb)
    shown = float_to_code(lab_to_rgb_keep_lightness(np.array([lum, a, b], np.float32)), np.uint8)
    return rgb_to_lab(shown)[1:]


# -- output size, dtype and lightness ------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_output_size_dtype_and_lightness(tiny_engine: Engine, gray_photo: np.ndarray, dtype: type) -> None:
    image = gray_photo.astype(dtype) * (257 if dtype == np.uint16 else 1)
    hints = [Hint(0.2, 0.3, (180, 40, 35)), Hint(0.8, 0.7, (30, 90, 200))]
    out = tiny_engine.colorize(image, hints)
    assert out.shape == image.shape + (3,)
    assert out.dtype == dtype
    assert out.flags.c_contiguous
    np.testing.assert_allclose(lightness(out), lightness(image), atol=L_TOL[dtype])
    # The colour is real: the output is not a gray copy of the input.
    assert np.abs(rgb_to_lab(out)[..., 1:]).max() > 10


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_lightness_is_kept_for_random_images_and_strong_hints(tiny_engine: Engine, dtype: type) -> None:
    image = random_gray((37, 53), dtype, seed=5)
    hints = [Hint(x, y, rgb, size=0.2) for x, y, rgb in
             ((0.1, 0.1, (255, 0, 0)), (0.9, 0.1, (0, 255, 0)), (0.5, 0.9, (0, 0, 255)), (0.5, 0.5, (255, 0, 255)))]
    out = tiny_engine.colorize(image, hints)
    np.testing.assert_allclose(lightness(out), lightness(image), atol=L_TOL[dtype])


def test_rgb_and_rgba_inputs_are_treated_as_their_lightness(tiny_engine: Engine) -> None:
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, size=(30, 40, 3)).astype(np.uint8)
    out = tiny_engine.colorize(rgb)
    np.testing.assert_allclose(lightness(out), lightness(rgb), atol=L_TOL[np.uint8])
    # The same lightness as a gray image gives the same result: only L is used.
    lum = lightness(rgb)
    gray_same_l = float_to_code(lab_to_rgb(np.stack([lum, 0 * lum, 0 * lum], -1)), np.uint16)[..., 0]
    rgb16 = rgb.astype(np.uint16) * 257
    out_rgb16 = tiny_engine.colorize(rgb16)
    out_gray16 = tiny_engine.colorize(gray_same_l)
    assert np.abs(out_rgb16.astype(np.int64) - out_gray16.astype(np.int64)).max() <= 257 * 2
    # A sepia scan: the tint is discarded, not kept as colour.
    sepia = np.stack([np.full((20, 20), v) for v in (170, 140, 100)], -1).astype(np.uint8)
    out_sepia = tiny_engine.colorize(sepia)
    np.testing.assert_allclose(lightness(out_sepia), lightness(sepia), atol=L_TOL[np.uint8])
    assert np.abs(rgb_to_lab(out_sepia)[..., 1:]).max() < 2  # no hints, blank image: no invented tint
    rgba = np.dstack([rgb, rng.integers(0, 256, size=(30, 40)).astype(np.uint8)])
    out_rgba = tiny_engine.colorize(rgba)
    assert out_rgba.shape == (30, 40, 3)
    np.testing.assert_array_equal(out_rgba, out)


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (1, 97), (97, 1), (2, 1), (3, 5), (9, 700), (700, 9)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_tiny_and_thin_images(tiny_engine: Engine, shape: tuple[int, int], dtype: type) -> None:
    image = random_gray(shape, dtype, seed=sum(shape))
    out = tiny_engine.colorize(image, [Hint(0.5, 0.5, (0, 160, 60), size=1.0)])
    assert out.shape == shape + (3,) and out.dtype == dtype
    np.testing.assert_allclose(lightness(out), lightness(image), atol=L_TOL[dtype])
    rgb = tiny_engine.colorize(np.dstack([image] * 3))
    assert rgb.shape == shape + (3,)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (37, 53), (700, 9)])
def test_a_model_without_the_full_resolution_level_keeps_size_and_lightness(tmp_path: Path,
                                                                            shape: tuple[int, int]) -> None:
    import torch

    from colorstudio.core.checkpoint import save_model
    from colorstudio.core.model import PRESETS, ColorNet

    torch.manual_seed(1)
    net = ColorNet(PRESETS["lite"]).eval()
    with torch.no_grad():
        for t in net.model_out.parameters():
            t.normal_(0, 0.1)
    save_model(tmp_path / "lite.pt", net)
    engine = load_engine(tmp_path / "lite.pt", device="cpu")
    image = random_gray(shape, seed=sum(shape))
    out = engine.colorize(image, [Hint(0.5, 0.5, (0, 160, 60), size=1.0)])
    assert out.shape == shape + (3,)
    np.testing.assert_allclose(lightness(out), lightness(image), atol=L_TOL[np.uint8])


def test_non_contiguous_and_read_only_inputs(tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    flipped = gray_photo[:, ::-1]
    transposed = gray_photo.T
    assert not flipped.flags.c_contiguous and not transposed.flags.c_contiguous
    np.testing.assert_array_equal(tiny_engine.colorize(flipped), tiny_engine.colorize(flipped.copy()))
    np.testing.assert_array_equal(tiny_engine.colorize(transposed), tiny_engine.colorize(transposed.copy()))
    frozen = gray_photo.copy()
    frozen.flags.writeable = False
    tiny_engine.colorize(frozen)


def test_input_array_is_not_modified(tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    rgb = np.dstack([gray_photo] * 3)
    before = rgb.copy()
    tiny_engine.colorize(rgb, [Hint(0.5, 0.5, (255, 0, 0))])
    np.testing.assert_array_equal(rgb, before)


# -- hints and determinism -----------------------------------------------------------------

def test_hint_chroma_appears_at_the_hint(tiny_engine: Engine) -> None:
    # The tiny test network starts as the edge-aware fill of the hints: chroma follows the hints exactly.
    image = np.full((60, 80), 118, np.uint8)
    image[:, 40:] = 160  # an edge between two flat regions
    red, blue = Hint(0.25, 0.5, (180, 40, 35), size=0.05), Hint(0.75, 0.5, (40, 60, 200), size=0.05)
    out = tiny_engine.colorize(image, [red, blue])
    red_shown, blue_shown = shown_chroma(118, red.rgb), shown_chroma(160, blue.rgb)
    assert np.linalg.norm(chroma_at(out, 30, 20) - red_shown) < 4
    assert np.linalg.norm(chroma_at(out, 30, 60) - blue_shown) < 4
    # The colour changes at the edge of the photo (columns 39 | 40), not gradually between the hints.
    jump = np.linalg.norm(chroma_at(out, 30, 40) - chroma_at(out, 30, 39))
    assert jump > 0.5 * np.linalg.norm(red_shown - blue_shown)
    for col in range(0, 80, 3):
        near, far = (red_shown, blue_shown) if col < 40 else (blue_shown, red_shown)
        assert np.linalg.norm(chroma_at(out, 30, col) - near) < np.linalg.norm(chroma_at(out, 30, col) - far)


def test_hints_apply_at_the_same_place_at_any_resolution(tiny_engine: Engine) -> None:
    small = np.full((45, 60), 118, np.uint8)
    small[:, 30:] = 170
    large = np.kron(small, np.ones((8, 8), np.uint8))  # 360 x 480: the network runs at the working size
    hints = [Hint(0.25, 0.5, (180, 40, 35), size=0.1), Hint(0.75, 0.5, (40, 60, 200), size=0.1)]
    out_small = tiny_engine.colorize(small, hints)
    out_large = tiny_engine.colorize(large, hints)
    for hint, gray in zip(hints, (118, 170)):
        want = shown_chroma(gray, hint.rgb)
        r, c = int(hint.y * 45), int(hint.x * 60)
        assert np.linalg.norm(chroma_at(out_small, r, c) - want) < 5
        assert np.linalg.norm(chroma_at(out_large, r * 8 + 4, c * 8 + 4) - want) < 5


def test_same_inputs_give_the_same_output(tiny_model_path: Path, tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    hints = [Hint(0.3, 0.3, (200, 120, 40)), Hint(0.6, 0.8, (40, 120, 200))]
    first = tiny_engine.colorize(gray_photo, hints)
    tiny_engine.colorize(random_gray((50, 50)), [])  # something else in between
    again = tiny_engine.colorize(gray_photo.copy(), list(hints))
    other_engine = load_engine(tiny_model_path, device="cpu").colorize(gray_photo, tuple(hints))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, other_engine)


def test_different_hints_give_different_output(tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    a = tiny_engine.colorize(gray_photo, [Hint(0.3, 0.3, (200, 40, 40))])
    b = tiny_engine.colorize(gray_photo, [Hint(0.3, 0.3, (40, 40, 200))])
    c = tiny_engine.colorize(gray_photo, [Hint(0.3, 0.3, (200, 40, 40)), Hint(0.9, 0.9, (40, 200, 40))])
    assert not np.array_equal(a, b) and not np.array_equal(a, c)


def test_saturation_zero_gives_gray(tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    out = tiny_engine.colorize(gray_photo, [Hint(0.3, 0.3, (200, 40, 40))], saturation=0.0)
    assert np.abs(out.astype(int) - out[..., :1].astype(int)).max() <= 1
    np.testing.assert_allclose(lightness(out), lightness(gray_photo), atol=L_TOL[np.uint8])


def test_thousands_of_hints(tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    hints = [Hint(float(x), float(y), (int(r), 100, 50)) for x, y, r in
             zip(rng.random(3000), rng.random(3000), rng.integers(0, 256, 3000))]
    hints += [Hint(0.5, 0.5, (0, 0, 255))] * 100  # duplicate points
    out = tiny_engine.colorize(gray_photo, hints)
    assert out.shape == gray_photo.shape + (3,)
    np.testing.assert_allclose(lightness(out), lightness(gray_photo), atol=L_TOL[np.uint8])


# -- suggest -------------------------------------------------------------------------------

def test_suggest_returns_k_distinct_colours(tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    for k in (1, 3, 8, 16):
        colours = tiny_engine.suggest(gray_photo, [], 0.4, 0.6, k=k)
        assert len(colours) == k
        assert len(set(colours)) == k
        assert all(isinstance(c, tuple) and len(c) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in c)
                   for c in colours)
        # Each suggestion has the photo's lightness at that point (only chroma is suggested).
        lum = lightness(gray_photo)[int(0.6 * 96), int(0.4 * 128)]
        for c in colours:
            assert abs(rgb_to_lab(np.array(c, np.uint8))[0] - lum) < 1.5
    # At pure black every colour is black: fewer, still distinct, never a crash.
    black = tiny_engine.suggest(np.zeros((20, 20), np.uint8), [], 0.5, 0.5, k=8)
    assert 1 <= len(black) <= 8 and len(set(black)) == len(black)


def test_suggest_first_colour_is_the_one_shown(tiny_engine: Engine) -> None:
    image = np.full((40, 40), 120, np.uint8)
    hint = Hint(0.5, 0.5, (40, 160, 60), size=0.1)
    shown = tiny_engine.colorize(image, [hint])[20, 20]
    first = tiny_engine.suggest(image, [hint], 0.5, 0.5, k=4)[0]
    assert np.abs(np.array(first) - shown.astype(int)).max() <= 3


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"k": 0}, "k must be"), ({"k": -1}, "k must be"), ({"k": 2.5}, "k must be"), ({"k": True}, "k must be"),
    ({"x": -0.1}, "x must be"), ({"y": 1.5}, "y must be"), ({"x": float("nan")}, "x must be"),
    ({"y": "0.5"}, "y must be"),
])
def test_suggest_bad_arguments(tiny_engine: Engine, gray_photo: np.ndarray, kwargs: dict, match: str) -> None:
    args = {"x": 0.5, "y": 0.5, "k": 4}
    args.update(kwargs)
    wrong_type = isinstance(args["k"], (bool, float)) or isinstance(args["y"], str)
    with pytest.raises(TypeError if wrong_type else ValueError, match=match):
        tiny_engine.suggest(gray_photo, [], args["x"], args["y"], k=args["k"])


def test_suggest_takes_numpy_numbers_as_hint_does(tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    want = tiny_engine.suggest(gray_photo, [], 0.5, 0.25, k=4)
    assert tiny_engine.suggest(gray_photo, [], np.float32(0.5), np.float64(0.25), k=np.int64(4)) == want
    assert tiny_engine.suggest(gray_photo, [], np.int64(0), 0.25, k=2) == tiny_engine.suggest(gray_photo, [], 0.0,
                                                                                             0.25, k=2)


def test_a_big_endian_16_bit_image_is_a_16_bit_image(tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    native = gray_photo.astype(np.uint16) * 257
    out = tiny_engine.colorize(native.astype(">u2"))
    np.testing.assert_array_equal(out, tiny_engine.colorize(native))
    assert out.dtype == np.uint16


@pytest.mark.parametrize("size", [0, -5, 3.7, "big", True])
def test_a_calls_working_size_is_checked_like_the_engines(tiny_engine: Engine, gray_photo: np.ndarray,
                                                         size: object) -> None:
    with pytest.raises(ValueError, match="working_size must be an integer >= 16"):
        tiny_engine.colorize(gray_photo, working_size=size)  # type: ignore[arg-type]


def test_a_bad_setting_in_a_model_file_names_the_file(tiny_model_path: Path, tmp_path: Path) -> None:
    import torch

    data = torch.load(tiny_model_path, weights_only=True)
    data["meta"]["vividness"] = -1.0
    bad = tmp_path / "odd.pt"
    torch.save(data, bad)
    with pytest.raises(ModelFileError, match=r"odd\.pt: invalid setting in the model file: vividness"):
        load_engine(bad, device="cpu")
    with pytest.raises(ValueError, match="vividness") as caught:  # the caller's own value: their error
        load_engine(tiny_model_path, device="cpu", vividness=-1.0)
    assert not isinstance(caught.value, ModelFileError)


def test_a_torch_device_is_checked_as_its_name_is(tiny_model_path: Path) -> None:
    import torch

    assert load_engine(tiny_model_path, device=torch.device("cpu")).device.type == "cpu"
    with pytest.raises(ValueError, match="unknown device 'meta'"):
        load_engine(tiny_model_path, device=torch.device("meta"))


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        ([[0, 1], [2, 3]], TypeError, "numpy array"),
        (None, TypeError, "numpy array"),
        ("photo.jpg", TypeError, "numpy array"),
        (np.zeros((4, 4), np.float32), TypeError, "uint8 or uint16"),
        (np.zeros((4, 4), np.float64), TypeError, "uint8 or uint16"),
        (np.zeros((4, 4), np.int32), TypeError, "uint8 or uint16"),
        (np.zeros((4, 4), bool), TypeError, "uint8 or uint16"),
        (np.zeros((4, 4), np.int8), TypeError, "uint8 or uint16"),
        (np.zeros(16, np.uint8), ValueError, r"\(H, W\)"),
        (np.zeros((4, 4, 2), np.uint8), ValueError, r"\(H, W\)"),
        (np.zeros((4, 4, 5), np.uint8), ValueError, r"\(H, W\)"),
        (np.zeros((1, 4, 4, 3), np.uint8), ValueError, r"\(H, W\)"),
        (np.zeros((0, 4), np.uint8), ValueError, "at least one pixel"),
        (np.zeros((4, 0, 3), np.uint8), ValueError, "at least one pixel"),
        (np.array(7, np.uint8), ValueError, r"\(H, W\)"),
        (np.uint8(7), TypeError, "numpy array"),
    ],
    ids=["list", "None", "str", "float32", "float64", "int32", "bool", "int8", "1-D", "2 channels", "5 channels",
         "batch", "no rows", "no columns", "0-d array", "numpy scalar"],
)
def test_bad_images_raise_clear_errors(tiny_engine: Engine, image: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        tiny_engine.colorize(image)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hints", "match"),
    [
        ("#ff0000", "sequence of Hint"),
        (5, "sequence of Hint"),
        ([(0.5, 0.5, (255, 0, 0))], r"hints\[0\]"),
        ([{"x": 0.5, "y": 0.5, "color": "#ff0000"}], r"hints\[0\]"),
        ([Hint(0.5, 0.5, (1, 2, 3)), None], r"hints\[1\]"),
    ],
)
def test_bad_hints_raise_type_error(tiny_engine: Engine, gray_photo: np.ndarray, hints: object, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        tiny_engine.colorize(gray_photo, hints)  # type: ignore[arg-type]


def test_none_hints_mean_no_hints(tiny_engine: Engine, gray_photo: np.ndarray) -> None:
    np.testing.assert_array_equal(tiny_engine.colorize(gray_photo, None), tiny_engine.colorize(gray_photo, []))


@pytest.mark.parametrize("saturation", [-0.5, float("nan"), float("inf"), "1"])
def test_bad_saturation(tiny_engine: Engine, gray_photo: np.ndarray, saturation: object) -> None:
    with pytest.raises(ValueError, match="saturation"):
        tiny_engine.colorize(gray_photo, saturation=saturation)  # type: ignore[arg-type]


@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:x", "cuda:-1", "", "cpu:0 ", "vulkan"])
def test_unknown_device_raises_device_error(tiny_model_path: Path, device: str) -> None:
    with pytest.raises(DeviceError, match="device"):
        load_engine(tiny_model_path, device=device)


def test_unavailable_devices_raise_device_error(tiny_model_path: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA"):
            load_engine(tiny_model_path, device="cuda")
    with pytest.raises(DeviceError, match="cuda:99"):
        load_engine(tiny_model_path, device="cuda:99")
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        with pytest.raises(DeviceError, match="mps"):
            load_engine(tiny_model_path, device="mps")


def test_device_names_are_forgiving_about_case(tiny_model_path: Path) -> None:
    assert str(load_engine(tiny_model_path, device="CPU").device) == "cpu"
    assert str(load_engine(tiny_model_path, device="auto").device) in ("cpu", "cuda", "mps")


def test_non_string_device_is_a_type_error(tiny_model_path: Path) -> None:
    with pytest.raises(TypeError, match="device"):
        load_engine(tiny_model_path, device=0)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [0, 8, 15, -256, 2.5, True])
def test_bad_working_size(tiny_model_path: Path, size: object) -> None:
    with pytest.raises(ValueError, match="working size"):
        load_engine(tiny_model_path, device="cpu", working_size=size)  # type: ignore[arg-type]


@pytest.mark.parametrize("native", [-1, 8, 15, 100.0, True, "160"])
def test_bad_native_size(tiny_model_path: Path, native: object) -> None:
    with pytest.raises(ValueError, match="native_size"):
        load_engine(tiny_model_path, device="cpu", native_size=native)  # type: ignore[arg-type]


def _resized_ab(pred_ab: np.ndarray, h: int, w: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(np.moveaxis(pred_ab, -1, 0)))[None]
    return np.moveaxis(F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)[0].numpy(), 0, -1)


def _raw_engine(path: Path, native: int, blend: float = 25.0) -> Engine:
    engine = load_engine(path, device="cpu", working_size=128, vividness=1.0, trust_hints=0.0, hint_correction=1.0,
                         native_size=native)
    engine.scale_blend = blend
    return engine


@pytest.mark.parametrize("count", [0, 1, 5, 30])
def test_native_size_runs_the_network_there_under_a_share_of_the_working_size_fill(count: int) -> None:
    """The network runs at its native size; with n hints the working-size hint fill makes up
    n / (n + scale_blend) of the fill under the network's correction. Raw settings (no gain).
    Trained weights: random ones give a nearly constant output."""
    photo = gray_of(synthetic_photo(3))
    rng = np.random.default_rng(count)
    hints = [Hint(float(x), float(y), tuple(int(v) for v in rng.integers(0, 256, 3)))
             for x, y in rng.uniform(0.05, 0.95, (count, 2))]
    blended = _raw_engine(SHIPPED_MODEL, 64, blend=10.0).predict(photo, hints)
    plain = _raw_engine(SHIPPED_MODEL, 0)
    at_native = plain.predict(photo, hints, working_size=64)
    assert at_native.ab.shape[:2] == (48, 64)
    at_working = plain.predict(photo, hints, working_size=128)
    assert blended.ab.shape == at_working.ab.shape == (96, 128, 2)
    share = count / (count + 10.0)
    native_ab, native_fill = _resized_ab(at_native.ab, 96, 128), _resized_ab(at_native.fill, 96, 128)
    fill = (1 - share) * native_fill + share * at_working.fill
    np.testing.assert_allclose(blended.fill, fill, atol=1e-3)
    np.testing.assert_allclose(blended.ab, native_ab - native_fill + fill, atol=1e-3)
    assert np.abs(blended.ab - at_working.ab).max() > 0.5  # not the working-size pass
    if count > 1:  # (one hint fills the photo with its colour at any size)
        assert np.abs(blended.ab - native_ab).max() > 0.5  # the working-size fill counts
    assert blended.feature_shape == (48, 64) and blended.features.shape[1:] == at_native.features.shape[1:]


def test_native_size_plays_no_part_for_photos_at_most_that_size(tiny_model_path: Path) -> None:
    photo = random_gray((40, 60), seed=4)
    hints = [Hint(0.5, 0.5, (200, 40, 40))]
    native = load_engine(tiny_model_path, device="cpu", native_size=64)
    plain = load_engine(tiny_model_path, device="cpu", native_size=0)
    np.testing.assert_array_equal(native.colorize(photo, hints), plain.colorize(photo, hints))
    assert native._photo_cache is not None and native._photo_cache.native is None


def test_native_size_comes_from_the_model_file(tmp_path: Path) -> None:
    from colorstudio.core.checkpoint import save_model
    from colorstudio.core.model import PRESETS, ColorNet

    path = tmp_path / "native.pt"
    save_model(path, ColorNet(PRESETS["tiny"]).eval(), meta={"native_size": 64, "scale_blend": 5.0})
    engine = load_engine(path, device="cpu")
    assert (engine.native_size, engine.scale_blend) == (64, 5.0)
    assert load_engine(path, device="cpu", native_size=0).native_size == 0
    photo = random_gray((96, 128), seed=5)
    out = engine.colorize(photo, [Hint(0.2, 0.3, (30, 160, 40))])
    assert out.shape == (96, 128, 3)
    assert engine._photo_cache is not None and engine._photo_cache.native is not None
    assert engine._photo_cache.native.lum.shape == (48, 64)
    save_model(path, ColorNet(PRESETS["tiny"]).eval(), meta={"native_size": "big"})
    with pytest.raises(ValueError, match="native_size"):
        load_engine(path, device="cpu")


def test_missing_model_file_raises_model_file_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model file"):
        load_engine(tmp_path / "nope.pt", device="cpu")


def test_bad_model_argument_type() -> None:
    with pytest.raises(TypeError, match="model must be"):
        load_engine(3.5, device="cpu")  # type: ignore[arg-type]


# -- the shipped weights -------------------------------------------------------------------

def synthetic_photo(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A colour 'photo': a smooth two-colour gradient and a few flat coloured shapes."""
    rng = np.random.default_rng(seed)
    h, w = size
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    top, bottom = rng.uniform(0.15, 0.95, 3), rng.uniform(0.15, 0.95, 3)
    img = top * (1 - y[..., None]) + bottom * y[..., None]
    for _ in range(4):
        cy, cx, ry, rx = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.08, 0.25), rng.uniform(0.08, 0.3)
        inside = ((y - cy) / ry) ** 2 + ((x * max(h, w) / w - cx) / rx) ** 2 < 1
        img[inside] = rng.uniform(0.1, 0.95, 3)
    return float_to_code(img, np.uint8)


def gray_of(rgb: np.ndarray) -> np.ndarray:
    lum = lightness(rgb)
    return float_to_code(lab_to_rgb(np.stack([lum, 0 * lum, 0 * lum], -1)), np.uint8)[..., 0]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def hints_from(rgb: np.ndarray, count: int, seed: int) -> list[Hint]:
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    hints = []
    for _ in range(count):
        r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
        hints.append(Hint((c + 0.5) / w, (r + 0.5) / h, tuple(int(v) for v in rgb[r, c]), size=0.03))
    return hints


def check_beats_gray(engine: Engine, photos: list[np.ndarray], hint_count: int = 10) -> tuple[float, float]:
    ours, baseline = [], []
    for i, truth in enumerate(photos):
        gray = gray_of(truth)
        out = engine.colorize(gray, hints_from(truth, hint_count, seed=i))
        ours.append(psnr(out, truth))
        baseline.append(psnr(np.dstack([gray] * 3), truth))
    return float(np.mean(ours)), float(np.mean(baseline))


def check_hint_honoured(engine: Engine) -> None:
    rng = np.random.default_rng(4)
    image = np.clip(118 + rng.normal(0, 6, (128, 128)), 0, 255).astype(np.uint8)  # mid-gray, textured
    for rgb in ((190, 45, 40), (40, 150, 60), (50, 80, 210)):
        hint = Hint(0.3, 0.6, rgb, size=0.04)
        want = np.array(rgb_to_ab(rgb))
        with_hint = rgb_to_lab(engine.colorize(image, [hint])[70:84, 32:45]).reshape(-1, 3)[:, 1:].mean(0)
        without = rgb_to_lab(engine.colorize(image, [])[70:84, 32:45]).reshape(-1, 3)[:, 1:].mean(0)
        assert np.linalg.norm(with_hint - want) < 0.5 * np.linalg.norm(want), (rgb, with_hint, want)
        assert np.linalg.norm(with_hint - want) < np.linalg.norm(without - want), (rgb, with_hint, without)


def test_checks_of_the_shipped_model_hold_for_the_hint_fill(tiny_engine: Engine) -> None:
    # The tiny test network is its hint fill; the shipped-model checks must hold for it too,
    # so they test something real even where no shipped weights exist.
    check_hint_honoured(tiny_engine)
    ours, gray = check_beats_gray(tiny_engine, [synthetic_photo(s) for s in range(3)])
    assert ours > gray + 1.0, (ours, gray)


@pytest.mark.parametrize("model", shipped_models())
def test_shipped_model_honours_hints(model: Path) -> None:
    engine = load_engine(model, device="cpu")
    check_hint_honoured(engine)


@pytest.mark.parametrize("model", shipped_models())
def test_shipped_model_beats_gray_on_generated_images(model: Path) -> None:
    engine = load_engine(model, device="cpu")
    ours, gray = check_beats_gray(engine, [synthetic_photo(s) for s in range(4)])
    assert ours > gray + 1.0, (ours, gray)


@pytest.mark.parametrize("model", shipped_models())
@requires_shared_data()
def test_shipped_model_beats_gray_on_validation_photos(model: Path) -> None:
    from colorstudio.core.images import load_pixels

    engine = load_engine(model, device="cpu")
    paths = sorted((SHARED_DATA / "val256").glob("*.jpg"))[::70][:5]
    photos = [load_pixels(p) for p in paths]
    photos = [p for p in photos if p.ndim == 3]
    ours, gray = check_beats_gray(engine, photos)
    assert ours > gray + 0.5, (ours, gray)


@pytest.mark.parametrize("model", shipped_models())
def test_shipped_model_loads_by_name_and_keeps_lightness(model: Path, gray_photo: np.ndarray) -> None:
    engine = load_engine(model.stem, device="cpu")
    assert engine.name == model.stem
    out = engine.colorize(gray_photo)
    np.testing.assert_allclose(lightness(out), lightness(gray_photo), atol=L_TOL[np.uint8])


def test_output_does_not_depend_on_the_previous_image(tiny_model_path: Path) -> None:
    rng = np.random.default_rng(0)
    first = np.kron(rng.integers(0, 256, (6, 6)), np.ones((100, 100))).astype(np.uint8)  # 600 x 600: step 2
    second = first.copy()
    second[1::2, 1::2] = 255 - first[1::2, 1::2]  # differs only where the cache key does not look
    hints = [Hint(0.3, 0.3, (200, 30, 30), size=0.1), Hint(0.7, 0.7, (30, 30, 200), size=0.1)]
    used = load_engine(tiny_model_path, device="cpu")
    used.colorize(first, hints)
    after_first = used.colorize(second, hints)
    fresh = load_engine(tiny_model_path, device="cpu").colorize(second, hints)
    np.testing.assert_array_equal(after_first, fresh)


@pytest.mark.parametrize("keep_full", [True, False])
def test_new_hints_on_the_same_photo_reuse_its_data_and_match_a_fresh_engine(
        tiny_model_path: Path, gray_photo: np.ndarray, monkeypatch: pytest.MonkeyPatch, keep_full: bool) -> None:
    import colorstudio.core.engine as engine_module

    if not keep_full:  # the path big scans take: full-resolution L recomputed per call
        monkeypatch.setattr(engine_module, "_KEEP_FULL_PIXELS", 0)
    used = load_engine(tiny_model_path, device="cpu")
    used.colorize(gray_photo, [Hint(0.3, 0.3, (200, 30, 30))])
    photo = used._photo_cache
    assert photo is not None and (photo.lum_full is not None) == keep_full
    hints = [Hint(0.35, 0.3, (200, 30, 30)), Hint(0.7, 0.6, (30, 30, 200))]  # the hint dragged, one added
    cached = used.colorize(gray_photo.copy(), hints)
    assert used._photo_cache is photo  # the photo's L and affinity pyramid were not recomputed
    fresh = load_engine(tiny_model_path, device="cpu").colorize(gray_photo, hints)
    np.testing.assert_array_equal(cached, fresh)
    used.colorize(gray_photo[:, ::-1], hints)
    assert used._photo_cache is not photo


# -- colorize_region: a part of the result at full detail ----------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_region_is_exactly_that_part_of_colorize(tiny_engine: Engine, dtype: type) -> None:
    image = random_gray((300, 420), dtype, seed=5)
    hints = [Hint(0.3, 0.4, (200, 40, 30)), Hint(0.8, 0.7, (30, 60, 200))]
    whole = tiny_engine.colorize(image, hints, saturation=1.3)
    for left, top, width, height in [(0, 0, 420, 300), (37, 101, 200, 99), (419, 299, 1, 1)]:
        part = tiny_engine.colorize_region(image, hints, (left, top, width, height), saturation=1.3)
        assert part.dtype == dtype
        np.testing.assert_array_equal(part, whole[top:top + height, left:left + width])


def test_region_takes_colour_from_the_preview_and_detail_from_the_full_photo(tiny_engine: Engine) -> None:
    import cv2

    y, x = np.mgrid[0:900, 0:1200]
    full = np.where((x // 3 + y // 5) % 2 == 0, 60, 190).astype(np.uint8)  # detail no preview can hold
    preview = cv2.resize(full, (300, 225), interpolation=cv2.INTER_AREA)
    hints = [Hint(0.5, 0.5, (40, 160, 60))]
    part = tiny_engine.colorize_region(preview, hints, (600, 300, 240, 160), full=full)
    assert part.shape == (160, 240, 3)
    # Every pixel keeps the full-resolution photo's lightness ...
    np.testing.assert_allclose(rgb_to_lab(part)[..., 0], lightness(full[300:460, 600:840]), atol=L_TOL[np.uint8])
    # ... and is what colorizing the full photo gives there, up to the working-size input
    # being reduced from the preview rather than from the photo itself.
    exported = tiny_engine.colorize(full, hints)[300:460, 600:840]
    assert np.abs(part.astype(int) - exported).mean() < 1.5
    # The preview's own result, enlarged, has lost the detail.
    up = cv2.resize(tiny_engine.colorize(preview, hints), (1200, 900), interpolation=cv2.INTER_LINEAR)
    assert np.abs(up[300:460, 600:840].astype(int) - exported).mean() > 20


def test_region_rendered_smaller_averages_the_full_detail(tiny_engine: Engine) -> None:
    y, x = np.mgrid[0:400, 0:600]
    image = (128 + 70 * np.sin(x / 23.0) * np.cos(y / 17.0)).astype(np.uint8)
    hints = [Hint(0.2, 0.2, (220, 180, 40))]
    full = tiny_engine.colorize_region(image, hints, (100, 50, 400, 300))
    half = tiny_engine.colorize_region(image, hints, (100, 50, 400, 300), (200, 150))
    assert half.shape == (150, 200, 3)
    pooled = full.astype(np.float64).reshape(150, 2, 200, 2, 3).mean((1, 3))
    assert np.abs(half - pooled).mean() < 2.0


@pytest.mark.parametrize(("region", "size", "error", "match"), [
    ((0, 0, 0, 10), None, ValueError, "not inside"),
    ((-1, 0, 10, 10), None, ValueError, "not inside"),
    ((60, 0, 10, 10), None, ValueError, "not inside"),
    ((0, 0, 10), None, TypeError, "4 integers"),
    ((0, 0, 10.5, 10), None, TypeError, "4 integers"),
    ((0, 0, 10, 10), (0, 5), ValueError, "positive integers"),
    ((0, 0, 10, 10), (5, 5.5), ValueError, "positive integers"),
])
def test_region_bad_arguments(tiny_engine: Engine, region: object, size: object, error: type, match: str) -> None:
    image = random_gray((40, 64))
    with pytest.raises(error, match=match):
        tiny_engine.colorize_region(image, (), region, size)  # type: ignore[arg-type]


def test_auto_passes_over_a_gpu_that_fails_its_test_run(
        tiny_model_path: Path, gray_photo: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    import colorstudio.core.engine as engine_module
    from colorstudio.cli import main

    # A device that accepts the model but cannot run it, as a GPU the installed torch has
    # no kernels for does ("no kernel image is available for execution on the device").
    monkeypatch.setattr(engine_module, "resolve_device",
                        lambda name="auto": name if isinstance(name, torch.device) else torch.device("meta"))
    engine = load_engine(tiny_model_path, device="auto")
    assert engine.device.type == "cpu"
    assert "the GPU (meta) failed a test run, so the CPU is used" in engine.device_note
    assert engine.info()["device_note"] == engine.device_note
    assert engine.colorize(gray_photo).shape == (*gray_photo.shape, 3)
    # A device asked for by name is used as asked: its failure is the user's to see.
    assert load_engine(tiny_model_path, device="cuda").device.type == "meta"
    # The command line says so.
    src = tmp_path / "gray.png"
    Image.fromarray(gray_photo).save(src)
    assert main(["colorize", str(src), "-o", str(src.with_name("c.png")), "--model", str(tiny_model_path)]) == 0
    assert "note: the GPU (meta) failed a test run" in capsys.readouterr().err


def test_16_bit_output_keeps_the_lightness_of_saturated_shadows(tiny_engine: Engine) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (48, 1))  # black to white
    hints = [Hint(x, y, rgb) for x in (0.05, 0.3, 0.6) for y, rgb in ((0.25, (0, 0, 255)), (0.75, (255, 0, 40)))]
    out = tiny_engine.colorize(ramp, hints)
    assert out.dtype == np.uint16
    assert np.abs(lightness(out) - lightness(ramp)).max() < 0.01  # about a 16-bit code; it was 0.08


def test_chroma_brought_to_full_size_keeps_the_scans_colour_edges() -> None:
    """The guided upsampling of compose, given the true chroma at a quarter of the size: what
    it loses is what an export loses where the prediction is right (around hints)."""
    import cv2
    from skimage import data

    from colorstudio.core.engine import Prediction, compose
    from colorstudio.train.evaluate import psnr

    rgb = data.astronaut()
    lab = rgb_to_lab(rgb)
    h, w = lab.shape[0] // 4, lab.shape[1] // 4
    pred = Prediction(lum=cv2.resize(lab[..., 0], (w, h), interpolation=cv2.INTER_AREA),
                      ab=cv2.resize(lab[..., 1:], (w, h), interpolation=cv2.INTER_AREA),
                      features=np.zeros((1, 1, 1), np.float32), feature_shape=(h, w))
    assert psnr(compose(lab[..., 0], pred, np.uint8), rgb) > 33.5  # 34.35; 3 x 3 windows (5 x 5 gave 32.14)
