"""Training data: a decoded uint8 cache of the photos, batches in Lab, simulated user hints.

Decoding 30k JPEGs every epoch would cost more than the network on two CPU cores, so the
photos are decoded once into a uint8 memmap (N, S, S, 3) of centre crops; batches are
random crops, flips and rescales of it, converted to Lab on the fly.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from ..core.color_torch import rgb_to_lab as rgb_to_lab_torch
from ..core.fileio import atomic_write_text

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def list_photos(folder: str | os.PathLike[str]) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder of photos")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def default_cache_dir() -> Path:
    from ..core.settings import cache_dir

    return cache_dir()


GRAY = "gray"  # load_square's answer for a photo without colour: nothing to learn colour from


def load_square(path: Path, side: int) -> np.ndarray | str | None:
    """The photo's centre square at `side` px (short side resized to it), as the cache keeps it;
    None if it cannot be read, GRAY if it has no colour."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            w, h = im.size
            s = side / min(w, h)
            im = im.resize((max(side, round(w * s)), max(side, round(h * s))), Image.Resampling.BICUBIC)
            w, h = im.size
            left, top = (w - side) // 2, (h - side) // 2
            arr = np.asarray(im.crop((left, top, left + side, top + side)), dtype=np.uint8)
    except Exception:  # noqa: BLE001 - any photo that fails (a decompression bomb too) is skipped, not the run
        return None
    spread = arr.max(axis=2).astype(np.int16) - arr.min(axis=2)
    return GRAY if np.percentile(spread, 99) <= 3 else arr


def _load_chunk(args: tuple[list[str], int]) -> list[np.ndarray | str | None]:
    paths, side = args
    return [load_square(Path(p), side) for p in paths]


