"""Hint editing through the canvas: intents become commands; undo/redo restore exact hint sets."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QWidget

from colorstudio.core.color import rgb_to_lab
from colorstudio.core.hints import Hint
from colorstudio.gui import canvas as canvas_module
from colorstudio.gui.main_window import DETAIL_DELAY_MS

from .conftest import FakeEngine, canvas_point, write_gray


@pytest.fixture
def win(make_window, tiny_engine, photo, qtbot):  # noqa: ANN001, ANN201
    w = make_window(tiny_engine)
    with qtbot.waitSignal(w.result_ready, timeout=20000):
        assert w.open_image(photo)
    return w


def expected_coords(canvas: QWidget, pos: QPoint, width: int, height: int) -> tuple[float, float]:
    """Where a click lands on a photo that fits the canvas, centred (INTERFACES.md)."""
    s = min(canvas.width() / width, canvas.height() / height)
    ox, oy = (canvas.width() - width * s) / 2, (canvas.height() - height * s) / 2
    return (pos.x() - ox) / (width * s), (pos.y() - oy) / (height * s)


def test_click_adds_hint_at_clicked_image_coordinates(win, qtbot, tiny_engine) -> None:  # noqa: ANN001
    canvas = win.findChild(QWidget, "canvas")
    assert canvas is not None and canvas.isVisible()
    pos = QPoint(canvas.width() // 2 + 37, canvas.height() // 2 - 21)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=pos)
    assert len(win.document.hints) == 1
    assert win.undo_stack.count() == 1
    x, y = expected_coords(canvas, pos, 128, 96)
    hint = win.document.hints[0]
    assert hint.x == pytest.approx(x, abs=1e-6) and hint.y == pytest.approx(y, abs=1e-6)
    # Its colour is the model's most likely colour there: engine.suggest's first answer.
    assert hint.rgb == tiny_engine.suggest(win.document.preview, (), hint.x, hint.y)[0]


def test_click_uses_current_colour_by_preference(win, qtbot) -> None:  # noqa: ANN001
    win.colour_panel.new_hint_mode.setCurrentIndex(win.colour_panel.new_hint_mode.findData("current"))
    assert win.settings.hint_colour == "current"
    win.colour_panel.choose((10, 200, 30))
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.3, 0.3))
    assert win.document.hints[-1].rgb == (10, 200, 30)


def test_new_result_follows_an_edit(win, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.25, 0.6))
    last = win.controller.started_jobs[-1]
    assert last.kind in ("preview", "suggest")
    previews = [j for j in win.controller.started_jobs if j.kind == "preview"]
    assert previews[-1].hints == win.document.hints


def test_drag_is_one_undo_step(win, qtbot) -> None:  # noqa: ANN001
    canvas = win.canvas
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.3, 0.5))
    start = win.document.hints
    assert win.undo_stack.count() == 1
    p = canvas_point(win, 0.3, 0.5)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=p)
    for i in range(1, 12):
        qtbot.mouseMove(canvas, pos=p + QPoint(8 * i, 3 * i))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=p + QPoint(88, 33))
    moved = win.document.hints
    assert len(moved) == 1 and moved[0].x > start[0].x and moved[0].y > start[0].y
    assert moved[0].rgb == start[0].rgb
    assert win.undo_stack.count() == 2, [win.undo_stack.text(i) for i in range(win.undo_stack.count())]
    win.undo_stack.undo()
    assert win.document.hints == start
    win.undo_stack.redo()
    assert win.document.hints == moved
    # A second drag is a second step.
    p2 = canvas_point(win, moved[0].x, moved[0].y)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=p2)
    for i in range(1, 5):
        qtbot.mouseMove(canvas, pos=p2 - QPoint(6 * i, 0))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=p2 - QPoint(24, 0))
    assert win.undo_stack.count() == 3


def test_undo_redo_restore_exact_hint_sets(win, qtbot) -> None:  # noqa: ANN001
    canvas = win.canvas
    snapshots = [win.document.hints]

    def record() -> None:
        snapshots.append(win.document.hints)

    for x, y in ((0.2, 0.2), (0.5, 0.5), (0.8, 0.7)):
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, x, y))
        record()
    win.select_hint(1)
    win.colour_panel.choose((200, 30, 40))  # recolour
    record()
    win.size_spin.setValue(5.0)  # resize
    record()
    qtbot.mouseClick(canvas, Qt.MouseButton.RightButton, pos=canvas_point(win, 0.8, 0.7))  # delete
    record()
    win.select_hint(0)
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)  # delete by key
    record()
    win.act_clear.trigger()  # clear all
    record()
    assert snapshots[-1] == () and len(snapshots) == 9
    assert len(set(snapshots[:-1])) == 8, "every step changed the hints"
    assert snapshots[4][1].rgb == (200, 30, 40) and snapshots[5][1].size == pytest.approx(0.05)
    stack = win.undo_stack
    assert stack.count() == 8
    for expected in reversed(snapshots[:-1]):
        win.act_undo.trigger()
        assert win.document.hints == expected
        assert [h.size for h in win.document.hints] == [h.size for h in expected]
    assert not win.act_undo.isEnabled()
    for expected in snapshots[1:]:
        qtbot.keyClick(win, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
        assert win.document.hints == expected
    for _ in range(3):
        qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.document.hints == snapshots[-4]
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.document.hints == snapshots[-3]


def test_select_recolour_from_suggestions_and_gamut(win, qtbot) -> None:  # noqa: ANN001
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.4, 0.4))
    # Suggestions come from engine.suggest, run in the worker thread.
    qtbot.waitUntil(lambda: win.colour_panel.suggestion_swatches[0].rgb is not None, timeout=10000)
    swatch = next(s for s in win.colour_panel.suggestion_swatches
                  if s.rgb is not None and s.rgb != win.document.hints[0].rgb)
    swatch.click()
    assert win.document.hints[0].rgb == swatch.rgb
    lab = rgb_to_lab(np.asarray(swatch.rgb, np.uint8).reshape(1, 3))[0]
    assert win.colour_panel.gamut.ab == pytest.approx((lab[1], lab[2]), abs=1e-3)  # the gamut marks it
    assert win.undo_stack.count() == 2
    assert win.colour_panel.recent[0] == swatch.rgb
    # A drag across the gamut is one undo step.
    gamut = win.colour_panel.gamut
    c = gamut.rect().center()
    qtbot.mousePress(gamut, Qt.MouseButton.LeftButton, pos=c)
    for i in range(1, 6):
        qtbot.mouseMove(gamut, pos=c + QPoint(3 * i, -2 * i))
    qtbot.mouseRelease(gamut, Qt.MouseButton.LeftButton, pos=c + QPoint(15, -10))
    assert win.undo_stack.count() == 3
    assert win.document.hints[0].rgb != swatch.rgb


def test_selection_follows_its_hint_when_undo_adds_one_before_it(win, qtbot) -> None:  # noqa: ANN001
    for x in (0.3, 0.6):
        qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, x, x))
    a, b = win.document.hints
    assert win.selected == 1
    win.remove_hint(0)
    assert win.document.hints == (b,) and win.selected == 0
    win.undo_stack.undo()  # a comes back in front of the selected b
    assert win.document.hints == (a, b)
    assert win.selected == 1
    win.colour_panel.choose((10, 200, 30))  # so a recolour changes b, the hint the user selected
    assert win.document.hints[0] == a and win.document.hints[1].rgb == (10, 200, 30)


def test_undoing_the_selected_hint_away_clears_its_suggestions(win, qtbot) -> None:  # noqa: ANN001
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.4, 0.4))
    swatches = win.colour_panel.suggestion_swatches
    qtbot.waitUntil(lambda: swatches[0].rgb is not None, timeout=10000)
    win.undo_stack.undo()
    assert win.document.hints == () and win.selected == -1
    assert all(s.rgb is None for s in swatches)
    assert not win.act_delete.isEnabled()


def test_opening_another_photo_clears_the_last_ones_suggestions(win, qtbot, tmp_path) -> None:  # noqa: ANN001
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.4, 0.4))
    swatches = win.colour_panel.suggestion_swatches
    qtbot.waitUntil(lambda: swatches[0].rgb is not None, timeout=10000)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        assert win.open_image(write_gray(tmp_path / "other.png", 64, 64))
    assert win.selected == -1 and win.document.hints == ()
    assert all(s.rgb is None for s in swatches)


def test_undo_of_an_edit_to_the_selected_hint_refreshes_the_colour_panel(win, qtbot) -> None:  # noqa: ANN001
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.3, 0.5))
    (start,) = win.document.hints
    win.colour_panel.choose((10, 200, 30))
    assert win.document.hints[0].rgb == (10, 200, 30)
    win.undo_stack.undo()
    assert win.document.hints == (start,) and win.selected == 0
    assert win.colour_panel.current == start.rgb  # the panel shows the colour the hint has again
    win.size_spin.setValue(start.size * 300)
    assert win.document.hints[0].size == pytest.approx(start.size * 3)
    win.undo_stack.undo()
    assert win.document.hints == (start,)
    assert win.size_spin.value() == pytest.approx(start.size * 100)  # and its size
    # Undoing a drag puts the hint back; its suggestions are asked for where it is now.
    p = canvas_point(win, 0.3, 0.5)
    qtbot.mousePress(win.canvas, Qt.MouseButton.LeftButton, pos=p)
    for i in range(1, 6):
        qtbot.mouseMove(win.canvas, pos=p + QPoint(10 * i, 0))
    qtbot.mouseRelease(win.canvas, Qt.MouseButton.LeftButton, pos=p + QPoint(50, 0))
    assert win.document.hints[0].x > start.x
    jobs = win.controller.started_jobs
    seen = len(jobs)
    win.undo_stack.undo()
    assert win.document.hints == (start,)
    qtbot.waitUntil(lambda: any(j.kind == "suggest" and j.point == (start.x, start.y) for j in jobs[seen:]),
                    timeout=10000)


def test_hide_markers_and_split_view(win, qtbot) -> None:  # noqa: ANN001
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.5, 0.5))
    win.act_markers.setChecked(False)
    assert win.canvas.hint_at(canvas_point(win, 0.5, 0.5).toPointF()) == -1
    win.act_markers.setChecked(True)
    assert win.canvas.hint_at(canvas_point(win, 0.5, 0.5).toPointF()) == 0
    win.act_split.setChecked(True)
    assert not win.result_canvas.isVisible() and win.split_row.isVisible()
    win.split_slider.setValue(250)
    assert win.canvas.split == pytest.approx(0.25)
    win.act_split.setChecked(False)
    assert win.result_canvas.isVisible()


def test_zoom_and_pan_keep_views_in_step(win, qtbot) -> None:  # noqa: ANN001
    a, b = win.canvas, win.result_canvas
    assert win.view.fit
    win.act_zoom_in.trigger()
    win.act_zoom_in.trigger()
    assert not win.view.fit
    assert a.transform()[0] == pytest.approx(b.transform()[0])
    p = a.rect().center()
    qtbot.mousePress(b, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseMove(b, pos=p + QPoint(40, 0))
    qtbot.mouseRelease(b, Qt.MouseButton.LeftButton, pos=p + QPoint(40, 0))
    assert len(win.document.hints) == 0  # a drag pans, it does not add
    assert a.widget_to_image(a.rect().center().toPointF()) == pytest.approx(
        b.widget_to_image(b.rect().center().toPointF()))
    win.act_actual.trigger()
    assert a.transform()[0] * a.devicePixelRatioF() == pytest.approx(1.0)
    assert win.zoom_label.text() == "100 %"
    win.act_zoom_in.trigger()
    assert b.wanted_detail(128) is None  # the preview of this small photo is the photo itself
    win.act_fit.trigger()
    assert win.view.fit
    assert win.zoom_label.text() == f"Fit {a.transform()[0] * a.devicePixelRatioF() * 100:.0f} %"


def test_hint_value_type_used(win) -> None:  # noqa: ANN001
    win.canvas.add_requested.emit(0.1, 0.9)
    assert isinstance(win.document.hints[0], Hint)


def test_zoomed_in_result_is_rendered_from_the_full_resolution_photo(make_window, tiny_engine, tmp_path,  # noqa: ANN001
                                                                      qtbot, monkeypatch) -> None:
    path = tmp_path / "fine.png"
    y, x = np.mgrid[0:1500, 0:2400]
    Image.fromarray(np.where((x // 2 + y // 3) % 2 == 0, 50, 200).astype(np.uint8)).save(path)
    win = make_window(tiny_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        assert win.open_image(path)
    jobs = win.controller.started_jobs
    assert win.document.preview.shape[1] == 1024 < 2400
    canvas = win.result_canvas
    # The whole photo fits a window narrower than the preview: the preview is sharp enough.
    qtbot.wait(3 * DETAIL_DELAY_MS)
    assert canvas.wanted_detail(1024) is None and canvas.detail_region is None
    assert not [j for j in jobs if j.kind == "detail"]

    renders: list = []
    win.controller.detail_ready.connect(lambda rgb, context: renders.append(rgb))

    def settled() -> bool:  # the detail shown is the one the view wants now (a relayout asks again)
        wanted = canvas.wanted_detail(1024)
        return wanted is not None and canvas.detail_region == wanted[0]

    win.act_actual.trigger()  # 100 %: one photo pixel per screen pixel
    qtbot.waitUntil(settled, timeout=20000)
    job = [j for j in jobs if j.kind == "detail"][-1]
    region, size = canvas.wanted_detail(1024)
    assert job.region == region and job.size == size == region[2:]
    assert 0 < region[2] * region[3] < 2400 * 1500  # what the view shows, not the whole photo
    expected = tiny_engine.colorize_region(win.document.preview, (), region, size, full=win.document.image.pixels)
    np.testing.assert_array_equal(renders[-1], expected)

    # A new hint: the detail of the old result goes with it, and one for the new result follows.
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.canvas.add_requested.emit(0.5, 0.5)
    assert canvas.detail_region is None
    qtbot.waitUntil(settled, timeout=20000)
    assert [j for j in jobs if j.kind == "detail"][-1].hints == win.document.hints

    # Zoomed out to 70 %, finer than the preview but coarser than the photo: rendered at screen size.
    win.view.set_view(0.7 / canvas.devicePixelRatioF(), QPointF(1200, 750))
    qtbot.waitUntil(settled, timeout=20000)
    (_, _, rw, rh), (w, h) = canvas.wanted_detail(1024)
    assert renders[-1].shape == (h, w, 3) and (w, h) == (math.ceil(rw * 0.7), math.ceil(rh * 0.7))
    # However big the view, a render has at most DETAIL_PIXELS (the worker must stay free for edits).
    monkeypatch.setattr(canvas_module, "DETAIL_PIXELS", 20_000)
    (_, _, rw, rh), (w, h) = canvas.wanted_detail(1024)
    assert w * h <= 20_000 * 1.03 and w / h == pytest.approx(rw / rh, rel=0.03)


def test_help_lists_the_real_shortcuts_and_about_names_the_model(win, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QMessageBox

    from colorstudio import __version__
    from colorstudio.gui.help import shortcut_rows

    rows = dict(shortcut_rows(win))
    assert rows["Undo"] == QKeySequence("Ctrl+Z").toString(QKeySequence.SequenceFormat.NativeText)
    assert rows["Actual Size (100 %)"] == QKeySequence("Ctrl+1").toString(QKeySequence.SequenceFormat.NativeText)
    assert "Show Hint Markers" in rows and "Delete Hint" in rows  # every action with a shortcut
    assert all(rows.values()) and rows["Quit"]  # no row without a key; Quit has one where Qt's scheme has none
    win.act_help_keys.trigger()
    from PySide6.QtWidgets import QDialog, QTextBrowser

    box = win.findChild(QDialog, "shortcuts_help")
    text = box.findChild(QTextBrowser, "shortcuts_text").toPlainText()
    assert box.isVisible() and "Right-click a hint" in text and "Undo" in text
    room = box.screen().availableGeometry()
    assert box.frameGeometry().height() <= room.height() and box.height() > 200  # fits the screen; the text scrolls
    box.close()
    win.act_about.trigger()
    about = win.findChild(QMessageBox, "about_box")
    assert f"ColorStudio {__version__}" in about.text() and "tiny on cpu" in about.text()
    about.close()


def test_suggestions_give_the_models_own_colours_beside_those_the_other_hints_spread(make_window, photo,  # noqa: ANN001
                                                                                     qtbot) -> None:  # noqa: ANN001
    greens = [(40, 90 + 20 * i, 40) for i in range(8)]  # one green hint on the grass: green everywhere
    own = [(100 + 20 * i, 110, 100) for i in range(8)]  # the rhino's own greys and browns

    class Spreading(FakeEngine):
        def suggest(self, image, hints, x, y, k=8):  # noqa: ANN001, ANN201
            super().suggest(image, hints, x, y, k)
            return (greens if hints else own)[:k]

    win = make_window(Spreading())
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_image(photo)
    win.add_hint_at(0.2, 0.9)
    win.add_hint_at(0.5, 0.4)  # selected: its suggestions, given the grass hint
    swatches = win.colour_panel.suggestion_swatches
    qtbot.waitUntil(lambda: swatches[-1].rgb is not None, timeout=10000)
    assert [s.rgb for s in swatches] == [c for pair in zip(greens, own) for c in pair][:len(swatches)]
    win.select_hint(0)
    win.remove_hint(1)
    win.select_hint(0)  # with no other hint, the model's own colours only
    qtbot.waitUntil(lambda: [s.rgb for s in swatches] == own[:len(swatches)], timeout=10000)


def test_messages_count_hints_as_the_hint_list_shows_them() -> None:
    from colorstudio.gui.main_window import _hints_text

    def hint(stroke=None):  # noqa: ANN001, ANN202
        return Hint(0.5, 0.5, (1, 2, 3), extra=(("stroke", stroke),) if stroke is not None else ())

    assert _hints_text((hint(),)) == "1 hint" and _hints_text(()) == "0 hints"
    assert _hints_text((hint(), hint(), *[hint(1)] * 42)) == "2 hints and 1 stroke (42 hints)"
    assert _hints_text((*[hint(1)] * 3, *[hint(2)] * 4)) == "2 strokes (7 hints)"


def test_the_selected_hints_swatch_in_the_list_shows_its_own_colour(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QIcon

    from colorstudio.gui.panels import swatch_icon

    icon = swatch_icon((128, 95, 69))
    img = icon.pixmap(16, 16, QIcon.Mode.Selected).toImage()
    centre = img.pixelColor(img.width() // 2, img.height() // 2)
    assert (centre.red(), centre.green(), centre.blue()) == (128, 95, 69)  # not tinted by the selection colour


def test_a_hint_brought_back_by_undo_is_selected(win, qtbot) -> None:  # noqa: ANN001
    win.add_hint_at(0.3, 0.3)
    win.add_hint_at(0.6, 0.6)
    gone = win.document.hints[0]
    win.remove_hint(0)
    assert win.selected == 0 and win.document.hints[0] != gone  # the selection stayed on the other hint
    win.select_hint(-1)
    win.undo_stack.undo()  # the deleted hint comes back: selected, so the arrow keys move it
    assert win.document.hints[win.selected] == gone
    win.canvas.setFocus()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Right)
    assert win.document.hints[win.selected].x > gone.x
