"""Smoke test of the BUILT app, run the way a user runs it: no source tree, no Python.

    python packaging/smoke_test.py                       # tests dist/ColorStudio
    python packaging/smoke_test.py --app path/to/ColorStudio
    python packaging/smoke_test.py --copy-to "/tmp/Фото app" --read-only

Each run of the executable runs in a temporary working folder (named with non-ASCII
letters and a space) with a minimal
environment: HOME and the XDG folders in a temporary home, PATH = an empty folder (no
python anywhere), no PYTHONPATH, no DISPLAY. Checks:
  1. `colorize photo.png -o out.png --hints hints.json`: exit 0; out.png exists, same
     size as the photo, and keeps its lightness (CIE L within a small tolerance);
  2. `gui --smoke-test photo.png` offscreen: exit 0 and "smoke test ok" printed;
     `batch scans -o colorized --format tif` over a PNG and a JPEG 2000 scan: one output per
     photo, same size, TIFF (written by the bundled tifffile) at the PNG's 600 dpi, input
     folder untouched;
  3. a missing and a corrupt bundled model (COLORSTUDIO_RESOURCES): the CLI fails with a
     one-line error naming the model, no traceback; the GUI fails likewise, without
     hanging on a dialog;
  4. with stdout and stderr closed (as in a windowed app without a console) an error
     is written to the per-user log file;
  5. nothing is written into the app folder by any of the runs.
--copy-to first copies the app folder there (a non-ASCII path, say); --read-only then
removes write permission from the copy (as root that does not stop writes, so check 5
is what proves the app writes nothing next to its executable).
Needs numpy and Pillow in the Python that runs this script (not in the app's environment).
Exit status 0 when every check passed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NAME = "ColorStudio"
TIMEOUT_S = 300


class SmokeFailure(Exception):
    pass


def find_executable(app: Path) -> Path:
    """The executable inside an app folder (or the executable itself)."""
    if app.is_file():
        return app
    for cand in (app / f"{NAME}.exe", app / NAME, app / "Contents" / "MacOS" / NAME):
        if cand.is_file():
            return cand
    raise SmokeFailure(f"{app}: no {NAME} executable found (build it with: python packaging/build.py)")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime_ns) of every file and folder under `folder`."""
    out = {}
    for p in [folder, *folder.rglob("*")]:
        st = p.lstat()
        out[str(p.relative_to(folder))] = (st.st_size if not p.is_dir() else 0, st.st_mtime_ns)
    return out


