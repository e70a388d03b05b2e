"""A compact copy of a photo set, for training on a machine the photos must be uploaded to.

A rented or lent GPU machine often takes only a small upload. `colorstudio train --pack DIR
--pack-mib 42` writes a random subset of --data to DIR, each photo reduced to exactly what
the training cache keeps of it (the centre square, `side` px) and stored as WebP, until the
size budget is reached; `colorstudio train --data DIR` then trains on it there. The subset
is drawn in a seeded random order, so every source of a mixed folder keeps its share.
"""
from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from .data import list_photos, load_square

PACK_SUFFIX = ".webp"


def pack_photos(src: str | os.PathLike[str], dst: str | os.PathLike[str], budget_bytes: int, side: int = 144,
                quality: int = 85, seed: int = 0, progress: bool = True) -> tuple[int, int]:
    """Write photos of `src` into the new folder `dst` until `budget_bytes`; returns (photos, bytes).

    The folder appears complete or not at all: it is filled under a temporary name and
    renamed at the end. `src` is only read.
    """
    from PIL import Image

    if budget_bytes <= 0:
        raise ValueError(f"the size budget must be positive, got {budget_bytes} bytes")
    dest = Path(dst)
    if dest.exists():
        raise FileExistsError(f"{dest}: already exists; pack into a new folder")
    photos = list_photos(src)
    if not photos:
        raise ValueError(f"{src}: no photos found")
    order = np.random.default_rng(seed).permutation(len(photos))
    tmp = dest.with_name(f".{dest.name}.part")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    written = total = 0
    names: set[str] = set()
    try:
        for k, i in enumerate(order, 1):
            pixels = load_square(photos[i], side)
            if pixels is None or isinstance(pixels, str):  # unreadable or gray: the cache would skip it too
                continue
            buf = io.BytesIO()
            Image.fromarray(pixels).save(buf, "WEBP", quality=quality, method=6)
            if total + buf.tell() > budget_bytes:
                break
            name = photos[i].stem
            while name in names:  # same stem in two subfolders or with two suffixes
                name += "_"
            names.add(name)
            (tmp / f"{name}{PACK_SUFFIX}").write_bytes(buf.getvalue())
            written += 1
            total += buf.tell()
            if progress and k % 500 == 0:
                print(f"\rpacking: {written} photos, {total / 2**20:.1f} MiB", end="", file=sys.stderr, flush=True)
        if written == 0:
            raise ValueError(f"{src}: no photo could be packed within {budget_bytes} bytes")
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if progress:
        print(file=sys.stderr)
    return written, total
