"""The views a photographer works in all day: zoom and pan at the extremes, the split line
when zoomed in, grabbing a marker off-centre, keys in the size box and the hint list, drops."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from .conftest import write_gray


def _open(make_window, fake_engine, qtbot, path):  # noqa: ANN001, ANN202
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        assert win.open_image(path)
    return win


@pytest.fixture
def win(make_window, fake_engine, photo, qtbot):  # noqa: ANN001, ANN201
    return _open(make_window, fake_engine, qtbot, photo)


def test_zoomed_in_the_split_line_is_on_the_part_shown(win, qtbot) -> None:  # noqa: ANN001
    win.act_split.trigger()
    c = win.canvas
    c.zoom_at(6.0, c.image_to_widget(0.15, 0.5))  # on the photo's left part; the middle is far off screen
    assert 0 <= c._split_x() <= c.width()
    x, y = int(c._split_x()), c.height() // 2
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    qtbot.mouseMove(c, pos=QPoint(x - 100, y))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPoint(x - 100, y))
    assert c._split_x() == pytest.approx(x - 100, abs=1) and win.split_slider.value() == round(c.split * 1000)


@pytest.mark.parametrize("shape, action, grows", [((4, 4), "act_zoom_in", True), ((100, 60000), "act_zoom_out", False)])
def test_zooming_goes_the_way_asked_from_any_fit(make_window, fake_engine, qtbot, tmp_path, shape, action,  # noqa: ANN001
                                                 grows) -> None:
    Image.fromarray(np.full(shape, 128, np.uint8), "L").save(tmp_path / "p.png")
    win = _open(make_window, fake_engine, qtbot, tmp_path / "p.png")
    fit = win.canvas.transform()[0]  # 4 x 4: far beyond 3200 %; 60000 px wide: below 1 %
    getattr(win, action).trigger()
    after = win.canvas.transform()[0]
    assert (after >= fit) if grows else (after <= fit)


def test_a_pan_keeps_the_zoom(make_window, fake_engine, qtbot, tmp_path) -> None:  # noqa: ANN001
    Image.fromarray(np.full((1, 1), 128, np.uint8), "L").save(tmp_path / "one.png")
    win = _open(make_window, fake_engine, qtbot, tmp_path / "one.png")
    c = win.result_canvas
    fit = c.transform()[0]
    start = QPoint(c.width() // 2, c.height() // 2)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(c, pos=start + QPoint(20, 0))
    qtbot.mouseMove(c, pos=start + QPoint(40, 0))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=start + QPoint(40, 0))
    assert c.transform()[0] == pytest.approx(fit)


def test_a_hint_grabbed_off_centre_moves_as_far_as_the_pointer(win, qtbot) -> None:  # noqa: ANN001
    win.add_hint_at(0.5, 0.5)
    c = win.canvas
    c.zoom_at(12.0, c.image_to_widget(0.5, 0.5))
    s = c.transform()[0]
    side = c._marker_side(win.document.hints[0])
    grab = c.image_to_widget(0.5, 0.5).toPoint() + QPoint(int(side * 0.4), 0)
    assert c.hint_at(QPointF(grab)) == 0
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=grab)
    qtbot.mouseMove(c, pos=grab + QPoint(3, 0))
    qtbot.mouseMove(c, pos=grab + QPoint(6, 0))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=grab + QPoint(6, 0))
    assert (win.document.hints[0].x - 0.5) * 128 * s == pytest.approx(6, abs=1.0)  # it jumped by half the marker


def test_undo_and_redo_keys_work_with_the_size_box_focused(win, qtbot) -> None:  # noqa: ANN001
    win.add_hint_at(0.3, 0.3)
    win.select_hint(0)
    size0 = win.document.hints[0].size
    win.size_spin.activateWindow()
    win.size_spin.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (win.size_spin, win.size_spin.lineEdit()), timeout=2000)
    field = QApplication.focusWidget()
    qtbot.keyClick(field, Qt.Key.Key_Up)
    grown = win.document.hints[0].size
    assert grown > size0
    qtbot.keyClick(field, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.document.hints[0].size == pytest.approx(size0)
    qtbot.keyClick(field, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.document.hints[0].size == pytest.approx(grown)


def test_delete_in_the_hint_list_goes_down_the_list(win, qtbot) -> None:  # noqa: ANN001
    for x in (0.2, 0.4, 0.6, 0.8):
        win.add_hint_at(x, 0.5)
    lst = win.hint_panel.list
    lst.setFocus()
    lst.setCurrentRow(1)
    qtbot.keyClick(lst, Qt.Key.Key_Delete)
    assert [round(h.x, 1) for h in win.document.hints] == [0.2, 0.6, 0.8] and lst.currentRow() == 1
    qtbot.keyClick(lst, Qt.Key.Key_Delete)
    qtbot.keyClick(lst, Qt.Key.Key_Delete)  # the last row: the one before it takes over
    assert [round(h.x, 1) for h in win.document.hints] == [0.2] and lst.currentRow() == 0


def test_a_drop_opens_the_first_photo_among_other_files(win, tmp_path, messages) -> None:  # noqa: ANN001
    note = tmp_path / "notes.txt"
    note.write_text("hello")
    second, third = write_gray(tmp_path / "second.png", shift=20), write_gray(tmp_path / "third.png", shift=40)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p)) for p in (note, second, third)])
    win.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                             Qt.KeyboardModifier.NoModifier))
    assert win.document.path.name == "second.png" and not messages
    assert "1 more were dropped" in win.statusBar().currentMessage()


def test_the_status_bar_names_the_device_of_an_engine_given_to_the_window(win) -> None:  # noqa: ANN001
    assert "fake" in win.device_label.text()


def test_controls_have_names_a_screen_reader_can_say(win) -> None:  # noqa: ANN001
    from colorstudio.gui.panels import Swatch, hex_of

    for widget in (win.canvas, win.result_canvas, win.size_spin, win.saturation_slider, win.split_slider,
                   win.strip, win.history, win.hint_panel.list):
        assert widget.accessibleName(), widget
    win.colour_panel.remember((20, 200, 40))  # a recent colour
    swatches = [s for s in win.colour_panel.findChildren(Swatch) if s.rgb is not None]
    assert len(swatches) >= 2 and all(hex_of(s.rgb) in s.accessibleName() for s in swatches)  # each says its colour


def test_tab_skips_the_dock_tab_behind(win, qtbot) -> None:  # noqa: ANN001
    win.hints_dock.raise_()
    qtbot.waitUntil(lambda: win.history.focusPolicy() == Qt.FocusPolicy.NoFocus, timeout=5000)
    win.hint_panel.list.setFocus()
    seen = []
    for _ in range(40):  # once round the whole focus chain
        QApplication.focusWidget().focusNextChild()
        seen.append(QApplication.focusWidget())
    assert win.history not in seen and win.hint_panel.list in seen
    win.history_dock.raise_()  # the other tab in front: now the history takes focus, the hint list does not
    qtbot.waitUntil(lambda: win.history.focusPolicy() != Qt.FocusPolicy.NoFocus, timeout=5000)
    assert win.hint_panel.list.focusPolicy() == Qt.FocusPolicy.NoFocus
    win.hints_dock.raise_()
    qtbot.waitUntil(lambda: win.hint_panel.list.focusPolicy() != Qt.FocusPolicy.NoFocus, timeout=5000)


def test_the_focused_photo_view_shows_a_focus_frame(win, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QPalette

    win.activateWindow()
    win.saturation_slider.setFocus()
    qtbot.waitUntil(lambda: not win.canvas.hasFocus(), timeout=2000)
    plain = win.canvas.grab().toImage().pixelColor(1, 1)
    win.canvas.setFocus()
    qtbot.waitUntil(win.canvas.hasFocus, timeout=2000)
    framed = win.canvas.grab().toImage().pixelColor(1, 1)
    assert framed != plain and framed == win.canvas.palette().color(QPalette.ColorRole.Highlight)
