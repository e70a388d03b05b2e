"""Editing workflows at their edges: a stroke dragged past the photo's border, questions
answered Cancel or Discard, undo steps around a save, a drag across a photo switch."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from colorstudio.core.hints import Hint, save_hints, sidecar_path
from colorstudio.gui import commands
from colorstudio.gui.document import autosave_path, read_autosave, write_autosave

from .conftest import FakeEngine, canvas_point, write_gray


def _open(win, path, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        assert win.open_image(path)


def _click(win, qtbot, x: float = 0.3, y: float = 0.5) -> None:  # noqa: ANN001
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, x, y))


def _roll(tmp_path: Path, name: str = "roll", n: int = 3) -> Path:
    d = tmp_path / name
    d.mkdir()
    for i in range(n):
        write_gray(d / f"frame{i}.png", shift=i * 5)
    return d


def test_a_stroke_dragged_past_the_edge_and_back_keeps_its_shape(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    _open(win, photo, qtbot)
    win.start_stroke(0.15, 0.5)
    win.extend_stroke(0.45, 0.5)
    win.finish_stroke()
    xs = [h.x for h in win.document.hints]
    assert len(xs) >= 5 and all(commands.stroke_of(h) == 1 for h in win.document.hints)
    last = len(xs) - 1
    start, left = canvas_point(win, xs[last], 0.5), canvas_point(win, 0.05, 0.5)
    qtbot.mousePress(win.canvas, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 11):
        qtbot.mouseMove(win.canvas, pos=start + (left - start) * i / 10)
    # As far as it goes: the stroke's first hint at the edge, the shape unchanged.
    moved = [h.x for h in win.document.hints]
    assert moved[0] == 0.0 and moved == pytest.approx([x - xs[0] for x in xs], abs=1e-5)
    for i in range(1, 11):
        qtbot.mouseMove(win.canvas, pos=left + (start - left) * i / 10)
    qtbot.mouseRelease(win.canvas, Qt.MouseButton.LeftButton, pos=start)
    assert [h.x for h in win.document.hints] == pytest.approx(xs, abs=0.01)


def test_a_cancelled_close_does_not_fire_at_a_later_export(make_window, photo, qtbot, tmp_path, answer,  # noqa: ANN001
                                                           messages) -> None:
    gate = threading.Event()
    gate.set()
    win = make_window(FakeEngine(gate=gate))
    _open(win, photo, qtbot)
    _click(win, qtbot)
    qtbot.waitUntil(lambda: not win.controller.busy, timeout=10000)
    asked = answer(QMessageBox.StandardButton.Cancel)
    gate.clear()  # a long export
    assert win.export_to(tmp_path / "out1.jpg")
    win.close()
    assert win.isVisible()  # it waits for the export ...
    with qtbot.waitSignal(win.export_finished, timeout=10000):
        gate.set()
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=5000)  # ... then asks about the hints: Cancel
    assert win.isVisible()
    assert win.save_hints()
    with qtbot.waitSignal(win.export_finished, timeout=10000):
        assert win.export_to(tmp_path / "out2.jpg")
    qtbot.wait(100)
    assert win.isVisible()  # the close the user cancelled stays cancelled


def test_discard_then_a_photo_that_cannot_be_read_leaves_the_edits_as_they_were(make_window, fake_engine,  # noqa: ANN001
                                                                               tmp_path, qtbot, answer,
                                                                               messages) -> None:
    d = _roll(tmp_path)
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    win = make_window(fake_engine)
    _open(win, d / "frame0.png", qtbot)
    _click(win, qtbot)
    _click(win, qtbot, 0.7, 0.2)
    answer(QMessageBox.StandardButton.Discard)
    assert not win.open_image(d / "broken.png")
    assert messages[-1][:2] == ("critical", "Cannot open photo")
    # The photo that cannot be opened is not opened, so nothing of the open one is lost.
    assert len(win.document.hints) == 2 and win.document.dirty and win.undo_stack.count() == 2
    assert win.document.path.name == "frame0.png"


def test_cancel_after_a_click_in_the_strip_keeps_the_strip_on_the_open_photo(make_window, fake_engine,  # noqa: ANN001
                                                                            tmp_path, qtbot, answer,
                                                                            messages) -> None:
    d = _roll(tmp_path)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        assert win.open_folder(d)
    _click(win, qtbot)
    asked = answer(QMessageBox.StandardButton.Cancel)
    strip = win.strip
    qtbot.waitUntil(lambda: strip.visualRect(win.folder_model.index(2)).isValid(), timeout=5000)
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=strip.visualRect(win.folder_model.index(2)).center())
    assert len(asked) == 1 and win.document.path.name == "frame0.png"
    # What Colorize Selected and Paste Hints to Selected act on is the open photo, not frame2.
    assert [p.name for p in strip.selected_paths()] == ["frame0.png"]
    assert strip.currentIndex().row() == 0


def test_cancel_when_opening_another_folder_keeps_the_folder(make_window, fake_engine, tmp_path, qtbot, answer,  # noqa: ANN001
                                                            messages) -> None:
    d1, d2 = _roll(tmp_path, "roll1"), _roll(tmp_path, "roll2", n=2)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        assert win.open_folder(d1)
    _click(win, qtbot)
    asked = answer(QMessageBox.StandardButton.Cancel)
    assert not win.open_folder(d2)
    assert len(asked) == 1 and win.document.path.parent == d1
    assert win.folder_model.root == d1 and [p.name for p in win.folder_model.paths] == [f"frame{i}.png" for i in range(3)]
    assert "roll1" in win.photos_dock.windowTitle()


def test_nudges_after_a_save_are_their_own_undo_step(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    _open(win, photo, qtbot)
    _click(win, qtbot)
    win.canvas.setFocus()
    shift = Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(win.canvas, Qt.Key.Key_Right, shift)
    assert win.save_hints()
    saved = win.document.hints
    qtbot.keyClick(win.canvas, Qt.Key.Key_Right, shift)
    win.act_undo.trigger()
    assert win.document.hints == saved and not win.document.dirty


def test_a_size_change_after_a_save_is_its_own_undo_step(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    _open(win, photo, qtbot)
    _click(win, qtbot)
    win.size_spin.setValue(5.0)
    assert win.save_hints()
    saved = win.document.hints
    win.size_spin.setValue(8.0)
    win.act_undo.trigger()
    assert win.document.hints == saved and not win.document.dirty


def test_saturation_keys_after_a_save_are_their_own_undo_step(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    _open(win, photo, qtbot)
    win.saturation_slider.setFocus()
    qtbot.keyClick(win.saturation_slider, Qt.Key.Key_Right)
    qtbot.keyClick(win.saturation_slider, Qt.Key.Key_PageUp)
    assert win.save_hints()
    saved = win.document.saturation
    qtbot.keyClick(win.saturation_slider, Qt.Key.Key_Right)
    win.act_undo.trigger()
    assert win.document.saturation == saved and not win.document.dirty


def test_restoring_an_autosave_keeps_it_on_disk_until_it_is_rewritten(make_window, photo, qtbot) -> None:  # noqa: ANN001
    save_hints(sidecar_path(photo), (Hint(0.2, 0.2, (200, 40, 40), 0.02),))
    unsaved = (Hint(0.2, 0.2, (200, 40, 40), 0.02), Hint(0.6, 0.6, (30, 90, 200), 0.02))
    gate = threading.Event()  # the reopened photo's first preview takes a while
    win = make_window(FakeEngine(gate=gate))  # first: the window names the app, and so the autosave folder
    write_autosave(photo, unsaved, 0.8)  # left by a session that crashed
    try:
        assert win.open_image(photo)
        assert win.document.hints == unsaved and win.document.dirty
        # A crash now, before the next autosave, must not lose the only copy of that work.
        assert read_autosave(photo)[0].hints == unsaved
    finally:
        gate.set()
    assert autosave_path(photo).exists()


def test_a_new_hint_gets_the_size_the_size_box_shows(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    save_hints(sidecar_path(photo), (Hint(0.7, 0.3, (200, 40, 40), 0.10),))
    win = make_window(fake_engine)
    _open(win, photo, qtbot)
    win.select_hint(0)
    assert win.size_spin.value() == pytest.approx(10.0)
    win.select_hint(-1)  # a click beside the photo
    shown = win.size_spin.value()
    _click(win, qtbot, 0.2, 0.7)
    assert win.document.hints[-1].size * 100 == pytest.approx(shown)


def test_save_as_onto_the_photos_own_hints_file_marks_it_saved(make_window, fake_engine, photo, qtbot,  # noqa: ANN001
                                                             monkeypatch) -> None:
    win = make_window(fake_engine)
    _open(win, photo, qtbot)
    _click(win, qtbot)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(sidecar_path(photo)), "ColorStudio hints (*.json)")))
    win.save_hints_as()
    assert len(json.loads(sidecar_path(photo).read_text("utf-8"))["hints"]) == 1
    assert not win.document.dirty and not win.isWindowModified()


def test_a_drag_does_not_carry_over_to_the_next_photo(make_window, fake_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    a, b = write_gray(tmp_path / "a.png"), write_gray(tmp_path / "b.png", shift=10)
    save_hints(sidecar_path(b), (Hint(0.5, 0.5, (20, 40, 200), 0.05),))
    win = make_window(fake_engine)
    _open(win, b, qtbot)
    b_hints = win.document.hints
    _open(win, a, qtbot)
    _click(win, qtbot, 0.5, 0.5)
    p = canvas_point(win, 0.5, 0.5)
    qtbot.mousePress(win.canvas, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseMove(win.canvas, pos=p + QPoint(20, 0))
    _open(win, b, qtbot)  # Page Down with the button still held
    qtbot.mouseMove(win.canvas, pos=p + QPoint(60, 30))
    qtbot.mouseRelease(win.canvas, Qt.MouseButton.LeftButton, pos=p + QPoint(60, 30))
    assert win.document.hints == b_hints


def test_a_stroke_does_not_carry_over_to_the_next_photo(make_window, fake_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    a, b = write_gray(tmp_path / "a.png"), write_gray(tmp_path / "b.png", shift=10)
    win = make_window(fake_engine)
    _open(win, a, qtbot)
    win.start_stroke(0.2, 0.5)
    win.extend_stroke(0.3, 0.5)
    _open(win, b, qtbot)
    win.extend_stroke(0.6, 0.5)
    win.finish_stroke()
    assert win.document.hints == ()


def test_pasting_the_hints_a_photo_has_adds_no_undo_step(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    _open(win, photo, qtbot)
    _click(win, qtbot)
    win.copy_hints()
    n = win.undo_stack.count()
    win.paste_hints()
    assert win.undo_stack.count() == n


def test_page_keys_in_a_focused_control_stay_in_it(make_window, fake_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    for i in range(3):
        write_gray(tmp_path / f"p{i}.png", 80, 60, shift=i * 20)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(tmp_path)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.next_photo()
    win.saturation_slider.setFocus()
    qtbot.keyClick(win.saturation_slider, Qt.Key.Key_PageUp)  # a page up the slider, not the previous photo
    assert win.saturation_slider.value() > 100 and win.document.path.name == "p1.png"
    win.size_spin.setFocus()
    size = win.size_spin.value()
    qtbot.keyClick(win.size_spin, Qt.Key.Key_PageDown)
    assert win.size_spin.value() < size and win.document.path.name == "p1.png"
    win.strip.setFocus()  # in the strip, Page Down is still Next Photo
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        qtbot.keyClick(win.strip, Qt.Key.Key_PageDown)
    assert win.document.path.name == "p2.png"


def test_letters_typed_in_a_drop_down_list_pick_its_item(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    _open(win, photo, qtbot)
    combo = win.colour_panel.new_hint_mode
    combo.setFocus()
    split = win.act_split.isChecked()
    qtbot.keyClick(combo, Qt.Key.Key_V)
    assert win.act_split.isChecked() == split
    win.canvas.setFocus()
    qtbot.keyClick(win.canvas, Qt.Key.Key_V)  # elsewhere, V is still the split view
    assert win.act_split.isChecked() != split


def test_logging_out_keeps_unsaved_hints_in_the_autosave(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import SIGNAL
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    before = app.receivers(SIGNAL("commitDataRequest(QSessionManager&)"))
    win = make_window(fake_engine)
    assert app.receivers(SIGNAL("commitDataRequest(QSessionManager&)")) == before + 1  # the window listens
    _open(win, photo, qtbot)
    win.add_hint_at(0.3, 0.3)
    autosave_path(photo).unlink(missing_ok=True)
    win._session_ending()  # what commitDataRequest runs
    assert read_autosave(photo)[0].hints == win.document.hints


def test_unsaved_hints_can_be_saved_without_a_question_on_leaving(make_window, fake_engine, tmp_path, qtbot,  # noqa: ANN001
                                                                  answer) -> None:  # noqa: ANN001
    from colorstudio.core.hints import find_hints_file, load_photo_hints

    d = _roll(tmp_path)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        assert win.open_folder(d)
    _click(win, qtbot)
    asked = answer(QMessageBox.StandardButton.Save)
    win.next_photo()
    assert len(asked) == 1 and "Preferences > Unsaved hints on leaving a photo" in asked[0]
    win._apply_settings(win.settings.updated(on_leave="save"), reload_engine=False)  # as Preferences does
    _click(win, qtbot, 0.7, 0.2)
    win.next_photo()  # saved without a question
    assert len(asked) == 1 and win.document.path.name == "frame2.png"
    assert len(load_photo_hints(find_hints_file(d / "frame1.png")).hints) == 1
    from colorstudio.gui.preferences import PreferencesDialog

    dlg = PreferencesDialog(win.settings, win)
    assert dlg.on_leave.currentData() == "save"
    dlg.on_leave.setCurrentIndex(dlg.on_leave.findData("ask"))
    assert dlg.settings().on_leave == "ask"
