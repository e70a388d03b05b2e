"""Application setup: QApplication, logging, the crash hook, and run_app().

`run_app(path, smoke_test=True)` opens the window (offscreen is fine), opens `path`,
waits for the first colorized result and prints "smoke test ok": the packaged-app CI
calls it through `colorstudio gui --smoke-test PHOTO`.
"""
from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QEvent, QEventLoop, QStandardPaths, Qt, QThread, QTimer
from PySide6.QtGui import QFileOpenEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("colorstudio.gui")
SMOKE_TIMEOUT_S = 60


class ColorStudioApp(QApplication):
    """The application object. On macOS, photos and folders opened from the Finder (Open With,
    a double-click on a file type the app is registered for, a drop on the Dock icon) arrive
    as FileOpen events sent to it, not as command-line arguments. They are kept until a window
    takes them (the one that launches the app comes before the window exists)."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv)
        self.pending_opens: list[str] = []
        self._open: Callable[[str], object] | None = None

    def event(self, event: QEvent) -> bool:  # noqa: D102 - Qt override
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            path = event.file() or event.url().toLocalFile()
            if path:
                self.pending_opens.append(path)
                if self._open is not None:
                    QTimer.singleShot(0, self._flush_opens)  # not inside the event: opening may ask things
            return True
        return super().event(event)

    def take_opens(self, receiver: Callable[[str], object]) -> None:
        """From now on, and for those asked for already, `receiver(path)` opens them."""
        self._open = receiver
        self._flush_opens()

    def _flush_opens(self) -> None:
        pending, self.pending_opens = self.pending_opens, []
        for path in pending:
            if self._open is not None:
                self._open(path)


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), with names used by QSettings and QStandardPaths."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = ColorStudioApp(argv if argv is not None else [sys.argv[0]])
    app.setOrganizationName("ColorStudio")
    app.setApplicationName("ColorStudio")
    app.setApplicationDisplayName("ColorStudio")
    from .. import __version__

    app.setApplicationVersion(__version__)
    from PySide6.QtGui import QIcon

    from ..core.engine import resources_dir

    icon = resources_dir() / "icons" / "colorstudio.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    app.setDesktopFileName("colorstudio")
    return app  # type: ignore[return-value]


def log_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".colorstudio") / "colorstudio.log"


def setup_logging() -> None:
    if any(getattr(h, "_colorstudio", False) for h in log.handlers):
        return
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._colorstudio = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """Log an uncaught exception, keep the user's hints (autosave), and show a dialog."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    text = "".join(traceback.format_exception(kind, value, tb))
    log.error("uncaught exception\n%s", text)
    print(text, file=sys.stderr)
    app = QApplication.instance()
    if app is None:
        return
    from .main_window import MainWindow, can_ask_user

    kept = True
    for w in app.topLevelWidgets():
        if isinstance(w, MainWindow):
            try:
                kept = w.autosave_now() and kept
            except Exception:  # noqa: BLE001 - the hook must never raise
                kept = False
    if QThread.currentThread() is not app.thread() or not can_ask_user():
        return
    work = ("Your hints are autosaved." if kept else
            "Your unsaved hints could not be autosaved: save them (File > Save Hints As…) before you close.")
    box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error",
                      f"Something went wrong: {value}\n\n{work} Details are in {log_path()}.")
    box.setDetailedText(text)
    box.exec()


def install_excepthook() -> None:
    sys.excepthook = excepthook


def run_app(path: str | os.PathLike[str] | None = None, smoke_test: bool = False) -> int:
    """Start the app; return the exit status. smoke_test: open `path`, wait for a result, quit."""
    if smoke_test and _headless():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # CI machines often have no display
    app = create_app()
    setup_logging()
    install_excepthook()
    from .main_window import MainWindow

    win = MainWindow()
    if smoke_test:
        return _smoke_test(app, win, path)
    win.show()
    win.controller.preload()
    if path:
        QTimer.singleShot(0, lambda: win.open_path(path))
    if isinstance(app, ColorStudioApp):
        QTimer.singleShot(0, lambda: app.take_opens(win.open_path))
    return int(app.exec())


def _headless() -> bool:
    return sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _smoke_test(app: QApplication, win: object, path: str | os.PathLike[str] | None) -> int:
    from .main_window import MainWindow

    assert isinstance(win, MainWindow)
    failures: list[str] = []
    win.controller.engine_failed.connect(failures.append)
    win.controller.inference_failed.connect(failures.append)
    win.show()
    status = 1
    try:
        if not path:
            print("smoke test failed: no photo given", file=sys.stderr)
            return 2
        ready: list[bool] = []
        win.result_ready.connect(lambda: ready.append(True))
        if not win.open_path(path):
            print(f"smoke test failed: could not open {path}", file=sys.stderr)
            return 1
        loop = QEventLoop()
        win.result_ready.connect(loop.quit)
        win.controller.engine_failed.connect(lambda _m: loop.quit())
        win.controller.inference_failed.connect(lambda _m: loop.quit())
        QTimer.singleShot(SMOKE_TIMEOUT_S * 1000, loop.quit)
        if not ready and not failures:
            loop.exec()
        if ready:
            print("smoke test ok")
            status = 0
        elif failures:
            print(f"smoke test failed: {failures[0]}", file=sys.stderr)
        else:
            print(f"smoke test failed: no result within {SMOKE_TIMEOUT_S} s", file=sys.stderr)
    finally:
        win.close()
        app.processEvents()
    return status
