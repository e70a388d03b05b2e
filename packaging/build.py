"""Build the ColorStudio app for the platform this runs on: dist/ColorStudio/.

    python packaging/build.py            # checks, builds, prints the time and the size
    python packaging/build.py --no-trim  # without the exclusions of trim.py (to measure them)
    python packaging/build.py --clean    # discard PyInstaller's cache first

Needs `pip install -e .[package]` (PyInstaller) and the shipped model at
resources/models/default.pt. The app is a single folder: copy it anywhere, run
dist/ColorStudio/ColorStudio (ColorStudio.exe on Windows; on macOS dist/ColorStudio.app).
"""
from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))
import trim  # noqa: E402

NAME = "ColorStudio"
REQUIRED = ["resources/models/default.pt", "resources/icons/colorstudio.png", "resources/icons/colorstudio.ico",
            "resources/colorstudio.desktop"]


def fail(message: str) -> int:
    print(f"build: error: {message}", file=sys.stderr)
    return 1


def preflight() -> str | None:
    """A reason not to build, or None."""
    missing = [p for p in REQUIRED if not (ROOT / p).is_file()]
    if missing:
        return (f"missing {', '.join(missing)}; for a test build without the trained model, create a random one: "
                "python -c \"from colorstudio.core.checkpoint import save_model; from colorstudio.core.model "
                "import ColorNet, PRESETS; save_model('resources/models/default.pt', ColorNet(PRESETS['small']))\"")
    bad = trim.excluded_imports(ROOT / "colorstudio")
    if bad:
        return ("colorstudio imports modules the build leaves out (edit packaging/trim.py):\n  " + "\n  ".join(bad))
    sys.path.insert(0, str(ROOT))
    from colorstudio.core.checkpoint import load_model
    from colorstudio.core.errors import ModelFileError

    for model in sorted((ROOT / "resources" / "models").glob("*.pt")):
        try:
            load_model(model)
        except ModelFileError as exc:
            return f"a shipped model does not load, so the app would not either: {exc}"
    return None


def folder_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def make_readable(path: Path) -> None:
    """Files written with private permissions (atomic model saves are 0600) must be readable by every user."""
    for p in [path, *path.rglob("*")]:
        if p.is_symlink():
            continue
        mode = p.stat().st_mode
        extra = stat.S_IRGRP | stat.S_IROTH
        if p.is_dir() or mode & stat.S_IXUSR:
            extra |= stat.S_IXGRP | stat.S_IXOTH
        if mode & extra != extra:
            p.chmod(mode | extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-trim", action="store_true", help="build without the exclusions (for comparison)")
    parser.add_argument("--clean", action="store_true", help="clear PyInstaller's cache and build folder first")
    parser.add_argument("--distpath", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    parser.add_argument("--workpath", default=str(ROOT / "build"), help="PyInstaller work folder (default: build/)")
    args = parser.parse_args(argv)

    problem = preflight()
    if problem:
        return fail(problem)

    env = dict(os.environ)
    # Analyse this source tree even when another checkout is pip-installed (editable).
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["COLORSTUDIO_TRIM"] = "0" if args.no_trim else "1"
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", args.distpath, "--workpath", args.workpath, str(ROOT / "packaging" / "colorstudio.spec")]
    if args.clean:
        cmd.insert(3, "--clean")
    print("build:", " ".join(cmd), flush=True)
    start = time.monotonic()
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    elapsed = time.monotonic() - start
    if rc != 0:
        return fail(f"PyInstaller failed (exit status {rc})")

    app = Path(args.distpath) / NAME
    exe = app / (NAME + ".exe" if sys.platform == "win32" else NAME)
    if not exe.is_file():
        return fail(f"{exe} was not built")
    if not (app / "_internal" / "resources" / "models" / "default.pt").is_file():
        return fail(f"{app}: resources/ is missing from the bundle")
    make_readable(app)
    if sys.platform.startswith("linux"):
        shutil.copy2(ROOT / "packaging" / "install-linux.sh", app / "install-linux.sh")
    size = folder_size(app)
    print(f"build: {exe} built in {elapsed / 60:.1f} min; {app} is {size / 2**20:.0f} MiB"
          f"{' (untrimmed)' if args.no_trim else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
