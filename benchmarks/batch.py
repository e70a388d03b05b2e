"""Batch throughput: photos per minute for 2 MP photos, against the engine's own time per photo.

    python benchmarks/batch.py [--model M] [--photos 12] [--rounds 3] [--format jpg]

The same photos are colorized by Engine.colorize alone (pixels already in memory, nothing
written) and by core.batch.run_batch (read, sidecar check, colorize, atomic write, report),
in alternating rounds so that background load hits both alike; the median round is shown.
The overhead is what run_batch adds per photo over the engine alone (target: under 15 %).

Three clocks: wall time (what a user waits), process CPU time (all threads), and the CPU
time of the calling thread, which runs the engine: run_batch reads and writes on helper
threads, so on an idle machine with a spare core only the calling thread's time is serial.
On a loaded machine (other jobs using the cores) wall time also pays for the helpers' CPU.

--model: a model file, a shipped name ("default"), or "random:PRESET" (a randomly initialised
network of that preset: tiny, small, quality; same speed as trained weights). Default: the
shipped default model when resources/models/default.pt exists, else random:tiny.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from colorstudio.core.batch import BatchOptions, run_batch  # noqa: E402
from colorstudio.core.engine import Engine, load_engine  # noqa: E402
from colorstudio.core.images import read_image, write_image  # noqa: E402


def make_photos(folder: Path, n: int, megapixels: float) -> list[Path]:
    """n grayscale JPEG 'scans' of about `megapixels`, 4:3, with edges, gradients and grain."""
    h = int(round((megapixels * 1e6 * 3 / 4) ** 0.5))
    w = int(round(h * 4 / 3))
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    paths = []
    from PIL import Image

    for i in range(n):
        rng = np.random.default_rng(i)
        img = (110 + 60 * np.sin(x / (25 + 7 * i)) * np.cos(y / (19 + 5 * i)) + 50 * (x > w * (0.3 + 0.04 * i))
               + rng.normal(0, 7, (h, w)).astype(np.float32))
        p = folder / f"scan_{i:03d}.jpg"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(p, quality=92)
        paths.append(p)
    return paths


def get_engine(model: str | None, device: str, tmp: Path) -> tuple[Engine, str]:
    if model is None:
        shipped = REPO / "resources" / "models" / "default.pt"
        model = str(shipped) if shipped.exists() else "random:tiny"
    if model.startswith("random:"):
        import torch

        from colorstudio.core.checkpoint import save_model
        from colorstudio.core.model import PRESETS, ColorNet

        preset = model.split(":", 1)[1]
        torch.manual_seed(0)
        path = tmp / f"random-{preset}.pt"
        save_model(path, ColorNet(PRESETS[preset]).eval(), meta={"note": "random weights, for timing only"})
        return load_engine(path, device=device), f"{preset} network, random weights"
    return load_engine(model, device=device), model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model file, shipped name, or random:PRESET (default: see above)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--megapixels", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--format", default="jpg", help="output format (default jpg, as the inputs)")
    args = ap.parse_args(argv)

    import torch

    with tempfile.TemporaryDirectory(prefix="colorstudio-bench-") as tmp_name:
        tmp = Path(tmp_name)
        engine, label = get_engine(args.model, args.device, tmp)
        photos = make_photos(tmp / "in", args.photos, args.megapixels)
        pixels = [read_image(p).pixels for p in photos]
        h, w = pixels[0].shape[:2]
        engine.colorize(pixels[0])  # warm-up (first call allocates)

        # Serial file I/O that run_batch must hide behind the engine.
        t0 = time.perf_counter()
        for p in photos:
            im = read_image(p)
            write_image(tmp / "io.jpg", np.dstack([im.pixels] * 3) if im.pixels.ndim == 2 else im.pixels,
                        exif=im.exif, description="benchmark")
        io_per = (time.perf_counter() - t0) / len(photos)

        n = len(photos)
        eng_rounds, batch_rounds = [], []  # (wall, process CPU, calling-thread CPU) per photo
        for r in range(args.rounds):
            clocks = time.perf_counter(), time.process_time(), time.thread_time()
            for px in pixels:
                engine.colorize(px)
            eng_rounds.append(tuple((c1 - c0) / n for c0, c1 in zip(
                clocks, (time.perf_counter(), time.process_time(), time.thread_time()))))
            out = tmp / "out"
            clocks = time.perf_counter(), time.process_time(), time.thread_time()
            results = run_batch(photos, BatchOptions(out, format=args.format, overwrite=True), engine,
                                report_path=out / "report.jsonl")
            batch_rounds.append(tuple((c1 - c0) / n for c0, c1 in zip(
                clocks, (time.perf_counter(), time.process_time(), time.thread_time()))))
            bad = [r for r in results if r.status != "done"]
            if bad:
                print(f"benchmark: {bad[0].input}: {bad[0].status}: {bad[0].error}", file=sys.stderr)
                return 1
        eng = [statistics.median(r[k] for r in eng_rounds) for k in range(3)]
        bat = [statistics.median(r[k] for r in batch_rounds) for k in range(3)]
        over = [100 * (b - e) / e for e, b in zip(eng, bat)]
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"ColorStudio batch benchmark: {args.photos} photos of {w} x {h} ({w * h / 1e6:.1f} MP), JPEG in, "
          f"{args.format.upper()} out")
    print(f"model: {label}; device {engine.device}; torch threads {torch.get_num_threads()}; "
          f"CPU cores {os.cpu_count()}; rounds {args.rounds} (median shown)")
    print()
    print(f"{'per photo':34s}{'wall s':>9s}{'photos/min':>12s}{'CPU s':>9s}{'engine-thread CPU s':>21s}")
    print(f"{'engine.colorize alone':34s}{eng[0]:9.3f}{60 / eng[0]:12.1f}{eng[1]:9.3f}{eng[2]:21.3f}")
    print(f"{'run_batch (read+colorize+write)':34s}{bat[0]:9.3f}{60 / bat[0]:12.1f}{bat[1]:9.3f}{bat[2]:21.3f}")
    print(f"{'overhead of run_batch':34s}{over[0]:+8.1f}%{'':12s}{over[1]:+8.1f}%{over[2]:+20.1f}%")
    print(f"{'read+write alone, done serially':34s}{io_per:9.3f}")
    print(f"peak memory (RSS): {rss_mb:.0f} MB")
    print("wall s/photo by round (engine / batch): "
          + ", ".join(f"{e[0]:.3f}/{b[0]:.3f}" for e, b in zip(eng_rounds, batch_rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
