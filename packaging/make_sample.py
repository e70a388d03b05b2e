"""Render the bundled sample photo (resources/samples/sample.png): a synthetic grayscale landscape.

The sample is generated, not taken from any photo collection, so it can ship with the app.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def render(width: int = 640, height: int = 448, seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    sky = 215 - 70 * (y / height)
    img = sky.copy()
    # Distant mountains: a smooth random ridge line.
    ridge = height * 0.45 + np.cumsum(rng.normal(0, 2.2, width))
    ridge = np.convolve(ridge - ridge.mean() + height * 0.45, np.ones(25) / 25, mode="same")
    img = np.where(y > ridge[None, :], 120 - 20 * ((y - ridge[None, :]) / height), img)
    # Meadow with texture.
    horizon = height * 0.62 + 12 * np.sin(x / 70.0)
    grass = 95 + 18 * rng.standard_normal((height, width)) * (y / height)
    img = np.where(y > horizon, grass, img)
    # Sun.
    img = np.where((x - width * 0.8) ** 2 + (y - height * 0.18) ** 2 < (height * 0.07) ** 2, 250, img)
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(0.8))
    d = ImageDraw.Draw(im)
    # A house: wall, roof, door, windows.
    hx, hy = int(width * 0.22), int(height * 0.52)
    d.rectangle([hx, hy, hx + 150, hy + 95], fill=185)
    d.polygon([(hx - 15, hy), (hx + 75, hy - 60), (hx + 165, hy)], fill=70)
    d.rectangle([hx + 62, hy + 45, hx + 88, hy + 95], fill=60)
    for wx in (hx + 18, hx + 108):
        d.rectangle([wx, hy + 25, wx + 26, hy + 50], fill=40)
    # Trees.
    for tx in (int(width * 0.6), int(width * 0.68), int(width * 0.9)):
        ty = int(height * 0.63)
        d.rectangle([tx - 5, ty - 10, tx + 5, ty + 40], fill=55)
        d.ellipse([tx - 32, ty - 80, tx + 32, ty], fill=80)
    return im


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "resources/samples/sample.png"
    render().save(out, optimize=True)
    print(out)