def srgb_lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L (0..100) of uint8 sRGB (H, W, 3) or gray (H, W): an independent reference."""
    c = rgb.astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = lin if lin.ndim == 2 else lin @ np.array([0.2126729, 0.7151522, 0.0721750])
    f = np.where(y > (6 / 29) ** 3, np.cbrt(y), y / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116.0 * f - 16.0


def make_photo(path: Path, width: int = 160, height: int = 120) -> None:
    """A grayscale 'photo': sky gradient, a dark building with windows, textured ground."""
    y, x = np.mgrid[0:height, 0:width]
    img = 200 - 60 * y / height
    img = np.where((x > 40) & (x < 110) & (y > 35), 70, img)
    img = np.where((x > 50) & (x < 100) & (y > 45) & (y < 60) & ((x // 8) % 2 == 0), 180, img)
    img = np.where(y > 95, 120 + 25 * np.sin(x / 3.0) * np.cos(y / 2.0), img)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").save(path, dpi=(600, 600))


def write_hints(path: Path) -> None:
    doc = {"format": "colorstudio.hints", "version": 1,
           "hints": [{"x": 0.5, "y": 0.15, "color": "#4f86c6"}, {"x": 0.45, "y": 0.7, "color": "#b42823"},
                     {"x": 0.2, "y": 0.9, "color": "#4c8a3c"}]}
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


class Runner:
    def __init__(self, exe: Path, home: Path) -> None:
        self.exe = exe
        self.home = home
        self.empty_bin = home / "empty-bin"
        self.empty_bin.mkdir(parents=True, exist_ok=True)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "HOME": str(self.home), "USERPROFILE": str(self.home), "PATH": str(self.empty_bin),
            "XDG_CONFIG_HOME": str(self.home / ".config"), "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"), "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "APPDATA": str(self.home / "AppData" / "Roaming"), "LOCALAPPDATA": str(self.home / "AppData" / "Local"),
            "TMPDIR": str(self.home / "tmp"), "TEMP": str(self.home / "tmp"), "TMP": str(self.home / "tmp"),
            "LANG": os.environ.get("LANG", "C.UTF-8"), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
        }
        if sys.platform == "win32":  # Windows needs these to start any program
            for key in ("SYSTEMROOT", "WINDIR", "COMSPEC"):
                if key in os.environ:
                    env[key] = os.environ[key]
        (self.home / "tmp").mkdir(exist_ok=True)
        env.update(extra)
        return env

    def run(self, args: list[str], cwd: Path, timeout: float = TIMEOUT_S, closed_stdio: bool = False,
            **extra_env: str) -> subprocess.CompletedProcess[str]:
        start = time.monotonic()
        label = " ".join([NAME, *args])
        try:
            if closed_stdio:  # as a windowed app started without a console: no stdout, no stderr
                proc = subprocess.run([str(self.exe), *args], cwd=cwd, env=self.env(**extra_env), timeout=timeout,
                                      stdin=subprocess.DEVNULL, text=True,
                                      preexec_fn=_close_stdio if os.name == "posix" else None)
            else:
                proc = subprocess.run([str(self.exe), *args], cwd=cwd, env=self.env(**extra_env), timeout=timeout,
                                      stdin=subprocess.DEVNULL, capture_output=True, text=True, encoding="utf-8",
                                      errors="replace")
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"{label}: no exit within {timeout:.0f} s (hung?)") from None
        print(f"  {label}: exit {proc.returncode} in {time.monotonic() - start:.1f} s", flush=True)
        return proc


def _close_stdio() -> None:
    os.close(1)
    os.close(2)


def details(proc: subprocess.CompletedProcess[str]) -> str:
    out = ((proc.stdout or "") + (proc.stderr or "")).strip()
    return "\n    " + "\n    ".join(out.splitlines()[-25:]) if out else " (no output)"


def check(condition: bool, message: str, proc: subprocess.CompletedProcess[str] | None = None) -> None:
    if not condition:
        raise SmokeFailure(message + (details(proc) if proc is not None else ""))


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr lines that are not Qt's or the platform plugin's chatter."""
    noise = ("Qt depends on a UTF-8 locale", "If this causes problems", "for more information",
             "This plugin does not support", "QStandardPaths:", "qt.qpa.")
    return [ln for ln in (proc.stderr or "").splitlines() if ln.strip() and not ln.startswith(noise)]


def test_colorize(run: Runner, work: Path) -> None:
    photo, hints, out = work / "photo.png", work / "hints.json", work / "out.png"
    make_photo(photo)
    write_hints(hints)
    proc = run.run(["colorize", "photo.png", "-o", "out.png", "--hints", "hints.json"], cwd=work)
    check(proc.returncode == 0, "colorize failed", proc)
    check("Traceback" not in proc.stderr, "colorize printed a traceback", proc)
    check(out.is_file(), f"colorize exited 0 but wrote no {out.name}", proc)
    src = np.asarray(Image.open(photo))
    with Image.open(out) as im:
        check(im.size == (src.shape[1], src.shape[0]), f"output size {im.size} != input size {src.shape[1::-1]}")
        got = np.asarray(im.convert("RGB"))
    diff = np.abs(srgb_lightness(got) - srgb_lightness(src))
    print(f"  lightness kept: mean |dL| = {diff.mean():.2f}, 99th percentile {np.percentile(diff, 99):.2f}, "
          f"chroma: mean channel spread {np.ptp(got.astype(int), axis=2).mean():.1f}")
    check(diff.mean() < 1.0 and np.percentile(diff, 99) < 4.0,
          f"output lightness differs from the input's: mean |dL| {diff.mean():.2f}, max {diff.max():.2f}")