def _die_with_parent() -> None:
    """In a decoding worker (Linux): end when the run that started it ends, even by kill -9,
    rather than wait on its queue for ever."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _remove_orphaned_parts(data_path: Path) -> None:
    """Remove the half-built caches of runs that were killed (named by their process ids); one
    that a live process is building is left alone."""
    for part in data_path.parent.glob(f"{data_path.stem}.*.part"):
        pid = part.suffixes[-2][1:] if len(part.suffixes) >= 2 else ""
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)  # alive: its cache is still being built
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                part.unlink()
        except OSError:
            continue  # another user's process, or no way to tell: leave it


def _cache_key(photos: list[Path], side: int) -> str:
    """The cache's name: the photos' paths, sizes and times (a photo replaced under the same
    name makes a new cache) and the side."""
    parts = []
    for p in photos:
        try:
            st = p.stat()
            parts.append(f"{p}|{st.st_size}|{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{p}|?")
    return hashlib.sha1(("\n".join(parts) + f"|{side}").encode()).hexdigest()[:12]


def _open_cache(data_path: Path, meta_path: Path, side: int) -> PhotoCache | None:
    """A complete cache, or None (absent, or damaged: its size not what its meta says)."""
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        shape = tuple(int(v) for v in meta["shape"])
        if len(shape) != 4 or shape[1:] != (side, side, 3) or data_path.stat().st_size != int(np.prod(shape)):
            return None
        return PhotoCache(np.memmap(data_path, np.uint8, "r", shape=shape), data_path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class PhotoCache:
    """A read-only view of a decoded photo cache."""

    images: np.ndarray  # (N, S, S, 3) uint8 memmap
    path: Path

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def side(self) -> int:
        return int(self.images.shape[1])


def build_cache(
    folder: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None, side: int = 144,
    workers: int = 2, limit: int | None = None, progress: bool = True,
) -> PhotoCache:
    """Decode every photo of `folder` once into `cache_dir` (reused when the file list is unchanged)."""
    photos = list_photos(folder)
    if limit:
        photos = photos[:limit]
    if not photos:
        raise ValueError(f"{folder}: no photos found (looked for {sorted(IMAGE_SUFFIXES)})")
    key = _cache_key(photos, side)
    cdir = Path(cache_dir) if cache_dir else default_cache_dir()
    cdir.mkdir(parents=True, exist_ok=True)
    data_path = cdir / f"photos-{key}.u8"
    meta_path = cdir / f"photos-{key}.json"
    cached = _open_cache(data_path, meta_path, side)
    if cached is not None:
        return cached
    if meta_path.exists() or data_path.exists():
        print(f"the photo cache {data_path} is incomplete or damaged: building it again", file=sys.stderr)

    _remove_orphaned_parts(data_path)
    tmp = data_path.with_suffix(f".{os.getpid()}.part")
    out = np.memmap(tmp, np.uint8, "w+", shape=(len(photos), side, side, 3))
    chunks = [([str(p) for p in photos[i:i + 256]], side) for i in range(0, len(photos), 256)]
    n = 0
    unreadable: list[str] = []
    gray = 0
    with ProcessPoolExecutor(max_workers=max(1, workers), initializer=_die_with_parent) as pool:
        for done, results in enumerate(pool.map(_load_chunk, chunks), 1):
            for path, arr in zip(chunks[done - 1][0], results):
                if arr is None:
                    unreadable.append(path)
                elif isinstance(arr, str):
                    gray += 1
                else:
                    out[n] = arr
                    n += 1
            if progress:
                print(f"\rcaching photos: {min(done * 256, len(photos))}/{len(photos)}", end="", flush=True)
    if progress:
        print()
    if unreadable or gray:
        first = f" (e.g. {Path(unreadable[0]).name})" if unreadable else ""
        print(f"left out: {len(unreadable)} photos that cannot be read{first}, {gray} without colour", file=sys.stderr)
    out.flush()
    del out
    if n == 0:
        tmp.unlink()
        raise ValueError(f"{folder}: no colour photo to learn from ({len(unreadable)} unreadable, {gray} gray)")
    os.truncate(tmp, n * side * side * 3)
    with open(tmp, "rb+") as f:  # on disk before it is named complete
        os.fsync(f.fileno())
    os.replace(tmp, data_path)
    atomic_write_text(meta_path, json.dumps({"shape": [n, side, side, 3], "source": str(folder), "count": n}))
    return PhotoCache(np.memmap(data_path, np.uint8, "r", shape=(n, side, side, 3)), data_path)


class BatchPlan(NamedTuple):
    """The random choices behind one training batch.

    Drawing them is cheap CPU work on a seeded generator; `realize_batch` turns them and the
    batch's photos into tensors with vectorised ops on whatever device those live on, so a
    GPU does the heavy part (resizing, Lab conversion, hint colours) and one process keeps up.
    """

    side: int  # the photos are resized to side x side before cropping
    offsets: torch.Tensor  # (B, 2) int64: crop row and column
    flips: torch.Tensor  # (B,) bool: mirror the crop
    saturation: torch.Tensor  # (B,) float32: chroma factor (1: unchanged)
    cast: torch.Tensor  # (B, 2) float32: chroma added after scaling
    boxes: torch.Tensor  # (N, 5) int64: photo, r0, r1, c0, c1 of each hint patch
    hint_ids: torch.Tensor  # (B, crop, crop) int32: the box whose colour each pixel shows, -1: none

    def to(self, device: torch.device) -> BatchPlan:
        return BatchPlan(self.side, *(t.to(device, non_blocking=True) for t in self[1:]))


SHIFT_SATURATION = (0.5, 1.15)
SHIFT_CAST = 6.0


def _draw_crops(n_photos: int, photo_side: int, batch: int, crop: int, rng: np.random.Generator,
                scale_range: tuple[float, float], indices: Sequence[int] | None = None
                ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    if indices is None:
        idx = np.sort(rng.choice(n_photos, size=batch, replace=n_photos < batch))
    else:
        idx = np.asarray(indices)
    side = max(crop, int(round(photo_side * rng.uniform(*scale_range))))
    offsets = np.empty((len(idx), 2), np.int64)
    flips = np.empty(len(idx), bool)
    for i in range(len(idx)):
        offsets[i] = rng.integers(0, side - crop + 1, size=2)
        flips[i] = rng.random() < 0.5
    return idx, side, offsets, flips


def crop_lab(photos: torch.Tensor, side: int, offsets: torch.Tensor, flips: torch.Tensor, crop: int) -> torch.Tensor:
    """Photos (B, S, S, 3) uint8 resized to `side`, cropped at `offsets` (mirrored where `flips`)
    -> (B, 3, crop, crop) Lab."""
    x = photos.permute(0, 3, 1, 2).float() / 255.0
    if side != x.shape[-1]:
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=side < x.shape[-1])
    steps = torch.arange(crop, device=x.device)
    rows = offsets[:, :1] + steps
    cols = offsets[:, 1:] + torch.where(flips[:, None], crop - 1 - steps, steps)
    b = torch.arange(len(x), device=x.device)[:, None, None]
    out = x.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    return rgb_to_lab_torch(out.clamp(0, 1))


def sample_batch(
    cache: PhotoCache, batch: int, crop: int, rng: np.random.Generator,
    scale_range: tuple[float, float] = (0.9, 1.5), indices: Sequence[int] | None = None,
) -> torch.Tensor:
    """Random crops (with a random rescale and horizontal flips) -> (B, 3, crop, crop) Lab."""
    idx, side, offsets, flips = _draw_crops(len(cache), cache.side, batch, crop, rng, scale_range, indices)
    photos = torch.from_numpy(np.ascontiguousarray(cache.images[idx]))
    return crop_lab(photos, side, torch.from_numpy(offsets), torch.from_numpy(flips), crop)


def sample_hint_count(rng: np.random.Generator, p: float = 0.125, cap: int = 100) -> int:
    """Geometric count (P(0) = p, mean (1-p)/p), with an occasional dense set of hints."""
    if rng.random() < 0.05:
        return int(rng.integers(20, cap + 1))
    return int(min(cap, rng.geometric(p) - 1))


def draw_hint_boxes(rng: np.random.Generator, batch: int, h: int, w: int, counts: Sequence[int] | None = None,
                    max_patch: int = 9, centre_fraction: float = 0.5) -> np.ndarray:
    """The patches of simulated hints (see `simulate_hints`): (N, 5) int64 rows of photo, r0, r1, c0, c1."""
    boxes = []
    for i in range(batch):
        n = sample_hint_count(rng) if counts is None else counts[i]
        for _ in range(n):
            p = int(rng.integers(1, max_patch + 1))
            if rng.random() < centre_fraction:
                r = int(np.clip(rng.normal(h / 2, h / 4), 0, h - 1))
                c = int(np.clip(rng.normal(w / 2, w / 4), 0, w - 1))
            else:
                r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
            r0, c0 = max(0, r - (p - 1) // 2), max(0, c - (p - 1) // 2)
            boxes.append((i, r0, min(h, r0 + p), c0, min(w, c0 + p)))
    return np.array(boxes, np.int64).reshape(-1, 5)


def hint_id_map(boxes: np.ndarray, batch: int, h: int, w: int) -> np.ndarray:
    """(B, h, w) int32: the index of the box each pixel shows (the later of overlapping ones), -1 where none."""
    ids = np.full((batch, h, w), -1, np.int32)
    for k, (i, r0, r1, c0, c1) in enumerate(boxes.tolist()):
        ids[i, r0:r1, c0:c1] = k
    return ids


def paint_hints(ab: torch.Tensor, boxes: torch.Tensor, hint_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hint chroma and mask from the true chroma `ab` (B, 2, H, W): each box reveals its mean chroma.

    The means come from a float64 summed-area table, so all boxes cost four lookups each.
    """
    mask = (hint_ids >= 0).unsqueeze(1).to(ab.dtype)
    if len(boxes) == 0:
        return torch.zeros_like(ab), mask
    table = F.pad(ab.double().cumsum(2).cumsum(3), (1, 0, 1, 0))
    i, r0, r1, c0, c1 = boxes.to(ab.device).unbind(1)
    sums = table[i, :, r1, c1] - table[i, :, r0, c1] - table[i, :, r1, c0] + table[i, :, r0, c0]
    means = (sums / ((r1 - r0) * (c1 - c0)).unsqueeze(1)).to(ab.dtype)  # (N, 2)
    hint_ab = means[hint_ids.clamp(min=0).long()].permute(0, 3, 1, 2) * mask
    return hint_ab.contiguous(), mask


