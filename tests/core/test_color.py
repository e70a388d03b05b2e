"""Colour conversion against scikit-image (the reference implementation)."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import color as skcolor

from colorstudio.core.color import (
    ab_to_rgb,
    float_to_code,
    lab_to_rgb,
    lab_to_rgb_keep_lightness,
    lightness,
    rgb_to_ab,
    rgb_to_lab,
)

# skimage uses the rounded CIE constants (0.008856, 7.787); ours are exact: tiny differences.
LAB_TOL = 2e-3


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_rgb_to_lab_matches_skimage_for_integer_images(rng: np.random.Generator, dtype: type) -> None:
    top = np.iinfo(dtype).max
    rgb = rng.integers(0, top + 1, size=(37, 53, 3)).astype(dtype)
    lab = rgb_to_lab(rgb)
    assert lab.shape == rgb.shape
    assert lab.dtype == np.float32
    np.testing.assert_allclose(lab, skcolor.rgb2lab(rgb), atol=LAB_TOL)


def test_rgb_to_lab_matches_skimage_for_float_images(rng: np.random.Generator) -> None:
    rgb = rng.random((41, 29, 3))
    np.testing.assert_allclose(rgb_to_lab(rgb), skcolor.rgb2lab(rgb), atol=LAB_TOL)
    np.testing.assert_allclose(rgb_to_lab(rgb.astype(np.float32)), skcolor.rgb2lab(rgb), atol=LAB_TOL)


def test_rgb_to_lab_extremes_and_primaries() -> None:
    rgb = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]],
                   dtype=np.uint8)
    lab = rgb_to_lab(rgb)
    np.testing.assert_allclose(lab, skcolor.rgb2lab(rgb[None])[0], atol=LAB_TOL)
    assert lab[0, 0] == pytest.approx(0.0, abs=1e-3)
    assert lab[1, 0] == pytest.approx(100.0, abs=1e-2)
    # Grays have no chroma.
    np.testing.assert_allclose(lab[[0, 1, 5], 1:], 0.0, atol=1e-2)


def test_rgb_to_lab_accepts_any_leading_shape(rng: np.random.Generator) -> None:
    rgb = rng.integers(0, 256, size=(2, 3, 4, 3)).astype(np.uint8)
    np.testing.assert_allclose(rgb_to_lab(rgb), skcolor.rgb2lab(rgb.reshape(-1, 1, 3)).reshape(rgb.shape),
                               atol=LAB_TOL)
    single = rgb_to_lab(np.array([200, 30, 90], dtype=np.uint8))
    assert single.shape == (3,)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_lightness_of_gray_and_rgb_matches_skimage(rng: np.random.Generator, dtype: type) -> None:
    top = np.iinfo(dtype).max
    gray = rng.integers(0, top + 1, size=(31, 17)).astype(dtype)
    expected_gray = skcolor.rgb2lab(np.stack([gray] * 3, axis=-1))[..., 0]
    got = lightness(gray)
    assert got.shape == gray.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected_gray, atol=LAB_TOL)
    rgb = rng.integers(0, top + 1, size=(31, 17, 3)).astype(dtype)
    np.testing.assert_allclose(lightness(rgb), skcolor.rgb2lab(rgb)[..., 0], atol=LAB_TOL)


def test_lightness_of_float_images(rng: np.random.Generator) -> None:
    rgb = rng.random((9, 11, 3)).astype(np.float32)
    np.testing.assert_allclose(lightness(rgb), skcolor.rgb2lab(rgb)[..., 0], atol=LAB_TOL)


def test_lab_to_rgb_matches_skimage_in_gamut(rng: np.random.Generator) -> None:
    lab = skcolor.rgb2lab(rng.random((23, 19, 3)))
    out = lab_to_rgb(lab)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, skcolor.lab2rgb(lab), atol=1e-4)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_round_trip_is_exact_on_code_values(rng: np.random.Generator, dtype: type) -> None:
    top = np.iinfo(dtype).max
    rgb = rng.integers(0, top + 1, size=(64, 64, 3)).astype(dtype)
    back = float_to_code(lab_to_rgb(rgb_to_lab(rgb)), dtype)
    assert back.dtype == dtype
    # float32 arithmetic: at most one code value off for 8 bit, a handful for 16 bit.
    max_err = 1 if dtype == np.uint8 else 24
    assert int(np.abs(back.astype(np.int64) - rgb.astype(np.int64)).max()) <= max_err
    if dtype == np.uint8:
        assert np.mean(back == rgb) > 0.99


def test_round_trip_of_every_8bit_gray() -> None:
    gray = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    np.testing.assert_array_equal(float_to_code(lab_to_rgb(rgb_to_lab(gray)), np.uint8), gray)


def test_keep_lightness_preserves_l_for_out_of_gamut_colours(rng: np.random.Generator) -> None:
    n = 2000
    lab = np.stack([rng.uniform(1, 99, n), rng.uniform(-127, 127, n), rng.uniform(-127, 127, n)], axis=-1)
    lab = lab.astype(np.float32)
    out = lab_to_rgb_keep_lightness(lab)
    assert out.shape == lab.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    # The gamut test allows 1e-4 of linear light outside [0, 1]; near black that is ~0.1 L.
    np.testing.assert_allclose(rgb_to_lab(out)[:, 0], lab[:, 0], atol=0.1)
    # The test is meaningful: plain clipping moves L by much more for these colours.
    clipped_l = rgb_to_lab(lab_to_rgb(lab))[:, 0]
    assert np.abs(clipped_l - lab[:, 0]).max() > 5.0


def test_keep_lightness_keeps_hue_direction_and_leaves_in_gamut_colours_alone(rng: np.random.Generator) -> None:
    lab = np.array([[50.0, 120.0, 0.0], [60.0, 0.0, -120.0]], dtype=np.float32)
    back = rgb_to_lab(lab_to_rgb_keep_lightness(lab))
    # chroma only shrinks towards gray: same sign, same direction
    assert back[0, 1] > 20 and abs(back[0, 2]) < 0.35 * back[0, 1]
    assert back[1, 2] < -20 and abs(back[1, 1]) < 0.35 * abs(back[1, 2])
    inside = skcolor.rgb2lab(rng.random((50, 3))[None])[0].astype(np.float32)
    np.testing.assert_allclose(lab_to_rgb_keep_lightness(inside), lab_to_rgb(inside), atol=1e-4)


def test_rgb_to_ab_and_ab_to_rgb() -> None:
    a, b = rgb_to_ab((180, 40, 35))
    ref = skcolor.rgb2lab(np.array([[[180, 40, 35]]], dtype=np.uint8))[0, 0]
    assert (a, b) == pytest.approx((ref[1], ref[2]), abs=LAB_TOL)
    assert ab_to_rgb(float(ref[0]), a, b) == pytest.approx((180, 40, 35), abs=1)
    # Any chroma gives a valid triple with the asked lightness.
    rgb = ab_to_rgb(30.0, 127.0, 127.0)
    assert all(isinstance(c, int) and 0 <= c <= 255 for c in rgb)
    assert rgb_to_lab(np.array(rgb, dtype=np.uint8))[0] == pytest.approx(30.0, abs=0.5)


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match="numpy array"):
        rgb_to_lab([[1, 2, 3]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        rgb_to_lab(np.zeros((4, 4, 4), dtype=np.uint8))
    with pytest.raises(TypeError, match="dtype"):
        rgb_to_lab(np.zeros((4, 4, 3), dtype=np.int32))
    with pytest.raises(ValueError, match="Lab"):
        lab_to_rgb(np.zeros((4, 2), dtype=np.float32))
