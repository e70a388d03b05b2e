"""How close the colour panel's suggestions come to the true colour of a spot.

    python benchmarks/suggestions.py [--model M] [--folder DIR] [--every 7] [--spots 12] [--counts 1 3]

For every N-th colour photo of the folder (default: the validation photos), the hints of
`colorstudio eval` (n per photo, each the mean colour of a 6x6 patch), then spots drawn
uniformly: at each, the 8 suggestions a selected hint there gets, two ways:

- "given hints": engine.suggest with the other hints alone (what the app showed before);
- "app": the app's list (colorstudio.gui.workers._suggestions), which alternates those with
  the model's own colours for the spot given no hints.

Printed per hint count: the mean ab distance (CIE Lab) from the spot's true colour (its
6x6 patch mean) to the nearest suggestion, and how often one lies within 10 and 5 units.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from colorstudio.core.color import rgb_to_lab
from colorstudio.core.engine import load_engine
from colorstudio.gui.workers import _suggestions
from colorstudio.train.evaluate import eval_hints, read_colour_photo, select_photos

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "val256"


def nearest(colours: list[tuple[int, int, int]], true_ab: np.ndarray) -> float:
    ab = rgb_to_lab(np.asarray(colours, np.uint8).reshape(-1, 1, 3))[:, 0, 1:]
    return float(np.min(np.linalg.norm(ab - true_ab, axis=1)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--folder", default=str(DEFAULT_FOLDER))
    p.add_argument("--every", type=int, default=7)
    p.add_argument("--spots", type=int, default=12)
    p.add_argument("--counts", type=int, nargs="+", default=[1, 3])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    engine = load_engine(args.model, device="cpu")
    dist: dict[int, tuple[list[float], list[float]]] = {n: ([], []) for n in args.counts}
    for i, path in select_photos(args.folder, every=args.every):
        rgb = read_colour_photo(path)
        if rgb is None:
            continue
        lab = rgb_to_lab(rgb)
        h, w = rgb.shape[:2]
        rng = np.random.default_rng(i)
        spots = [(rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95)) for _ in range(args.spots)]
        for n in args.counts:
            hints = tuple(eval_hints(rgb, n, i))
            for x, y in spots:
                r, c = int(y * h), int(x * w)
                true_ab = lab[max(0, r - 3):r + 3, max(0, c - 3):c + 3, 1:].reshape(-1, 2).mean(axis=0)
                job = SimpleNamespace(image=rgb, hints=hints, point=(x, y), k=8)
                dist[n][0].append(nearest(engine.suggest(rgb, hints, x, y, k=8), true_ab))
                dist[n][1].append(nearest(_suggestions(engine, job), true_ab))
        print(f"\r{path.name}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print("| hints | spots | list | nearest of 8 (mean ab) | within 10 | within 5 |")
    print("|---|---|---|---|---|---|")
    for n, lists in dist.items():
        for name, d in zip(("given hints", "app"), lists):
            a = np.asarray(d)
            print(f"| {n} | {len(a)} | {name} | {a.mean():.2f} | {np.mean(a < 10):.1%} | {np.mean(a < 5):.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
