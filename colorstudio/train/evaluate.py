"""`colorstudio eval`: PSNR and colourfulness of models against classic baselines.

Protocol (kept identical to the reference scores in the data README): for each photo and
each hint count n, n points are drawn from a normal around the centre (sigma = a quarter
of the size, seeded by photo index and n); each reveals the mean colour of a 6x6 patch.
PSNR is measured on 8-bit RGB against the original and averaged over the photos.
Colourfulness (Hasler & Suesstrunk 2003) is reported relative to the originals'.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.color import float_to_code, lab_to_rgb_keep_lightness, rgb_to_ab, rgb_to_lab
from ..core.hints import Hint
from .data import default_cache_dir, list_photos

PATCH = 6
DEFAULT_COUNTS = (0, 1, 10, 50)
PROTOCOL = "v1"


def eval_hints(rgb: np.ndarray, n: int, image_index: int) -> list[Hint]:
    """n hints revealing the mean colour of 6x6 patches, positions ~ N(centre, size / 4)."""
    h, w = rgb.shape[:2]
    rng = np.random.default_rng([image_index, n])
    hints = []
    for _ in range(n):
        r = int(np.clip(round(rng.normal(h / 2, h / 4)) - PATCH // 2, 0, max(0, h - PATCH)))
        c = int(np.clip(round(rng.normal(w / 2, w / 4)) - PATCH // 2, 0, max(0, w - PATCH)))
        mean = rgb[r:r + PATCH, c:c + PATCH].reshape(-1, 3).astype(np.float64).mean(axis=0)
        colour = tuple(int(v) for v in np.clip(np.rint(mean), 0, 255))
        # Centre pixel (r + 2, c + 2): patch_bounds() then covers rows r..r+5 exactly.
        hints.append(Hint((c + 2.5) / w, (r + 2.5) / h, colour, size=PATCH / max(h, w)))
    return hints


def hint_arrays(hints: Sequence[Hint], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    from ..core.hints import encode_hints

    ab, mask = encode_hints(hints, h, w)
    return ab, mask[0] > 0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk's colourfulness metric of an 8-bit RGB image."""
    x = rgb.astype(np.float64)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def compose_lab(lum: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """L (H, W) + ab (2, H, W) -> uint8 RGB."""
    lab = np.concatenate([lum[:, :, None], np.moveaxis(ab, 0, -1)], axis=2)
    return float_to_code(lab_to_rgb_keep_lightness(lab), np.uint8)


@dataclass
class Scores:
    psnr: dict[int, list[float]] = field(default_factory=dict)
    colour: dict[int, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def add(self, n: int, p: float, c: float) -> None:
        self.psnr.setdefault(n, []).append(p)
        self.colour.setdefault(n, []).append(c)


def _levin_cached(path: Path, lum: np.ndarray, hints: list[Hint], n: int, cache: Path | None) -> np.ndarray:
    try:
        from .levin import levin_colorize
    except ImportError as exc:  # the packaged app leaves scipy out
        raise RuntimeError(f"the Levin baseline needs scipy ({exc}); run with --no-levin") from None

    key = None
    if cache is not None:
        digest = hashlib.sha1(path.read_bytes()).hexdigest()[:16]
        # the hints too: they are seeded by the photo's place in its folder, which another folder
        # (or one photo more) changes
        drawn = hashlib.sha1(repr([(h.x, h.y, h.rgb, h.size) for h in hints]).encode()).hexdigest()[:12]
        key = cache / f"levin-{PROTOCOL}-{digest}-{n}-{drawn}.npy"
        if key.exists():
            try:
                return np.load(key).astype(np.float32)
            except (OSError, ValueError):
                pass
    h, w = lum.shape
    hab, mask = hint_arrays(hints, h, w)
    ab = levin_colorize(lum, hab, mask)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        tmp = key.with_suffix(".tmp.npy")
        np.save(tmp, ab.astype(np.float16))
        tmp.replace(key)
    return ab


def select_photos(folder: str | Path, every: int = 1, limit: int = 0) -> list[tuple[int, Path]]:
    """(index, path) of the photos an evaluation scores: every N-th, at most `limit`.
    The index in the whole folder seeds each photo's hints (eval_hints)."""
    if limit < 0 or every < 1:
        raise ValueError(f"--limit must be 0 (all) or more and --every 1 or more, got {limit} and {every}")
    chosen = list(enumerate(list_photos(folder)))[::max(1, every)]
    if limit:
        chosen = chosen[:limit]
    if not chosen:
        raise ValueError(f"{folder}: no photos to evaluate")
    return chosen


def read_colour_photo(path: Path) -> np.ndarray | None:
    """A photo as 8-bit RGB (alpha dropped, 16 bit rounded), or None for a gray photo: it has no colour to score."""
    from ..core.images import read_image, to_8bit

    rgb = read_image(path).pixels
    if rgb.ndim == 2:
        return None
    return to_8bit(rgb[..., :3])


def evaluate(
    folder: str | Path, engines: dict[str, Any], counts: Sequence[int] = DEFAULT_COUNTS, limit: int = 0,
    baselines: bool = True, levin_cache: Path | None = None, progress: bool = True, saturation: float = 1.0,
    levin: bool = True, every: int = 1,
) -> dict[str, Any]:
    """Score engines (name -> Engine) and the baselines. Returns {"psnr": {method: {n: mean}}, ...}."""
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in counts):
        raise ValueError(f"hint counts must be whole numbers from 0, got {list(counts)}")
    chosen = select_photos(folder, every, limit)
    methods = (["grayscale"] + (["levin"] if levin else []) if baselines else []) + list(engines)
    scores = {m: Scores() for m in methods}
    truth_colour: list[float] = []
    start = time.perf_counter()
    for done, (i, path) in enumerate(chosen):
        rgb = read_colour_photo(path)
        if rgb is None:
            continue
        if min(rgb.shape[:2]) < PATCH:
            raise ValueError(f"{path}: {rgb.shape[1]} x {rgb.shape[0]} pixels, smaller than the {PATCH} px "
                             "patch each hint reveals")
        lab = rgb_to_lab(rgb)
        lum = lab[..., 0]
        truth_colour.append(colourfulness(rgb))
        gray = compose_lab(lum, np.zeros((2, *lum.shape), np.float32)) if baselines else None
        for n in counts:
            hints = eval_hints(rgb, n, i)
            if baselines:
                scores["grayscale"].add(n, psnr(gray, rgb), colourfulness(gray))
                if levin:
                    lev = compose_lab(lum, _levin_cached(path, lum, hints, n, levin_cache)) if n else gray
                    scores["levin"].add(n, psnr(lev, rgb), colourfulness(lev))
            for name, engine in engines.items():
                t0 = time.perf_counter()
                out = engine.colorize(rgb, hints, saturation=saturation)
                scores[name].seconds.append(time.perf_counter() - t0)
                scores[name].add(n, psnr(out, rgb), colourfulness(out))
        if progress:
            el = time.perf_counter() - start
            print(f"\reval: {done + 1}/{len(chosen)} photos, {el:.0f} s", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    if not truth_colour:
        raise ValueError(f"{folder}: no colour photos to evaluate ({len(chosen)} gray photos skipped)")
    ref = float(np.mean(truth_colour))
    return {
        "photos": len(truth_colour),
        "counts": list(counts),
        "psnr": {m: {n: float(np.mean(s.psnr[n])) for n in counts} for m, s in scores.items()},
        "colourfulness": {m: {n: float(np.mean(s.colour[n])) / ref for n in counts} for m, s in scores.items()},
        "ms_per_photo": {m: 1000 * float(np.mean(s.seconds)) for m, s in scores.items() if s.seconds},
    }


def format_table(result: dict[str, Any]) -> str:
    counts = result["counts"]
    head = "| method | " + " | ".join(f"{n} hints" for n in counts) + " |"
    sep = "|---" * (len(counts) + 1) + "|"
    lines = [f"PSNR (dB, 8-bit RGB) on {result['photos']} photos", head, sep]
    for m, row in result["psnr"].items():
        lines.append(f"| {m} | " + " | ".join(f"{row[n]:.2f}" for n in counts) + " |")
    lines += ["", "Colourfulness relative to the originals (1.00 = as colourful as the truth)", head, sep]
    for m, row in result["colourfulness"].items():
        lines.append(f"| {m} | " + " | ".join(f"{row[n]:.2f}" for n in counts) + " |")
    if result.get("ms_per_photo"):
        lines += [""] + [f"{m}: {ms:.0f} ms per colorization" for m, ms in result["ms_per_photo"].items()]
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="../shared/data/val256", help="folder of colour photos (default: %(default)s)")
    # dest "models": the CLI fills a missing "model" from the user's settings (one name, not a list).
    p.add_argument("--model", action="append", dest="models", default=None,
                   help="model file or shipped name (default, quality); repeat to compare models side by side")
    p.add_argument("--device", default="auto")
    p.add_argument("--size", type=int, default=256, help="working size (default 256)")
    p.add_argument("--counts", type=int, nargs="+", default=list(DEFAULT_COUNTS), help="hint counts")
    p.add_argument("--limit", type=int, default=0, help="only the first N photos")
    p.add_argument("--no-baselines", action="store_true", help="skip the grayscale and Levin baselines")
    p.add_argument("--no-levin", action="store_true", help="skip the (slow) Levin propagation baseline")
    p.add_argument("--every", type=int, default=1, help="use every N-th photo (a quick check)")
    p.add_argument("--saturation", type=float, default=1.0)
    p.add_argument("--vividness", type=float, default=None, help="override the model's vividness (automatic colour gain)")
    p.add_argument("--trust-hints", type=float, default=None, help="override the model's trust_hints (0: off)")
    p.add_argument("--hint-correction", type=float, default=None,
                   help="override the model's hint_correction (share of the network's correction kept with hints)")
    p.add_argument("--native-size", type=int, default=None,
                   help="override the model's native size (the long side its network runs at; 0: none)")
    p.add_argument("--json", default=None, help="also write the results as JSON here")
    p.add_argument("--threads", type=int, default=0)


def run_from_args(args: argparse.Namespace) -> int:
    import torch

    from ..core.engine import load_engine
    from ..core.fileio import atomic_write_text

    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.no_levin and not args.no_baselines and importlib.util.find_spec("scipy") is None:
        # the packaged app leaves scipy (the Levin baseline's solver) out: say so before any photo is read
        raise ValueError("the Levin baseline needs scipy, which this installation lacks; run with --no-levin")
    if args.json and not Path(args.json).expanduser().parent.is_dir():
        raise ValueError(f"--json {args.json}: the folder {Path(args.json).parent} does not exist")
    models = args.models or ["default"]
    engines = {}
    for m in models:
        name = m if m in ("default", "quality") else Path(m).stem
        base, k = name, 2
        while name in engines:  # two files named alike: two rows
            name, k = f"{base} ({k})", k + 1
        engines[name] = load_engine(m, device=args.device or "auto", working_size=args.size, vividness=args.vividness,
                                    trust_hints=args.trust_hints, hint_correction=args.hint_correction,
                                    native_size=args.native_size)
    result = evaluate(args.data, engines, args.counts, args.limit, not args.no_baselines,
                      default_cache_dir() / "eval", saturation=args.saturation, levin=not args.no_levin,
                      every=args.every)
    print(format_table(result))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    return 0


__all__ = [
    "evaluate", "eval_hints", "select_photos", "read_colour_photo", "format_table",
    "colourfulness", "psnr", "rgb_to_ab",
]