def simulate_hints(
    ab: torch.Tensor, rng: np.random.Generator, counts: Sequence[int] | None = None,
    max_patch: int = 9, centre_fraction: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Simulated user hints from the true chroma `ab` (B, 2, H, W).

    Per image a random number of hints; each is a square patch of 1..max_patch px at a
    position drawn around the centre (normal, sigma = size / 4) or uniformly, revealing
    the patch's mean chroma. Returns (hint_ab (B, 2, H, W), mask (B, 1, H, W)).
    """
    b, _, h, w = ab.shape
    boxes = draw_hint_boxes(rng, b, h, w, counts, max_patch, centre_fraction)
    return paint_hints(ab, torch.from_numpy(boxes), torch.from_numpy(hint_id_map(boxes, b, h, w)).to(ab.device))


def _draw_looks(rng: np.random.Generator, chosen: Sequence[bool], saturation: tuple[float, float] = SHIFT_SATURATION,
                cast: float = SHIFT_CAST) -> tuple[np.ndarray, np.ndarray]:
    factors, shifts = np.ones(len(chosen), np.float32), np.zeros((len(chosen), 2), np.float32)
    for i, pick in enumerate(chosen):
        if pick:
            factors[i] = rng.uniform(*saturation)
            shifts[i] = rng.normal(0.0, cast, size=2)
    return factors, shifts


def _apply_looks(ab: torch.Tensor, factors: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    return ab * factors.to(ab.dtype).view(-1, 1, 1, 1) + shifts.to(ab.dtype).view(-1, 2, 1, 1)


def shift_colours(ab: torch.Tensor, rng: np.random.Generator, chosen: Sequence[bool],
                  saturation: tuple[float, float] = SHIFT_SATURATION, cast: float = SHIFT_CAST) -> torch.Tensor:
    """Give the `chosen` photos of a batch (B, 2, H, W) a random global look: chroma scaled
    by a factor drawn from `saturation` and shifted by a colour cast ~ N(0, cast) per channel.

    Applied to photos that get hints (their hints reveal the look), it teaches the network
    to carry a muted, tinted or faded look that the hints show over the whole photo instead
    of overriding it with its own colour priors (a blue sky the user hinted yellow).
    """
    factors, shifts = _draw_looks(rng, chosen, saturation, cast)
    return _apply_looks(ab, torch.from_numpy(factors), torch.from_numpy(shifts))


def draw_plan(n_photos: int, photo_side: int, batch: int, crop: int, rng: np.random.Generator,
              scale_range: tuple[float, float], colour_shift: float = 0.0) -> tuple[np.ndarray, BatchPlan]:
    """The photo indices and the `BatchPlan` of one training batch.

    With `colour_shift`, that share of the photos that get hints first gets a random look
    (see `shift_colours`); the generator is used in the same order as `sample_batch`,
    `shift_colours` and `simulate_hints` in turn would use it.
    """
    idx, side, offsets, flips = _draw_crops(n_photos, photo_side, batch, crop, rng, scale_range)
    if colour_shift:
        counts = [sample_hint_count(rng) for _ in range(batch)]
        factors, shifts = _draw_looks(rng, [n > 0 and rng.random() < colour_shift for n in counts])
        boxes = draw_hint_boxes(rng, batch, crop, crop, counts)
    else:
        factors, shifts = _draw_looks(rng, [False] * batch)
        boxes = draw_hint_boxes(rng, batch, crop, crop)
    plan = BatchPlan(side, *(torch.from_numpy(a) for a in (offsets, flips, factors, shifts, boxes)),
                     torch.from_numpy(hint_id_map(boxes, batch, crop, crop)))
    return idx, plan


def realize_batch(photos: torch.Tensor, plan: BatchPlan) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The batch's photos (B, S, S, 3) uint8 and its plan (on the same device) -> Lab (B, 3, crop, crop),
    hint chroma (B, 2, crop, crop) and hint mask (B, 1, crop, crop)."""
    lab = crop_lab(photos, plan.side, plan.offsets, plan.flips, plan.hint_ids.shape[-1])
    ab = _apply_looks(lab[:, 1:], plan.saturation, plan.cast)
    return (torch.cat([lab[:, :1], ab], dim=1), *paint_hints(ab, plan.boxes, plan.hint_ids))


def class_weights(cache: PhotoCache, rng: np.random.Generator, samples: int = 2000, mix: float = 0.5) -> torch.Tensor:
    """Rare-colour rebalancing weights over the ab bins (Zhang et al. 2016): 1 / ((1-mix) p + mix / Q)."""
    from ..core.model import AB_GRID, ab_to_bin

    n = min(samples, len(cache))
    idx = np.sort(rng.choice(len(cache), size=n, replace=False))
    counts = torch.zeros(AB_GRID * AB_GRID)
    for start in range(0, n, 256):
        x = torch.from_numpy(np.ascontiguousarray(cache.images[idx[start:start + 256]])).permute(0, 3, 1, 2).float() / 255
        ab = F.avg_pool2d(rgb_to_lab_torch(x)[:, 1:], 4)
        counts += torch.bincount(ab_to_bin(ab).flatten(), minlength=AB_GRID * AB_GRID).float()
    p = counts.view(1, 1, AB_GRID, AB_GRID)
    k = torch.exp(-0.5 * (torch.arange(-2, 3).float() / 0.5) ** 2)
    k = (k[:, None] * k[None, :]) / (k.sum() ** 2)
    p = F.conv2d(F.pad(p, (2, 2, 2, 2)), k.view(1, 1, 5, 5)).flatten()
    p = p / p.sum()
    q = p.numel()
    wts = 1.0 / ((1 - mix) * p + mix / q)
    wts = wts / (p * wts).sum()
    return wts


def geometric_mean_count(p: float = 0.125) -> float:
    return (1 - p) / p if p > 0 else math.inf
