"""Cheap checks of the packaging files (no build: .ci/packaging.sh builds and smoke-tests the app)."""
from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "colorstudio.spec"
DESKTOP = REPO / "resources" / "colorstudio.desktop"
ICONS = REPO / "resources" / "icons"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trim() -> ModuleType:
    return _load("colorstudio_packaging_trim", PACKAGING / "trim.py")


class _Recorder:
    """Stands in for PyInstaller's Analysis, PYZ, EXE, COLLECT and BUNDLE: records the arguments."""

    calls: dict[str, SimpleNamespace] = {}

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, *args: Any, **kwargs: Any) -> SimpleNamespace:
        rec = SimpleNamespace(args=args, kwargs=kwargs, pure=[], scripts=[], binaries=[], datas=[])
        self.calls[self.kind] = rec
        return rec


@pytest.fixture
def spec_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, SimpleNamespace]:
    """Run the spec file with recording stand-ins for PyInstaller's classes."""
    source = SPEC.read_text("utf-8")
    code = compile(source, str(SPEC), "exec")
    _Recorder.calls = {}
    namespace = {name: _Recorder(name) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    namespace.update(SPECPATH=str(PACKAGING), workpath=str(tmp_path), DISTPATH=str(tmp_path / "dist"),
                     __file__=str(SPEC), __name__="__main__")
    monkeypatch.setattr(sys, "path", list(sys.path))  # the spec prepends packaging/
    exec(code, namespace)  # noqa: S102 - our own spec file, as PyInstaller runs it
    return _Recorder.calls


def test_spec_bundles_resources_and_builds_a_windowed_app(spec_calls: dict[str, SimpleNamespace]) -> None:
    analysis = spec_calls["Analysis"]
    assert [Path(s) for s in analysis.args[0]] == [REPO / "colorstudio" / "__main__.py"]
    datas = [(Path(src), dest) for src, dest in analysis.kwargs["datas"]]
    assert (REPO / "resources", "resources") in datas  # so sys._MEIPASS/resources resolves
    assert "tkinter" in analysis.kwargs["excludes"]
    assert all(Path(h).is_file() for h in analysis.kwargs["runtime_hooks"])
    exe = spec_calls["EXE"].kwargs
    assert exe["name"] == "ColorStudio"
    assert exe["console"] is False
    assert exe["exclude_binaries"] is True  # one-folder
    assert Path(exe["icon"]).is_file()
    assert spec_calls["COLLECT"].kwargs["name"] == "ColorStudio"


def test_colorstudio_imports_nothing_the_build_leaves_out(trim: ModuleType) -> None:
    assert trim.excluded_imports(REPO / "colorstudio") == []


def test_trim_keeps_what_torch_needs_at_import(trim: ModuleType) -> None:
    assert not trim.dropped("torch/bin/torch_shm_manager")
    assert not trim.dropped("torch/lib/libtorch_cpu.so")
    assert trim.dropped("torch/bin/test_api")
    assert trim.dropped("torch/lib/libtorchbind_test.so")
    assert trim.dropped("torch/include/ATen/ATen.h")
    for needed in ("torch", "torch.nn", "torch.distributed", "torch.testing", "numpy", "cv2", "PIL",
                   "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg", "unittest"):
        assert not trim._is_excluded(needed), needed


def _desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign] - keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_has_the_required_keys() -> None:
    entry = _desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "ColorStudio"
    assert entry["Exec"].startswith("ColorStudio ")  # install-linux.sh puts the full path there
    assert entry["Icon"] == "colorstudio"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "Graphics" in entry["Categories"]
    assert entry["MimeType"].endswith(";")


def test_icons() -> None:
    with Image.open(ICONS / "colorstudio.png") as im:
        assert im.size == (256, 256) and im.mode == "RGBA"
    with Image.open(ICONS / "colorstudio.ico") as im:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(im.info["sizes"])


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("sh") is None, reason="POSIX shell script")
def test_install_linux_writes_a_desktop_entry_for_an_awkward_path(tmp_path: Path) -> None:
    app = tmp_path / "Фото $app \"x\"" / "ColorStudio"
    resources = app / "_internal" / "resources"
    (resources / "icons").mkdir(parents=True)
    shutil.copy(DESKTOP, resources / "colorstudio.desktop")
    shutil.copy(ICONS / "colorstudio.png", resources / "icons" / "colorstudio.png")
    exe = app / "ColorStudio"
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    data = tmp_path / "share"
    env = {**os.environ, "XDG_DATA_HOME": str(data), "HOME": str(tmp_path)}
    proc = subprocess.run(["sh", str(PACKAGING / "install-linux.sh"), str(exe)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    installed = data / "applications" / "colorstudio.desktop"
    entry = _desktop_entry(installed)
    # Desktop Entry spec: the string-level escape (\\ -> \) first, then the Exec quoting rules.
    exec_line = entry["Exec"].replace("\\\\", "\\")
    assert exec_line == '"' + str(exe).replace('"', '\\"').replace("$", "\\$") + '" gui %f'
    assert Path(entry["Icon"]).is_file()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(installed)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    proc = subprocess.run(["sh", str(PACKAGING / "install-linux.sh"), "--uninstall"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and not installed.exists()


def test_runtime_hook_log_is_created_on_first_write_only(tmp_path: Path) -> None:
    hook = _load("colorstudio_rthook_stdio", PACKAGING / "rthook_stdio.py")  # stdio exists: installs nothing
    log_path = tmp_path / "logs" / "colorstudio.log"
    log = hook._LazyLog(str(log_path))
    log.flush()
    assert not log_path.exists()
    print("colorstudio: error: photo.jpg: no such file", file=log)
    assert "photo.jpg: no such file" in log_path.read_text("utf-8")


def test_smoke_test_lightness_reference_agrees_with_core() -> None:
    from colorstudio.core.color import lightness

    smoke = _load("colorstudio_smoke_test", PACKAGING / "smoke_test.py")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    assert np.allclose(smoke.srgb_lightness(rgb), lightness(rgb), atol=0.05)
    gray = rgb[..., 0]
    assert np.allclose(smoke.srgb_lightness(gray), lightness(gray), atol=0.05)


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_runtime_hook_logs_where_the_app_keeps_its_logs(platform: str, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    from colorstudio.core import settings

    hook = _load("colorstudio_rthook_stdio", PACKAGING / "rthook_stdio.py")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "AppData" / "Local"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "platform", platform)
    assert Path(hook._log_path()) == settings.log_dir() / "colorstudio.log"
    assert tmp_path in settings.log_dir().parents and tmp_path in settings.cache_dir().parents


def test_runtime_hook_log_behaves_like_a_text_stream(tmp_path: Path) -> None:
    import io

    hook = _load("colorstudio_rthook_stdio", PACKAGING / "rthook_stdio.py")
    log = hook._LazyLog(str(tmp_path / "colorstudio.log"))
    assert not log.isatty() and log.writable()
    with pytest.raises(io.UnsupportedOperation):
        log.fileno()
    assert log.write("ünïcode ✓\n") == len("ünïcode ✓\n")
    assert "ünïcode ✓" in (tmp_path / "colorstudio.log").read_text("utf-8")
