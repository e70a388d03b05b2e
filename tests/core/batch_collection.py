"""A generated photo collection for the batch tests: good, hinted, broken and nested files."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms

HINTS = {"format": "colorstudio.hints", "version": 1, "hints": [{"x": 0.3, "y": 0.4, "color": "#c03020"}]}
BAD_HINTS = {"format": "colorstudio.hints", "version": 1, "hints": [{"x": 1.5, "y": 0.4, "color": "#c03020"}]}

GOOD = ["a.jpg", "b photo.png", "ñandú é.jpg", "16bit.png", "scan.tif", "hinted.png",
        "sub/inner.jpg", "sub/deeper dir/ü.png"]
FAILING = {"badhints.jpg": "invalid hints sidecar", "corrupt.jpg": "truncated", "empty.jpg": "empty",
           "notes.jpg": "not an image"}
TOP_LEVEL = [n for n in GOOD + list(FAILING) if "/" not in n]


def gray(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = 90 + 60 * (x > w // 2) + 30 * np.sin(y / 3.0) + rng.normal(0, 6, (h, w))
    return np.clip(img, 0, 255).astype(np.uint8)


def camera_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Nikon"  # Make
    exif[0x0110] = "F3"  # Model
    exif[0x0132] = "1962:05:01 10:00:00"  # DateTime
    return exif.tobytes()


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def make_collection(root: Path) -> Path:
    """Write the collection under root/"in" and return that folder."""
    d = root / "in"
    (d / "sub" / "deeper dir").mkdir(parents=True)
    Image.fromarray(gray(seed=1)).save(d / "a.jpg", quality=90, exif=camera_exif(), icc_profile=srgb_icc())
    Image.fromarray(gray(seed=2)).save(d / "b photo.png")
    Image.fromarray(gray(seed=3)).save(d / "ñandú é.jpg")
    cv2.imwrite(str(d / "16bit.png"), gray(seed=4).astype(np.uint16) * 257 + 3)
    Image.fromarray(gray(seed=5)).save(d / "scan.tif")
    Image.fromarray(gray(seed=6)).save(d / "hinted.png")
    (d / "hinted.png.colorstudio.json").write_text(json.dumps(HINTS), "utf-8")
    Image.fromarray(gray(seed=7)).save(d / "sub" / "inner.jpg")
    Image.fromarray(gray(seed=8)).save(d / "sub" / "deeper dir" / "ü.png")
    Image.fromarray(gray(seed=9)).save(d / "badhints.jpg")
    (d / "badhints.jpg.colorstudio.json").write_text(json.dumps(BAD_HINTS), "utf-8")
    good = (d / "a.jpg").read_bytes()
    (d / "corrupt.jpg").write_bytes(good[: len(good) // 2])
    (d / "empty.jpg").write_bytes(b"")
    (d / "notes.jpg").write_text("these are not the photos you are looking for\n", "utf-8")
    (d / "readme.txt").write_text("not a photo\n", "utf-8")
    Image.fromarray(gray(seed=10)).save(d / ".hidden.jpg")
    return d


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under folder: relative path -> (sha256, mtime_ns)."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write_many(folder: Path, n: int, size: int = 32, ext: str = "png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"photo_{i:04d}.{ext}"
        Image.fromarray(gray(size, size, seed=i)).save(p)
        paths.append(p)
    return paths
