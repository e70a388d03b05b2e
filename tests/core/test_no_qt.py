"""The core/gui boundary: colorstudio.core (and the command-line path) never import Qt."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO

# Records every attempt to import a Qt binding, even one guarded by try/except, and lists
# what ended up in sys.modules.
SPY = textwrap.dedent("""
    import importlib, json, pkgutil, sys
    QT = ("PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6")
    attempts = []

    class Spy:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in QT:
                attempts.append(name)
            return None

    sys.meta_path.insert(0, Spy())
    {body}
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in QT)
    print(json.dumps({{"attempts": attempts, "loaded": loaded}}))
""")


def run_spy(body: str) -> dict:
    import json

    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run([sys.executable, "-c", SPY.format(body=body)], capture_output=True, text=True,
                          env=env, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_core_package_and_command_line_import_without_qt() -> None:
    # One fresh interpreter: the core first (every module of it), then the package and the CLI.
    result = run_spy(
        "import colorstudio.core\n"
        "for m in pkgutil.walk_packages(colorstudio.core.__path__, 'colorstudio.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "core = list(attempts)\n"
        "import colorstudio, colorstudio.cli\n"
        "colorstudio.cli.build_parser()\n"
        "assert not core, core"
    )
    assert result == {"attempts": [], "loaded": []}


@pytest.mark.skipif(importlib.util.find_spec("PySide6") is None, reason="PySide6 not installed")
def test_the_spy_sees_a_qt_import() -> None:
    # The check above can fail: an import of Qt is seen.
    result = run_spy("import PySide6.QtCore")
    assert "PySide6" in result["attempts"] and "PySide6.QtCore" in result["loaded"]
