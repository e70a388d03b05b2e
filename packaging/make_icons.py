"""Draw the ColorStudio app icon and write it in the formats each platform wants.

    python packaging/make_icons.py        # writes resources/icons/colorstudio.{png,ico,icns}

The design: a disc whose left side is a grayscale photo and whose right side is the
same gradient in colour, with one white "hint" dot where the colour starts. Rendered
at 4x and reduced, so the edges are smooth at every size. The generated files are
committed; rerun this only to change the design.
"""
from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
from PIL import Image

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZE = 256
SUPERSAMPLE = 4
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def draw_icon(size: int = SIZE) -> Image.Image:
    """(size, size) RGBA icon."""
    n = size * SUPERSAMPLE
    yy, xx = (np.mgrid[0:n, 0:n] + 0.5) / n  # pixel centres in [0, 1]
    dx, dy = xx - 0.5, yy - 0.5
    r = np.hypot(dx, dy)

    # Colour: a sunset, hue sweeping from orange (top) through rose and violet to blue (bottom).
    hues = (0.10 - 0.48 * yy[:, 0]) % 1.0
    ramp = np.array([colorsys.hsv_to_rgb(h, 0.70, 0.95) for h in hues])  # (n, 3)
    colour = np.broadcast_to(ramp[:, None, :], (n, n, 3))
    # Lightness falls off towards the rim, so the disc reads as a sphere-like photo.
    shade = 1.0 - 0.35 * _smoothstep(0.15, 0.46, r)
    colour = colour * shade[..., None]
    gray = (colour @ np.array([0.2126, 0.7152, 0.0722]))[..., None].repeat(3, axis=2)
    t = _smoothstep(0.35, 0.65, xx + 0.25 * (yy - 0.5))[..., None]  # lower left gray -> upper right colour
    rgb = gray * (1.0 - t) + colour * t

    radius, ring = 0.45, 0.018
    disc = r <= radius
    rim = (r > radius - ring) & disc
    rgb = np.where(rim[..., None], 0.93, rgb)

    # The hint dot: a white ring with the colour showing through its centre.
    hx, hy, hr = 0.60, 0.40, 0.055
    hd = np.hypot(xx - hx, yy - hy)
    rgb = np.where(((hd <= hr) & (hd > hr * 0.55))[..., None], 1.0, rgb)

    alpha = disc.astype(np.float64)
    img = np.dstack([np.clip(rgb, 0, 1), alpha])
    big = Image.fromarray((img * 255 + 0.5).astype(np.uint8), "RGBA")
    return big.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    icon = draw_icon(SIZE)
    icon.save(ICONS / "colorstudio.png", optimize=True)
    icon.save(ICONS / "colorstudio.ico", sizes=ICO_SIZES)
    draw_icon(512).save(ICONS / "colorstudio.icns")
    for p in sorted(ICONS.glob("colorstudio.*")):
        print(f"{p}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
