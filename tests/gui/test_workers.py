"""Live re-inference: latest request wins, the middle one is coalesced, stale results dropped."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from colorstudio.core.hints import Hint
from colorstudio.gui.workers import InferenceController

from .conftest import FakeEngine, canvas_point


def test_three_quick_requests_middle_coalesced_latest_shown(make_window, photo, qtbot) -> None:  # noqa: ANN001
    gate = threading.Event()
    gate.set()
    engine = FakeEngine(gate=gate)
    win = make_window(engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_image(photo)
    engine.calls.clear()
    shown: list[tuple] = []
    win.result_ready.connect(lambda: shown.append(win.document.hints))

    gate.clear()  # the next forward pass blocks until the test releases it
    engine.started.clear()
    win.canvas.add_requested.emit(0.2, 0.2)  # request 1: starts running, blocks
    qtbot.waitUntil(engine.started.is_set, timeout=5000)
    first = win.document.hints
    win.canvas.add_requested.emit(0.5, 0.5)  # request 2: waits
    qtbot.waitUntil(lambda: win.controller.pending_previews == 2, timeout=5000)
    win.canvas.add_requested.emit(0.8, 0.8)  # request 3: replaces request 2
    qtbot.wait(50)
    final = win.document.hints
    assert len(final) == 3
    assert win.controller.pending_previews == 2  # one running + one waiting, never more
    gate.set()
    qtbot.waitUntil(lambda: len(shown) >= 1 and not win.controller.busy, timeout=10000)
    qtbot.wait(100)
    colorized = [c[1] for c in engine.calls if c[0] == "colorize"]
    assert colorized == [first, final], "the middle request must never run"
    assert shown == [final], "only the latest result is shown"
    assert win.controller.dropped >= 2  # request 2 replaced, result 1 stale


def test_controller_drops_stale_results_directly(qtbot) -> None:  # noqa: ANN001
    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    ctl = InferenceController(engine)
    try:
        got: list = []
        ctl.preview_ready.connect(lambda rgb, ms, ctx, top: got.append(ctx))
        image = np.full((20, 30), 100, np.uint8)
        for i in range(5):
            ctl.request_preview(image, (Hint(0.1 * (i + 1), 0.5, (200, 0, 0)),), context=i)
        assert engine.started.wait(5)
        gate.set()
        qtbot.waitUntil(lambda: bool(got) and not ctl.busy, timeout=10000)
        assert got == [4]
        assert len([c for c in engine.calls if c[0] == "colorize"]) == 2
    finally:
        ctl.shutdown()


def test_the_result_comes_before_the_suggestions_and_exports_before_both(tmp_path, qtbot) -> None:  # noqa: ANN001
    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    ctl = InferenceController(engine)
    try:
        image = np.full((20, 30), 100, np.uint8)
        hints = (Hint(0.5, 0.5, (200, 0, 0)),)
        ctl.request_preview(image, (), context="first")
        assert engine.started.wait(5)  # running; the rest wait behind it
        ctl.request_suggestions(image, (), 0.5, 0.5, 8, context="s")  # a drag ends: suggestions, then the result
        ctl.request_preview(image, hints, context="after the drag")
        ctl.request_export(image, hints, 1.0, tmp_path / "out.png", {}, context="e")
        gate.set()
        qtbot.waitUntil(lambda: not ctl.busy and ctl.pending == 0, timeout=10000)
        assert [j.kind for j in ctl.started_jobs] == ["preview", "export", "preview", "suggest"]
    finally:
        ctl.shutdown()


def test_inference_failure_is_a_message_not_a_crash(make_window, photo, qtbot) -> None:  # noqa: ANN001
    class Broken(FakeEngine):
        def colorize(self, image, hints=(), saturation=1.0):  # noqa: ANN001, ANN201
            if hints:
                raise RuntimeError("GPU fell over")
            return super().colorize(image, hints)

    win = make_window(Broken())
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_image(photo)
    with qtbot.waitSignal(win.controller.inference_failed, timeout=10000) as blocker:
        qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.5, 0.5))
    assert "GPU fell over" in blocker.args[0]
    assert "GPU fell over" in win.statusBar().currentMessage()
    # The next success clears the message.
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.act_undo.trigger()
    assert win.statusBar().currentMessage() == ""


def test_saturation_rerenders_without_new_hints(make_window, photo, tiny_engine, qtbot) -> None:  # noqa: ANN001
    win = make_window(tiny_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.open_image(photo)
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.3, 0.3))
    win.colour_panel.choose((220, 40, 40))
    qtbot.waitUntil(lambda: not win.controller.busy, timeout=20000)
    qtbot.wait(50)
    base = win._result.astype(int)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.saturation_slider.setValue(0)
    gray = win._result.astype(int)
    assert np.abs(gray[..., 0] - gray[..., 1]).max() <= 2  # no chroma left
    assert np.abs(base[..., 0] - base[..., 1]).max() > 5
    assert win.undo_stack.count() == 3 and win.undo_stack.text(2) == "Saturation 0 %"
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.act_undo.trigger()  # the saturation is an edit of the photo like the hints: undoable
    assert win.saturation == 1.0 and win.saturation_slider.value() == 100
    assert np.abs(win._result.astype(int) - base).max() <= 1


def test_missing_model_shows_a_message_and_keeps_editing(make_window, photo, qtbot, monkeypatch,
                                                         tmp_path) -> None:  # noqa: ANN001
    from colorstudio.core.settings import Settings, save_settings

    save_settings(Settings(model=str(tmp_path / "nope.pt"), device="cpu"))
    win = make_window(None)
    with qtbot.waitSignal(win.controller.engine_failed, timeout=20000) as blocker:
        win.open_image(photo)
    assert "nope.pt" in blocker.args[0]
    assert "nope.pt" in win.statusBar().currentMessage()
    from PySide6.QtWidgets import QMessageBox

    box = win.findChild(QMessageBox, "engine_error")
    assert box is not None and box.isVisible() and "Preferences" in box.text()
    box.close()
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.5, 0.5))
    assert len(win.document.hints) == 1  # hints still work; they take the current colour
    assert win.document.hints[0].rgb == win.colour_panel.current


def test_a_gpu_passed_over_for_the_cpu_is_said(make_window, photo, qtbot, monkeypatch) -> None:  # noqa: ANN001
    import torch

    import colorstudio.core.engine as engine_module
    from colorstudio.core.settings import Settings, save_settings

    # "auto" finds a GPU that cannot run the model (see core.engine.load_engine).
    monkeypatch.setattr(engine_module, "resolve_device",
                        lambda name="auto": name if isinstance(name, torch.device) else torch.device("meta"))
    save_settings(Settings(device="auto"))
    win = make_window(None)
    with qtbot.waitSignal(win.controller.engine_ready, timeout=30000):
        win.open_image(photo)
    assert win.device_label.text() == "Device: cpu (default; GPU unusable)"
    assert win.device_label.toolTip().startswith("The GPU (meta) failed a test run, so the CPU is used")
    assert "Note: the GPU (meta) failed a test run" in win.statusBar().currentMessage()


@pytest.mark.parametrize("kind", ["preview", "suggest"])
def test_engine_calls_happen_off_the_gui_thread(make_window, photo, qtbot, kind) -> None:  # noqa: ANN001
    threads: list = []

    class Recording(FakeEngine):
        def colorize(self, *a, **k):  # noqa: ANN002, ANN003, ANN201
            threads.append(threading.current_thread())
            return super().colorize(*a, **k)

        def suggest(self, *a, **k):  # noqa: ANN002, ANN003, ANN201
            threads.append(threading.current_thread())
            return super().suggest(*a, **k)

    win = make_window(Recording())
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_image(photo)
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.5, 0.5))
    qtbot.waitUntil(lambda: not win.controller.busy and len(threads) >= 3, timeout=10000)
    assert threads and all(t is not threading.main_thread() for t in threads)


def test_exports_use_the_export_engine_loaded_once_previews_keep_theirs(tmp_path, qtbot) -> None:  # noqa: ANN001
    preview_engine, export_engine = FakeEngine(), FakeEngine()
    loads: list[int] = []

    def load_export() -> FakeEngine:
        loads.append(1)
        return export_engine

    ctl = InferenceController(preview_engine, export_factory=load_export)
    try:
        image = np.full((20, 30), 100, np.uint8)
        hints = (Hint(0.5, 0.5, (200, 0, 0)),)
        for i in range(2):
            with qtbot.waitSignal(ctl.export_finished, timeout=10000):
                ctl.request_export(image, hints, 1.0, tmp_path / f"out{i}.png", {})
        with qtbot.waitSignal(ctl.preview_ready, timeout=10000):
            ctl.request_preview(image, hints)
        assert (tmp_path / "out0.png").is_file() and (tmp_path / "out1.png").is_file()
        assert loads == [1]  # loaded at the first export, kept for the next
        assert ctl.export_engine is export_engine  # a batch reuses it too
        assert [c[0] for c in export_engine.calls] == ["colorize", "colorize"]
        assert [c[0] for c in preview_engine.calls] == ["colorize"]
        # Without an export factory, exports go to the preview engine again.
        ctl.set_engine(preview_engine)
        with qtbot.waitSignal(ctl.export_finished, timeout=10000):
            ctl.request_export(image, hints, 1.0, tmp_path / "out2.png", {})
        assert len(export_engine.calls) == 2 and len(preview_engine.calls) == 2
    finally:
        ctl.shutdown()


def test_an_export_model_that_fails_to_load_fails_the_export_not_the_preview(tmp_path, qtbot) -> None:  # noqa: ANN001
    def broken() -> FakeEngine:
        raise OSError("quality.pt: no such file")

    ctl = InferenceController(FakeEngine(), export_factory=broken)
    try:
        image = np.full((20, 30), 100, np.uint8)
        with qtbot.waitSignal(ctl.export_failed, timeout=10000) as blocker:
            ctl.request_export(image, (), 1.0, tmp_path / "out.png", {})
        assert "export model could not be loaded" in blocker.args[0] and "quality.pt" in blocker.args[0]
        assert not (tmp_path / "out.png").exists()
        with qtbot.waitSignal(ctl.preview_ready, timeout=10000):
            ctl.request_preview(image, ())
    finally:
        ctl.shutdown()
