"""GUI test helpers: photos on disk, fake engines, a ready window."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorstudio.core.color import ab_to_rgb


def write_gray(path: Path, width: int = 128, height: int = 96, shift: int = 0) -> Path:
    y, x = np.mgrid[0:height, 0:width]
    img = 60 + shift + 100 * (x > width // 2) + 40 * np.sin(y / 9.0)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").save(path)
    return path


@pytest.fixture(scope="session")
def qapp_cls():  # noqa: ANN201 - pytest-qt: the tests run on the app's own application class
    from colorstudio.gui.app import ColorStudioApp

    return ColorStudioApp


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return write_gray(tmp_path / "photo.png")


class FakeEngine:
    """Colours the photo a flat hue (or the last hint's colour), keeping its lightness.

    Records every call; optionally blocks on `gate` or sleeps, to make scheduling visible.
    """

    def __init__(self, delay: float = 0.0, gate: threading.Event | None = None) -> None:
        self.delay = delay
        self.gate = gate
        self.calls: list[tuple] = []
        self.started = threading.Event()
        self.device = "fake"
        self.name = "fake"
        self.lock = threading.Lock()

    def info(self) -> dict:
        return {"device": "fake", "name": "fake"}

    def colorize(self, image: np.ndarray, hints=(), saturation: float = 1.0) -> np.ndarray:
        with self.lock:
            self.calls.append(("colorize", tuple(hints), image.shape))
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.delay:
            time.sleep(self.delay)
        gray = image if image.ndim == 2 else image[..., 0]
        out = np.repeat(gray[..., None], 3, axis=2).copy()
        if hints:
            r, g, b = hints[-1].rgb
            out[..., 0] = np.minimum(255, gray.astype(np.uint16) * r // 128).astype(image.dtype)
        return out

    def suggest(self, image, hints, x, y, k=8):
        self.calls.append(("suggest", tuple(hints), (x, y)))
        return [ab_to_rgb(50, a, 30) for a in range(-40, 40, 80 // k)][:k]


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def make_window(qtbot):  # noqa: ANN201
    """make_window(engine) -> a shown MainWindow, closed at the end of the test."""
    from colorstudio.gui import MainWindow

    def make(engine=None):  # noqa: ANN001, ANN202
        win = MainWindow(engine=engine)
        qtbot.addWidget(win)
        win.resize(1100, 700)
        win.show()
        qtbot.waitExposed(win)
        return win

    return make


@pytest.fixture
def messages(monkeypatch):  # noqa: ANN201
    """Record QMessageBox.critical / warning / information / question instead of showing them."""
    from PySide6.QtWidgets import QMessageBox

    seen: list[tuple[str, str, str]] = []

    def record(kind):  # noqa: ANN001, ANN202
        def show(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN202
            seen.append((kind, title, text))
            return QMessageBox.StandardButton.Ok

        return show

    for kind in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(record(kind)))
    return seen


def canvas_point(win, x: float, y: float):  # noqa: ANN001, ANN201
    """The widget point of normalised image coordinates on the window's canvas."""
    return win.canvas.image_to_widget(x, y).toPoint()


_TEARING_DOWN = {"now": False}


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_teardown(item, nextitem):  # noqa: ANN001, ANN201
    _TEARING_DOWN["now"] = True
    try:
        yield
    finally:
        _TEARING_DOWN["now"] = False


@pytest.fixture
def answer(monkeypatch):  # noqa: ANN201
    """answer(button) -> the questions asked so far: the window behaves as with a user present
    and every QMessageBox.question gets `button` (at teardown, Discard, so windows close)."""
    from PySide6.QtWidgets import QMessageBox

    from colorstudio.gui import main_window

    asked: list[str] = []
    state = {"button": QMessageBox.StandardButton.Cancel}

    def question(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN202
        if _TEARING_DOWN["now"]:
            return QMessageBox.StandardButton.Discard
        asked.append(text)
        return state["button"]

    monkeypatch.setattr(main_window, "can_ask_user", lambda: True)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))

    def set_answer(button):  # noqa: ANN001, ANN202
        state["button"] = button
        return asked

    yield set_answer
    state["button"] = QMessageBox.StandardButton.Discard
