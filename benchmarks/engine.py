"""Engine speed and memory: `python benchmarks/engine.py [--model M] [--threads N]`.

Prints a table: time of Engine.colorize on a 256 px photo, at working sizes 256/384/512
on a 1024 px photo, and on 2, 12 and 24 MP photos, with each case's peak memory (each case runs in a fresh
process, so its peak resident size is its own), and, in the same run, the forward time
of the published full-size network (random weights) at the same working size; then the
app's zoomed-in view: Engine.colorize_region of a 24 MP scan with a 1024 px preview's colours.
Targets (2-core CPU): preview (working size 256) <= 1/20 of the full-size network's time
and < 100 ms; 12 MP in < 2 s with peak memory < 1.5 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The engine never enlarges a photo to reach the working size (a 256 px photo runs at
# 256 whatever the setting), so working sizes 384 and 512 are timed on a 1024 px photo.
CASES = [("256 px", 256, 256, 256), ("1024 px", 1024, 1024, 256), ("1024 px", 1024, 1024, 384),
         ("1024 px", 1024, 1024, 512), ("2 MP", 1224, 1632, 256), ("12 MP", 3000, 4000, 256),
         ("24 MP", 4240, 5656, 256)]
# (label, region width, region height, rendered width, rendered height) on a 5656 x 4240 scan
DETAIL_CASES = [("100 %, a 1600 x 1000 view", 1600, 1000, 1600, 1000),
                ("50 %, a 1600 x 1000 view", 3200, 2000, 1600, 1000),
                ("whole scan fit to a hi-DPI view (2.5 MP cap)", 5656, 4240, 1826, 1369)]


def _photo(height: int, width: int):  # noqa: ANN202
    """A photo-like grayscale test image: a real photo when ../shared is there, else synthetic."""
    import cv2
    import numpy as np

    val = REPO.parent / "shared" / "data" / "val256"
    src = None
    if val.is_dir():
        files = sorted(val.glob("*.jpg"))
        if files:
            src = cv2.imread(str(files[len(files) // 2]), cv2.IMREAD_GRAYSCALE)
    if src is None:
        y, x = np.mgrid[0:256, 0:256]
        src = (128 + 60 * np.sin(x / 13.0) * np.cos(y / 7.0) + 40 * (x > 128)).clip(0, 255).astype(np.uint8)
    return cv2.resize(src, (width, height), interpolation=cv2.INTER_CUBIC)


def run_case(model: str, height: int, width: int, size: int, repeats: int) -> dict:
    import torch

    import colorstudio
    from colorstudio.core.engine import load_engine

    engine = load_engine(model, device="cpu", working_size=size)
    img = _photo(height, width)
    hints = [colorstudio.Hint(0.5, 0.5, (180, 60, 40)), colorstudio.Hint(0.2, 0.3, (60, 90, 160))]
    engine.colorize(img, hints)  # warm-up
    times = []
    for i in range(repeats):
        moved = [hints[0].moved(0.5, 0.5 + 0.01 * (i + 1)), hints[1]]  # new hints: no cached forward pass
        t0 = time.perf_counter()
        engine.colorize(img, moved)
        times.append(time.perf_counter() - t0)
    del torch
    return {"ms": 1000 * sorted(times)[len(times) // 2], "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_detail(model: str, rw: int, rh: int, ow: int, oh: int, repeats: int) -> dict:
    import colorstudio
    from colorstudio.core.engine import load_engine
    from colorstudio.gui.document import make_preview

    engine = load_engine(model, device="cpu")
    scan = _photo(4240, 5656)
    preview = make_preview(scan)
    hints = [colorstudio.Hint(0.5, 0.5, (180, 60, 40)), colorstudio.Hint(0.2, 0.3, (60, 90, 160))]
    engine.colorize(preview, hints)  # the preview the view shows: its prediction is cached
    region = ((5656 - rw) // 2, (4240 - rh) // 2, rw, rh)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        engine.colorize_region(preview, hints, region, (ow, oh), full=scan)
        times.append(time.perf_counter() - t0)
    times = times[1:]
    return {"ms": 1000 * sorted(times)[len(times) // 2], "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_full_network(size: int, repeats: int) -> dict:
    """Forward time of the published full-size network, in the faster of the two memory
    layouts (the engine runs every model, the published one included, channels_last)."""
    import torch

    from colorstudio.core.model import SIGGRAPH17, ColorNet

    net = ColorNet(SIGGRAPH17).eval()
    x = torch.zeros(1, 1, size, size)
    ab = torch.zeros(1, 2, size, size)
    best = {}
    with torch.inference_mode():
        for layout in (torch.contiguous_format, torch.channels_last):
            net = net.to(memory_format=layout)
            net(x, ab, x)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                net(x, ab, x)
                times.append(time.perf_counter() - t0)
            best[str(layout).replace("torch.", "")] = 1000 * sorted(times)[len(times) // 2]
    return {"ms": min(best.values()), **best}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--case", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.case:
        kind, *vals = args.case.split(",")
        if kind == "full":
            res = run_full_network(int(vals[0]), args.repeats)
        elif kind == "detail":
            res = run_detail(args.model, *(int(v) for v in vals), args.repeats)
        else:
            res = run_case(args.model, int(vals[0]), int(vals[1]), int(vals[2]), args.repeats)
        print(json.dumps(res))
        return 0

    def sub(case: str, repeats: int) -> dict:
        cmd = [sys.executable, __file__, "--model", args.model, "--repeats", str(repeats), "--case", case]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        return json.loads(out.stdout.strip().splitlines()[-1])

    fulls = {s: sub(f"full,{s}", 3) for s in (256, 384, 512)}
    full = {s: r["ms"] for s, r in fulls.items()}
    print(f"model: {args.model}; torch threads: {args.threads or 'default'}; median of {args.repeats} runs")
    print("full-size network forward (ms), default / channels_last layout: " + ", ".join(
        f"{s}: {r['contiguous_format']:.0f} / {r['channels_last']:.0f}" for s, r in fulls.items()) + "\n")
    print("| image | working size | colorize (ms) | peak memory (MB) | full-size network forward (ms) | ratio |")
    print("|---|---|---|---|---|---|")
    for label, h, w, size in CASES:
        reps = args.repeats if h * w <= 4_000_000 else max(2, args.repeats // 2)
        r = sub(f"case,{h},{w},{size}", reps)
        small = h * w <= 1024 * 1024
        ratio = f"1/{full[size] / r['ms']:.1f}" if small else ""
        fn = f"{full[size]:.0f}" if small else ""
        print(f"| {label} ({w}x{h}) | {size} | {r['ms']:.0f} | {r['peak_mb']:.0f} | {fn} | {ratio} |")
    print("\nZoomed-in view of a 24 MP scan (5656x4240), Engine.colorize_region after the preview:\n")
    print("| view | region | rendered at | render (ms) | peak memory (MB) |")
    print("|---|---|---|---|---|")
    for label, rw, rh, ow, oh in DETAIL_CASES:
        r = sub(f"detail,{rw},{rh},{ow},{oh}", args.repeats)
        print(f"| {label} | {rw}x{rh} | {ow}x{oh} | {r['ms']:.0f} | {r['peak_mb']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
