"""What the packaged app leaves out, shared by colorstudio.spec and build.py.

ColorStudio needs torch (inference, and training from the command line), numpy, cv2,
Pillow and three Qt modules (QtCore, QtGui, QtWidgets). PyInstaller's torch hook
collects every torch submodule and its sources; most of that is compiler, export and
test machinery an app that runs a forward pass never imports. Each exclusion below was
checked against what `import colorstudio` + a colorization + the GUI load at run time;
build.py refuses to build if colorstudio's own code imports an excluded module, and the
smoke test (packaging/smoke_test.py) runs the built app.
"""
from __future__ import annotations

import ast
import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

# Python packages the app never imports (some are pulled in by optional imports of
# torch or PIL, or are only used by our tests and benchmarks).
PY_EXCLUDES = [
    "tkinter", "_tkinter", "turtle", "turtledemo", "idlelib", "lib2to3", "ensurepip", "venv", "distutils",
    "sqlite3", "_sqlite3", "pydoc_data", "setuptools", "_distutils_hack", "pkg_resources", "pip", "wheel",
    "matplotlib", "IPython", "ipykernel", "jupyter_client", "notebook", "pandas", "jedi", "parso",
    "prompt_toolkit", "pygments", "traitlets", "stack_data", "executing", "asttokens", "pure_eval",
    "pexpect", "ptyprocess", "wcwidth", "colorama",
    "pytest", "_pytest", "pytestqt", "pluggy", "iniconfig", "hypothesis", "pytest_benchmark",
    "trio", "outcome", "sniffio", "sortedcontainers", "attr", "attrs",
    "requests", "urllib3", "charset_normalizer", "idna", "cryptography", "cffi", "pycparser", "yaml",
    "fsspec",
    "skimage", "scipy",  # tests, benchmarks and the eval's Levin baseline only (DEV_ONLY below)
    "sympy", "mpmath", "networkx", "jinja2", "triton",  # torch.compile / symbolic shapes only
    "tensorboard", "onnx", "onnxruntime", "torchvision", "PyQt5", "PyQt6", "PySide2",
]

# torch subpackages for compiling, exporting, profiling, testing: not used to run a model.
TORCH_EXCLUDES = [
    "torch._dynamo", "torch._inductor", "torch.onnx", "torch.utils.tensorboard",
    "torch.utils.benchmark", "torch.utils.bottleneck", "torch.utils.cpp_extension",
    "torch.utils.hipify", "torch._numpy", "torch.contrib", "torch._lazy",
    "torch.testing._internal.distributed", "torch.testing._internal.opinfo",
    "torch.testing._internal.optests", "torch.testing._internal.generated",
    "torch.testing._internal.codegen", "torch.testing._internal.test_module",
    "torch.testing._internal.inductor_utils", "functorch", "caffe2",
]

# Qt modules the app does not use. PySide6-Essentials lacks most of the heavy ones
# (WebEngine, 3D, Multimedia); listing them keeps a full PySide6 install from
# dragging them in.
QT_EXCLUDES = [
    f"PySide6.{m}" for m in (
        "QtWebEngineCore", "QtWebEngineWidgets", "QtWebEngineQuick", "QtWebChannel", "QtWebSockets",
        "QtWebView", "Qt3DCore", "Qt3DRender", "Qt3DInput", "Qt3DLogic", "Qt3DAnimation", "Qt3DExtras",
        "QtQml", "QtQuick", "QtQuickWidgets", "QtQuickControls2", "QtQuick3D", "QtMultimedia",
        "QtMultimediaWidgets", "QtSpatialAudio", "QtTextToSpeech", "QtCharts", "QtDataVisualization",
        "QtGraphs", "QtGraphsWidgets", "QtBluetooth", "QtNfc", "QtPositioning", "QtLocation", "QtSensors",
        "QtSerialPort", "QtSerialBus", "QtRemoteObjects", "QtScxml", "QtStateMachine", "QtSql", "QtTest",
        "QtPdf", "QtPdfWidgets", "QtDesigner", "QtUiTools", "QtHelp", "QtNetworkAuth", "QtHttpServer",
        "QtOpenGL", "QtOpenGLWidgets", "QtXml", "QtConcurrent", "QtAxContainer", "QtCanvasPainter",
        "QtNetwork", "QtDBus",
    )
]

EXCLUDES = PY_EXCLUDES + TORCH_EXCLUDES + QT_EXCLUDES

# Collected files (destination paths inside the bundle) to drop: torch's C++ test
# programs and test libraries, headers, CMake files (torch/bin/torch_shm_manager stays:
# `import torch` checks that it exists); Qt translations other than the
# base ones the standard dialogs use.
DROP_FILES = [
    "torch/bin/*[Tt]est*", "torch/bin/protoc*", "torch/bin/*.pt", "torch/bin/*.ptl", "torch/test/*", "torch/include/*", "torch/share/*",
    "torch/lib/*test*", "torch/lib/libbackend_with_compiler*", "torch/lib/libaoti_custom_ops*",
    "PySide6/Qt/translations/qtwebengine*", "PySide6/Qt/translations/assistant*",
    "PySide6/Qt/translations/designer*", "PySide6/Qt/translations/linguist*",
    "PySide6/Qt/translations/qt_help*",
]


# Libraries whose symbol tables are removed (Linux): torch ships libtorch_cpu.so with a
# ~90 MB symbol table. Only torch's own libraries: stripping the libraries that auditwheel
# and patchelf have rewritten (numpy.libs, opencv, pillow.libs, extension modules) breaks
# them ("ELF load command address/offset not page-aligned").
STRIP_FILES = ["torch/lib/libtorch_cpu.so", "torch/lib/libtorch_python.so", "torch/lib/libc10.so"]


def strip_torch_libraries(binaries: list[tuple[str, str, str]], workdir: Path) -> list[tuple[str, str, str]]:
    """`binaries` with STRIP_FILES replaced by stripped copies made in workdir (Linux, if `strip` exists)."""
    tool = shutil.which("strip")
    if not sys.platform.startswith("linux") or tool is None:
        return binaries
    out = []
    for dest, src, kind in binaries:
        if any(fnmatch.fnmatchcase(dest.replace("\\", "/"), pat) for pat in STRIP_FILES):
            target = workdir / "stripped" / dest
            source = Path(src)
            if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
                target.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run([tool, "--strip-unneeded", "-o", str(target), str(source)], check=True)
            src = str(target)
        out.append((dest, src, kind))
    return out


def dropped(dest: str) -> bool:
    """Whether a collected file, by its destination path in the bundle, is left out."""
    dest = dest.replace("\\", "/")
    return any(fnmatch.fnmatchcase(dest, pat) for pat in DROP_FILES)


def _is_excluded(module: str) -> bool:
    return any(module == x or module.startswith(x + ".") for x in EXCLUDES)


# Developer-only modules the app never imports at run time: `colorstudio eval`'s classic
# propagation baseline needs scipy; the packaged app says so instead of carrying 80 MB.
DEV_ONLY = ("train/levin.py",)


def excluded_imports(source_dir: Path) -> list[str]:
    """'file:line: module' for every import under source_dir of a module the build leaves out."""
    found: list[str] = []
    for path in sorted(source_dir.rglob("*.py")):
        if path.relative_to(source_dir).as_posix() in DEV_ONLY:
            continue
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if _is_excluded(name):
                    found.append(f"{path}:{node.lineno}: {name}")
                    break
    return found
