"""Engine calibration grid: PSNR and colourfulness for vividness x hint_correction.

    python benchmarks/calibrate.py [--model M] [--every 7] [--vividness 1 2.2 3] [--hint-correction 1 0.7 0.5] [--faded]

The network runs once per photo and hint count (vividness 1, hint_correction 1, trust_hints
off); every setting of the grid is then applied to that raw prediction with the engine's
own gain (Engine._correction_gain), so the grid costs one evaluation, not one per cell.
Photos, hints and metrics follow `colorstudio eval` (photo-averaged PSNR on 8-bit RGB,
colourfulness relative to the originals); the composition is the eval's at working size,
so a cell can differ from `colorstudio eval` by a few hundredths of a dB: confirm the
chosen setting with `colorstudio eval --vividness V --hint-correction C`.

--faded gives every photo a seeded random global look first (its chroma scaled by
0.5 to 1.1 and shifted by a cast ~ N(0, 6) per channel, lightness kept): old prints and
film are often faded or tinted, and the hints then show that look; this measures how
well the model carries it instead of its own colour priors.
"""
from __future__ import annotations

import argparse
import itertools
import sys

import numpy as np
import torch

from colorstudio.core.color import rgb_to_lab
from colorstudio.core.engine import load_engine
from colorstudio.train.data import shift_colours
from colorstudio.train.evaluate import colourfulness, compose_lab, eval_hints, psnr, read_colour_photo, select_photos


def faded(rgb: np.ndarray, index: int) -> np.ndarray:
    """The photo with a random global look, seeded by its index: the look `train --colour-shift`
    gives training photos (data.shift_colours), chroma x U(0.5, 1.1) + N(0, 6) cast."""
    lab = rgb_to_lab(rgb)
    ab = torch.from_numpy(np.ascontiguousarray(np.moveaxis(lab[..., 1:], -1, 0)))[None]
    ab = shift_colours(ab, np.random.default_rng([index, 1]), [True], saturation=(0.5, 1.1), cast=6.0)
    return compose_lab(lab[..., 0], ab[0].numpy())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="default")
    p.add_argument("--data", default="../shared/data/val256")
    p.add_argument("--every", type=int, default=7, help="every N-th photo (default 7: 51 of val256)")
    p.add_argument("--counts", type=int, nargs="+", default=[0, 1, 10, 50])
    p.add_argument("--vividness", type=float, nargs="+", default=[1.0, 2.2, 3.0])
    p.add_argument("--hint-correction", type=float, nargs="+", default=[1.0, 0.7, 0.5])
    p.add_argument("--fade", type=float, default=None, help="vividness_fade (default: the model's)")
    p.add_argument("--faded", action="store_true", help="give each photo a random faded or tinted look first")
    p.add_argument("--native-size", type=int, default=None, help="override the model's native size (0: none)")
    p.add_argument("--scale-blend", type=float, default=None,
                   help="override the model's scale_blend (hint count at which the working-size fill is half the fill)")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    engine = load_engine(args.model, device="cpu", vividness=1.0, trust_hints=0.0, hint_correction=1.0,
                         native_size=args.native_size)
    if args.scale_blend is not None:
        engine.scale_blend = args.scale_blend
    if args.fade is not None:
        engine.vividness_fade = args.fade
    fade = engine.vividness_fade
    grid = list(itertools.product(args.vividness, args.hint_correction))
    scores: dict[tuple[float, float, int], list[tuple[float, float]]] = {}
    truth: list[float] = []
    for i, path in select_photos(args.data, args.every):
        rgb = read_colour_photo(path)
        if rgb is None:
            continue
        if args.faded:
            rgb = faded(rgb, i)
        truth.append(colourfulness(rgb))
        lum = rgb_to_lab(rgb)[..., 0]
        for n in args.counts:
            engine.vividness, engine.hint_correction = 1.0, 1.0  # the raw prediction
            pred = engine.predict(rgb, eval_hints(rgb, n, i))
            net, fill = np.moveaxis(pred.ab, -1, 0), np.moveaxis(pred.fill, -1, 0)
            for viv, corr in grid:
                engine.vividness, engine.hint_correction = viv, corr
                gain = engine._correction_gain(n, pred.density[None])
                out = compose_lab(lum, fill + gain * (net - fill))
                scores.setdefault((viv, corr, n), []).append((psnr(out, rgb), colourfulness(out)))
        print(f"\r{len(truth)} photos", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    ref = float(np.mean(truth))
    look = ", faded or tinted" if args.faded else ""
    print(f"{args.model} on {len(truth)} photos{look}: PSNR in dB (colourfulness relative to the originals), fade {fade:g}")
    print("| vividness | hint_correction | " + " | ".join(f"{n} hints" for n in args.counts) + " |")
    print("|---" * (len(args.counts) + 2) + "|")
    for viv, corr in grid:
        cells = []
        for n in args.counts:
            rows = np.array(scores[(viv, corr, n)])
            cells.append(f"{rows[:, 0].mean():.2f} ({rows[:, 1].mean() / ref:.2f})")
        print(f"| {viv:g} | {corr:g} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
