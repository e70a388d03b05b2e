"""sRGB <-> CIE Lab (D65, 2 degree observer), vectorised, for uint8/uint16/float images.

Lab units throughout: L in [0, 100], a and b roughly in [-110, 110].
"""
from __future__ import annotations

import numpy as np

# D65 reference white (Y normalised to 1).
XN, YN, ZN = 0.95047, 1.0, 1.08883

_RGB2XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    dtype=np.float64,
)
_XYZ2RGB = np.linalg.inv(_RGB2XYZ)

_EPS = 216.0 / 24389.0  # (6/29)^3
_KAPPA = 24389.0 / 27.0


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float32)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1.0 / 2.4) - 0.055).astype(np.float32)


_LUT_CACHE: dict[str, np.ndarray] = {}


def _linear_lut(dtype: np.dtype) -> np.ndarray:
    """Lookup table from integer code values to linear light (float32)."""
    key = np.dtype(dtype).name
    if key not in _LUT_CACHE:
        top = np.iinfo(dtype).max
        _LUT_CACHE[key] = _srgb_to_linear(np.arange(top + 1, dtype=np.float64) / top)
    return _LUT_CACHE[key]


def to_linear(image: np.ndarray) -> np.ndarray:
    """Code values (uint8, uint16, or float in [0, 1]) -> linear light float32."""
    if image.dtype == np.uint8 or image.dtype == np.uint16:
        return _linear_lut(image.dtype)[image]
    if np.issubdtype(image.dtype, np.floating):
        return _srgb_to_linear(image)
    raise TypeError(f"expected a uint8, uint16 or float image, got dtype {image.dtype}")


def _f(t: np.ndarray) -> np.ndarray:
    return np.where(t > _EPS, np.cbrt(t), (_KAPPA * t + 16.0) / 116.0).astype(np.float32)


def _finv(f: np.ndarray) -> np.ndarray:
    f3 = f * f * f
    return np.where(f3 > _EPS, f3, (116.0 * f - 16.0) / _KAPPA).astype(np.float32)


def _check_rgb(rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"expected a numpy array, got {type(rgb).__name__}")
    if rgb.ndim < 1 or rgb.shape[-1] != 3:
        raise ValueError(f"expected an RGB array shaped (..., 3), got shape {rgb.shape}")


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) uint8, uint16 or float in [0, 1] -> Lab float32 (..., 3)."""
    _check_rgb(rgb)
    lin = to_linear(rgb)
    xyz = lin @ _RGB2XYZ.T.astype(np.float32)
    fx = _f(xyz[..., 0] / XN)
    fy = _f(xyz[..., 1] / YN)
    fz = _f(xyz[..., 2] / ZN)
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1).astype(np.float32)


def lightness(image: np.ndarray) -> np.ndarray:
    """CIE L (float32, 0..100) of a grayscale (H, W) or RGB (H, W, 3) code-value image.

    A grayscale value v is the sRGB gray (v, v, v).
    """
    if image.ndim == 2:
        lin = to_linear(image)
        return (116.0 * _f(lin) - 16.0).astype(np.float32)
    _check_rgb(image)
    lin = to_linear(image)
    y = lin[..., 0] * np.float32(_RGB2XYZ[1, 0]) + lin[..., 1] * np.float32(_RGB2XYZ[1, 1])
    y += lin[..., 2] * np.float32(_RGB2XYZ[1, 2])
    return (116.0 * _f(y) - 16.0).astype(np.float32)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> linear RGB float32 (..., 3), unclipped."""
    lab = np.asarray(lab, dtype=np.float32)
    if lab.shape[-1] != 3:
        raise ValueError(f"expected a Lab array shaped (..., 3), got shape {lab.shape}")
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    xyz = np.stack([XN * _finv(fx), YN * _finv(fy), ZN * _finv(fz)], axis=-1)
    return (xyz @ _XYZ2RGB.T.astype(np.float32)).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> sRGB float32 in [0, 1], clipped per channel."""
    return _linear_to_srgb(lab_to_linear(lab))


def lab_to_rgb_keep_lightness(lab: np.ndarray, iterations: int = 7) -> np.ndarray:
    """Lab -> sRGB float32 in [0, 1], pulling out-of-gamut colours towards gray.

    Plain clipping changes the lightness of saturated colours; here the chroma of an
    out-of-gamut pixel is scaled down (bisection) until it fits, so L is preserved.
    """
    import torch

    from .color_torch import lab_to_srgb_keep_lightness  # one implementation, shared with the engine

    lab = np.ascontiguousarray(lab, dtype=np.float32)
    if lab.shape[-1] != 3:
        raise ValueError(f"expected a Lab array shaped (..., 3), got shape {lab.shape}")
    flat = lab.reshape(-1, 3)
    planes = [torch.from_numpy(np.ascontiguousarray(flat[:, c])) for c in range(3)]
    with torch.inference_mode():
        rgb = lab_to_srgb_keep_lightness(*planes, iterations=iterations)
    return np.stack([p.numpy() for p in rgb], axis=-1).astype(np.float32).reshape(lab.shape)


def float_to_code(rgb: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float [0, 1] -> uint8/uint16 code values with rounding."""
    top = np.iinfo(dtype).max
    return np.clip(np.rint(rgb * top), 0, top).astype(dtype)


def rgb_to_ab(rgb: tuple[int, int, int]) -> tuple[float, float]:
    """Chroma (a, b) of an sRGB 0..255 triple."""
    lab = rgb_to_lab(np.asarray(rgb, dtype=np.uint8).reshape(1, 3))[0]
    return float(lab[1]), float(lab[2])


def ab_to_rgb(l_value: float, a: float, b: float) -> tuple[int, int, int]:
    """An sRGB 0..255 triple for (L, a, b), chroma reduced to fit the gamut."""
    rgb = lab_to_rgb_keep_lightness(np.array([[l_value, a, b]], dtype=np.float32))[0]
    c = float_to_code(rgb, np.uint8)
    return int(c[0]), int(c[1]), int(c[2])
