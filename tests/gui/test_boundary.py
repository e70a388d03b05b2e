"""colorstudio.core never imports Qt; the GUI package imports without a display."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_core_does_not_import_qt() -> None:
    r = _run("import sys, colorstudio, colorstudio.core, colorstudio.core.engine, colorstudio.core.hints, "
             "colorstudio.core.images, colorstudio.core.settings\n"
             "bad = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'PyQt')))\n"
             "print(bad); assert not bad")
    assert r.returncode == 0, r.stdout + r.stderr