def test_gui(run: Runner, work: Path) -> None:
    proc = run.run(["gui", "--smoke-test", "photo.png"], cwd=work, QT_QPA_PLATFORM="offscreen")
    check(proc.returncode == 0, "gui --smoke-test failed", proc)
    check("smoke test ok" in proc.stdout + proc.stderr, "gui --smoke-test did not print 'smoke test ok'", proc)


def test_batch(run: Runner, work: Path) -> None:
    """`batch IN -o OUT`: one output per photo, IN untouched. Skipped while the build has no batch module."""
    src, dst = work / "scans", work / "colorized"
    src.mkdir()
    for name, size in (("scan 0.png", (96, 64)), ("scan 1.jp2", (64, 80))):  # JPEG 2000: Pillow's bundled codec
        make_photo(src / name, *size)
    before = snapshot(src)
    proc = run.run(["batch", "scans", "-o", "colorized", "--format", "tif"], cwd=work)
    if "No module named 'colorstudio.core.batch'" in proc.stderr:
        print("    skipped: this source tree has no colorstudio.core.batch yet")
        return
    check(proc.returncode == 0, "batch failed", proc)
    check("Traceback" not in proc.stderr, "batch printed a traceback", proc)
    for photo in sorted(src.glob("scan *")):
        outs = [p for p in dst.glob(photo.stem + ".*") if p.suffix != ".jsonl"]
        check(len(outs) == 1, f"batch wrote {len(outs)} outputs for {photo.name}: {outs}", proc)
        with Image.open(photo) as a, Image.open(outs[0]) as b:
            check(a.size == b.size, f"batch output {outs[0].name} is {b.size}, input {a.size}")
            check(b.format == "TIFF", f"batch output {outs[0].name} is {b.format}, not TIFF")
            if photo.suffix == ".png":
                check(tuple(b.info.get("dpi", ())) == (600, 600),
                      f"batch output {outs[0].name}: {b.info.get('dpi')} dpi; want the scan's 600 dpi")
            # the horizontal predictor: written by the bundled tifffile, not Pillow's fallback
            check(b.tag_v2.get(317) == 2, f"batch output {outs[0].name} was not written by tifffile")
    check(snapshot(src) == before, "batch changed its input folder")


def test_bad_model(run: Runner, work: Path) -> None:
    empty = work / "no-resources"
    corrupt = work / "corrupt-resources"
    empty.mkdir()
    (corrupt / "models").mkdir(parents=True)
    (corrupt / "models" / "default.pt").write_bytes(b"PK\x03\x04 this is not a model" * 50)
    for label, folder in (("missing", empty), ("corrupt", corrupt)):
        proc = run.run(["colorize", "photo.png", "-o", f"out-{label}.png"], cwd=work, timeout=120,
                       COLORSTUDIO_RESOURCES=str(folder))
        lines = error_lines(proc)
        check(proc.returncode != 0, f"colorize with a {label} model exited 0", proc)
        check("Traceback" not in proc.stderr, f"colorize with a {label} model printed a traceback", proc)
        check(len(lines) == 1 and "model" in lines[0],
              f"colorize with a {label} model: expected one error line naming the model", proc)
        print(f"    stderr: {lines[0]}")
        check(not (work / f"out-{label}.png").exists(), f"colorize with a {label} model wrote an output")
        proc = run.run(["gui", "--smoke-test", "photo.png"], cwd=work, timeout=120, QT_QPA_PLATFORM="offscreen",
                       COLORSTUDIO_RESOURCES=str(folder))
        check(proc.returncode != 0, f"gui --smoke-test with a {label} model exited 0", proc)
        check("Traceback" not in proc.stderr, f"gui with a {label} model printed a traceback", proc)
        check(any("model" in ln for ln in error_lines(proc)), f"gui with a {label} model did not name the model", proc)


