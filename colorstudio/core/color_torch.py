"""sRGB <-> CIE Lab on torch tensors, the same formulas as `color.py`.

Used where whole batches (training) or whole scans (the engine's full-resolution
composition) are converted: torch runs these element-wise passes multi-threaded.
"""
from __future__ import annotations

import torch

from .color import _RGB2XYZ, _XYZ2RGB, XN, YN, ZN

_EPS = 216.0 / 24389.0
_KAPPA = 24389.0 / 27.0
_M = [[float(v) for v in row] for row in _XYZ2RGB]


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    return torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp_min(0) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin: torch.Tensor) -> torch.Tensor:
    lin = lin.clamp(0.0, 1.0)
    return torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp_min(1e-12) ** (1.0 / 2.4) - 0.055)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> (B, 3, H, W) Lab."""
    lin = srgb_to_linear(rgb)
    m = torch.as_tensor(_RGB2XYZ, dtype=rgb.dtype, device=rgb.device)
    white = torch.tensor([XN, YN, ZN], dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    xyz = torch.einsum("ij,bjhw->bihw", m, lin) / white
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS) ** (1.0 / 3.0), (_KAPPA * xyz + 16.0) / 116.0)
    return torch.stack([116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]), 200.0 * (f[:, 1] - f[:, 2])], dim=1)


def _finv(f: torch.Tensor) -> torch.Tensor:
    f3 = f * f * f
    return torch.where(f3 > _EPS, f3, (116.0 * f - 16.0) / _KAPPA)


def lab_to_linear(lum: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """L, a, b planes -> linear R, G, B planes, unclipped."""
    fy = (lum + 16.0) / 116.0
    x = _finv(fy + a / 500.0).mul_(XN)
    y = _finv(fy).mul_(YN)
    z = _finv(fy - b / 200.0).mul_(ZN)
    m = _M
    r = (x * m[0][0]).add_(y, alpha=m[0][1]).add_(z, alpha=m[0][2])
    g = (x * m[1][0]).add_(y, alpha=m[1][1]).add_(z, alpha=m[1][2])
    bl = (x * m[2][0]).add_(y, alpha=m[2][1]).add_(z, alpha=m[2][2])
    return r, g, bl


def _out_of_gamut(r: torch.Tensor, g: torch.Tensor, b: torch.Tensor, tol: float = 1e-6) -> torch.Tensor:
    # tol: linear light a 16-bit code is worth near black (1 / 65535 / 12.92); a looser one let
    # clamping shift the lightness of saturated shadows by up to 0.08 L in 16-bit output
    lo = torch.minimum(torch.minimum(r, g), b)
    hi = torch.maximum(torch.maximum(r, g), b)
    return (lo < -tol) | (hi > 1.0 + tol)


def lab_to_srgb_keep_lightness(lum: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                               iterations: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """L, a, b planes -> sRGB planes in [0, 1]; out-of-gamut chroma is reduced so L is kept."""
    r, g, bl = lab_to_linear(lum, a, b)
    bad = _out_of_gamut(r, g, bl)
    if bool(bad.any()):
        idx = bad.nonzero(as_tuple=True)
        sl, sa, sb = lum[idx], a[idx], b[idx]
        lo = torch.zeros_like(sl)
        hi = torch.ones_like(sl)
        for _ in range(iterations):
            mid = (lo + hi) * 0.5
            ok = ~_out_of_gamut(*lab_to_linear(sl, sa * mid, sb * mid))
            lo = torch.where(ok, mid, lo)
            hi = torch.where(ok, hi, mid)
        fr, fg, fb = lab_to_linear(sl, sa * lo, sb * lo)
        r[idx], g[idx], bl[idx] = fr, fg, fb
    return linear_to_srgb(r), linear_to_srgb(g), linear_to_srgb(bl)