def test_train_unavailable(run: Runner, work: Path) -> None:
    """The build leaves torch's compiler out (trim.py), which training needs: `train` must say
    so in one line at once, not crash after caching the photos."""
    proc = run.run(["train", "--data", ".", "--steps", "1"], cwd=work, timeout=120)
    lines = error_lines(proc)
    check(proc.returncode == 1 and len(lines) == 1 and "'train' is not available in this installation" in lines[0],
          "train in the packaged app did not refuse in one line", proc)
    print(f"    {lines[0]}")


def test_no_console(run: Runner, work: Path) -> None:
    """stdout/stderr closed: the error must land in the per-user log (packaging/rthook_stdio.py)."""
    if os.name != "posix":
        return  # the Windows path (attach to the parent console) cannot be simulated here
    proc = run.run(["colorize", "missing.png", "-o", "x.png"], cwd=work, timeout=120, closed_stdio=True)
    check(proc.returncode != 0, "colorize of a missing file exited 0 with no console")
    if sys.platform == "darwin":
        log = run.home / "Library" / "Logs" / NAME / "colorstudio.log"
    else:
        log = run.home / ".local" / "state" / "colorstudio" / "colorstudio.log"
    check(log.is_file(), f"with no console, the error was not written to {log}")
    text = log.read_text("utf-8", errors="replace")
    check("missing.png" in text, f"{log} does not name the missing file:\n{text}")
    print(f"    {log.relative_to(run.home)}: {text.strip().splitlines()[-1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", default=str(ROOT / "dist" / NAME), help="app folder or executable (default: dist/ColorStudio)")
    parser.add_argument("--copy-to", default=None, help="copy the app folder to this new folder first and test the copy")
    parser.add_argument("--read-only", action="store_true", help="make the tested app folder read-only (with --copy-to)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders (printed)")
    args = parser.parse_args(argv)
    if args.read_only and not args.copy_to:
        parser.error("--read-only needs --copy-to (it changes permissions of the folder it tests)")

    tmp = Path(tempfile.mkdtemp(prefix="colorstudio-smoke-"))
    copied: Path | None = None
    try:
        app = Path(args.app).resolve()
        exe = find_executable(app)
        app_dir = exe.parent if exe.parent.name != "MacOS" else exe.parents[2]
        if args.copy_to:
            copied = Path(args.copy_to)
            if copied.exists():
                raise SmokeFailure(f"{copied} exists; --copy-to needs a new folder")
            start = time.monotonic()
            shutil.copytree(app_dir, copied, symlinks=True)
            print(f"copied {app_dir} to {copied} in {time.monotonic() - start:.1f} s")
            exe = copied / exe.relative_to(app_dir)
            app_dir = copied
            if args.read_only:
                for p in [app_dir, *app_dir.rglob("*")]:
                    if not p.is_symlink():
                        p.chmod(stat.S_IMODE(p.stat().st_mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
                print(f"made {app_dir} read-only")
        print(f"testing {exe}")
        before = snapshot(app_dir)
        run = Runner(exe, tmp / "home")
        work = tmp / "фото work"  # non-ASCII working folder and file paths too
        work.mkdir()
        for name, test in (("colorize with hints", test_colorize), ("GUI smoke test", test_gui),
                           ("batch", test_batch), ("missing/corrupt model", test_bad_model),
                           ("train refused", test_train_unavailable), ("no console", test_no_console)):
            print(f"- {name}")
            test(run, work)
        after = snapshot(app_dir)
        changed = sorted(set(before.items()) ^ set(after.items()))
        check(not changed, f"the app wrote into its own folder {app_dir}: {sorted({k for k, _ in changed})[:10]}")
        written = sorted(str(p.relative_to(run.home)) for p in run.home.rglob("*") if p.is_file())
        print(f"- the app folder is unchanged; per-user files written: {written or 'none'}")
    except SmokeFailure as exc:
        print(f"smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}" + (f" and {copied}" if copied else ""))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            if copied is not None and copied.exists():
                for p in [copied, *copied.rglob("*")]:
                    if not p.is_symlink():
                        p.chmod(stat.S_IMODE(p.stat().st_mode) | stat.S_IWUSR)
                shutil.rmtree(copied, ignore_errors=True)
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
