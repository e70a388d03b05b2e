"""Open, save, autosave, export, prompts and error paths."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from colorstudio.core.color import lightness
from colorstudio.core.hints import Hint, load_hints, save_hints, sidecar_path
from colorstudio.core.images import read_image
from colorstudio.gui import main_window
from colorstudio.gui.document import autosave_path

from .conftest import canvas_point, write_gray


def open_and_wait(win, path, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        assert win.open_image(path)


def add_hints(win, qtbot, points) -> None:  # noqa: ANN001
    for x, y in points:
        qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, x, y))


def test_save_and_reopen_restores_hints(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    add_hints(win, qtbot, [(0.2, 0.3), (0.7, 0.6)])
    win.colour_panel.choose((10, 120, 200))
    assert win.document.dirty and win.isWindowModified()
    qtbot.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not win.document.dirty and not win.isWindowModified()
    side = sidecar_path(photo)
    data = json.loads(side.read_text("utf-8"))
    assert data["format"] == "colorstudio.hints" and len(data["hints"]) == 2
    assert not autosave_path(photo).exists()
    hints = win.document.hints
    win.close()

    again = make_window(fake_engine)
    open_and_wait(again, photo, qtbot)
    assert again.document.hints == hints
    assert again.undo_stack.count() == 0 and not again.document.dirty
    assert load_hints(side) == hints


def test_export_full_resolution_keeps_lightness(make_window, tiny_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    src = write_gray(tmp_path / "big.png", width=1400, height=1050)  # larger than the 1024 preview
    win = make_window(tiny_engine)
    open_and_wait(win, src, qtbot)
    assert max(win.document.preview.shape) == 1024
    win.canvas.add_requested.emit(0.3, 0.4)
    win.colour_panel.choose((200, 40, 40))
    out = tmp_path / "out" / "big_color.png"
    out.parent.mkdir()
    with qtbot.waitSignal(win.export_finished, timeout=60000) as blocker:
        assert win.export_to(out)
    assert blocker.args[0] == str(out)
    exported = read_image(out).pixels
    original = read_image(src).pixels
    assert exported.shape == (1050, 1400, 3)
    diff = np.abs(lightness(exported) - lightness(original))
    assert diff.mean() < 0.3 and diff.max() < 1.5
    assert np.abs(exported[..., 0].astype(int) - exported[..., 1]).max() > 3  # it has colour
    assert src.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_keeps_the_scan_resolution(make_window, tiny_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    src = tmp_path / "scan.tif"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))).save(src, dpi=(800, 800))
    win = make_window(tiny_engine)
    open_and_wait(win, src, qtbot)
    out = tmp_path / "scan_color.jpg"
    with qtbot.waitSignal(win.export_finished, timeout=60000):
        assert win.export_to(out)
    assert read_image(out).dpi == (800.0, 800.0)


def test_export_keeps_the_captions_and_rights_of_an_archive_scan(make_window, tiny_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    from PIL import IptcImagePlugin

    from tests.core.test_images import archive_scan

    src = read_image(archive_scan(tmp_path / "scan.jpg"))
    win = make_window(tiny_engine)
    open_and_wait(win, tmp_path / "scan.jpg", qtbot)
    out = tmp_path / "scan_color.jpg"
    with qtbot.waitSignal(win.export_finished, timeout=60000):
        assert win.export_to(out)
    with Image.open(out) as im:
        assert im.info["xmp"] == src.xmp and IptcImagePlugin.getiptcinfo(im)[(2, 116)] == b"City archive"
        assert im.getexif().get(0x010E).startswith("Wedding, Cologne 1932 [Colorized by ColorStudio")


def test_export_dialog_offers_a_16bit_type_for_a_16bit_scan(make_window, fake_engine, tmp_path, qtbot,  # noqa: ANN001
                                                             monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    asked: list[tuple[str, str]] = []

    def fake_dialog(parent, caption, start, filters, selected="", *args):  # noqa: ANN001, ANN202
        asked.append((start, selected))
        return "", ""  # the user cancels

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_dialog))
    main_window.QSettings().remove("export_dir")  # offered next to the photo
    scan8, scan16 = write_gray(tmp_path / "print.png"), tmp_path / "scan16.png"
    import cv2

    cv2.imwrite(str(scan16), np.tile(np.arange(64, dtype=np.uint16) * 1000, (48, 1)))
    win = make_window(fake_engine)
    assert win.settings.export_format == "jpg"
    for src in (scan8, scan16):
        open_and_wait(win, src, qtbot)
        win.export_dialog()
    assert [(Path(start), selected) for start, selected in asked] == [
        (tmp_path / "print_colorized.jpg", "JPEG (*.jpg *.jpeg)"),
        (tmp_path / "scan16_colorized.tif", "TIFF (*.tif *.tiff)")]


def test_export_refuses_the_original(make_window, fake_engine, photo, qtbot, messages) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    before = photo.read_bytes()
    assert not win.export_to(photo)
    assert not win.export_to(Path(str(photo) + ".colorstudio.json"))
    assert not win.export_to(photo.with_suffix(".xyz"))
    assert [m[0] for m in messages] == ["critical"] * 3
    assert "original" in messages[0][2]
    assert photo.read_bytes() == before


def test_export_write_failure_shows_message(make_window, fake_engine, photo, qtbot, messages, tmp_path) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    ro = tmp_path / "ro"
    ro.mkdir()
    target = ro / "x.jpg"
    target.mkdir()  # a folder where the file should go: the write fails
    with qtbot.waitSignal(win.export_failed, timeout=20000):
        win.export_to(target)
    assert messages and messages[-1][0] == "critical" and "x.jpg" in messages[-1][2]


def test_unreadable_photo_shows_message(make_window, fake_engine, photo, tmp_path, qtbot, messages) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a photo")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert not win.open_image(bad)
    assert not win.open_image(empty)
    assert not win.open_image(tmp_path / "missing.png")
    assert [m[0] for m in messages] == ["critical"] * 3
    assert "notes.jpg" in messages[0][2] and "empty" in messages[1][2]
    assert win.document.path == photo  # the open photo stays


def test_invalid_sidecar_warns_and_opens_without_hints(make_window, fake_engine, photo, qtbot, messages) -> None:  # noqa: ANN001
    sidecar_path(photo).write_text('{"format": "colorstudio.hints", "version": 1, "hints": [{"x": 7}]}')
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    assert win.document.hints == ()
    assert messages and messages[0][0] == "warning" and "colorstudio.json" in messages[0][2]


def test_autosave_restores_after_a_crash(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    save_hints(sidecar_path(photo), [Hint(0.5, 0.5, (1, 2, 3))])
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    saved = win.document.hints
    add_hints(win, qtbot, [(0.1, 0.1), (0.9, 0.9)])
    edited = win.document.hints
    qtbot.waitUntil(lambda: autosave_path(photo).exists(), timeout=5000)  # a moment after the change
    assert Path(os.environ["XDG_DATA_HOME"]) in autosave_path(photo).parents
    assert load_hints(autosave_path(photo)) == edited
    assert load_hints(sidecar_path(photo)) == saved  # the sidecar is only written by Save
    # "Crash": a new window opens the photo while the autosave is still there.
    win.controller.shutdown()
    again = make_window(fake_engine)
    open_and_wait(again, photo, qtbot)
    assert again.document.hints == edited and again.document.dirty
    assert "autosaved" in again.statusBar().currentMessage()
    again.act_undo.trigger()
    assert again.document.hints == saved
    assert not autosave_path(photo).exists()  # back to the saved state: nothing to keep


def test_unsaved_changes_prompt(make_window, fake_engine, photo, tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    other = write_gray(tmp_path / "other.png", 64, 64)
    monkeypatch.setattr(main_window, "can_ask_user", lambda: True)
    answers: list = []
    asked: list = []

    def question(parent, title, text, *a, **k):  # noqa: ANN001, ANN202
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    add_hints(win, qtbot, [(0.3, 0.3)])
    answers.append(QMessageBox.StandardButton.Cancel)
    assert not win.open_image(other)
    assert win.document.path == photo and len(asked) == 1
    answers.append(QMessageBox.StandardButton.Save)
    open_and_wait(win, other, qtbot)
    assert len(load_hints(sidecar_path(photo))) == 1
    add_hints(win, qtbot, [(0.5, 0.5)])
    answers.append(QMessageBox.StandardButton.Discard)
    open_and_wait(win, photo, qtbot)
    assert not sidecar_path(other).exists() and not autosave_path(other).exists()
    add_hints(win, qtbot, [(0.6, 0.6)])
    answers.append(QMessageBox.StandardButton.Cancel)
    win.close()
    assert win.isVisible()  # close was cancelled
    answers.append(QMessageBox.StandardButton.Discard)
    win.close()
    assert not win.isVisible() and len(asked) == 5


def test_recent_files_and_drop(make_window, fake_engine, photo, tmp_path, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    other = write_gray(tmp_path / "dropped.png", 80, 60)
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.dropEvent(event)
    assert win.document.path == other
    assert win.recent_files()[:2] == [str(other.resolve()), str(photo.resolve())]
    from PySide6.QtCore import QSettings

    QSettings().setValue("recent_files", str(photo.resolve()))  # how an INI file gives back a one-item list
    win._remember_recent(other)
    assert win.recent_files() == [str(other.resolve()), str(photo.resolve())]
    win._fill_recent_menu()
    texts = [a.text() for a in win.recent_menu.actions()]
    assert any("dropped.png" in t for t in texts)


def test_excepthook_logs_autosaves_and_never_raises(make_window, fake_engine, photo, qtbot, monkeypatch,
                                                    capsys) -> None:  # noqa: ANN001
    from colorstudio.gui import app as gui_app

    shown: list = []
    monkeypatch.setattr(main_window, "can_ask_user", lambda: True)
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self.text()) or 0)
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    add_hints(win, qtbot, [(0.4, 0.4)])
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        gui_app.excepthook(*sys.exc_info())
    assert autosave_path(photo).exists()  # the work is kept at once, not a moment later
    assert shown and "boom" in shown[0] and "autosaved" in shown[0]
    assert "RuntimeError: boom" in capsys.readouterr().err
    monkeypatch.setattr(main_window, "can_ask_user", lambda: False)  # no prompt when the test closes it


def test_smoke_test_entry_point(photo, tiny_model_path, qtbot, capsys, monkeypatch) -> None:  # noqa: ANN001
    from colorstudio.core.settings import Settings, save_settings
    from colorstudio.gui.app import run_app

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    save_settings(Settings(model=str(tiny_model_path), device="cpu"))
    assert run_app(str(photo), smoke_test=True) == 0
    assert "smoke test ok" in capsys.readouterr().out
    save_settings(Settings(model=str(photo.parent / "missing.pt"), device="cpu"))
    assert run_app(str(photo), smoke_test=True) != 0
    assert "missing.pt" in capsys.readouterr().err


def test_preferences_persist_and_reload_engine(make_window, fake_engine, photo, tiny_model_path, qtbot) -> None:  # noqa: ANN001
    from colorstudio.core.settings import load_settings
    from colorstudio.gui.preferences import PreferencesDialog

    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    dlg = PreferencesDialog(win.settings, win)
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.working_size.setValue(128)
    dlg.model.setCurrentIndex(dlg.model.findData("file"))
    dlg.model_file.setText(str(tiny_model_path))
    dlg.hint_colour.setCurrentIndex(dlg.hint_colour.findData("current"))
    dlg.export_model.setCurrentIndex(dlg.export_model.findData("default"))
    new = dlg.settings()
    assert new.export_model == "default"
    assert win._export_factory(new) is not None  # exports load the default model, edits use the file
    with qtbot.waitSignal(win.controller.engine_ready, timeout=20000) as blocker:
        win._apply_settings(new, reload_engine=True)
    assert blocker.args[0].startswith("cpu")
    s = load_settings()
    assert (s.device, s.working_size, s.model, s.hint_colour, s.export_model) == \
        ("cpu", 128, str(tiny_model_path), "current", "default")
    qtbot.waitUntil(lambda: win.controller.engine is not fake_engine, timeout=20000)
    assert win.controller.engine.working_size == 128
    assert "cpu" in win.device_label.text()
    # A model file that does not exist is refused in the dialog itself.
    dlg.model_file.setText(str(photo.parent / "nope.pt"))
    dlg._accept()
    assert dlg.result() != dlg.DialogCode.Accepted and "nope.pt" in dlg.message.text()
    # So is a file that is there but is no model (a failed download): the working model stays.
    broken = photo.parent / "downloaded.pt"
    broken.write_bytes(b"<html>404 not found</html>")
    dlg.model_file.setText(str(broken))
    dlg._accept()
    assert dlg.result() != dlg.DialogCode.Accepted and "Not a model this program can use" in dlg.message.text()
    assert "downloaded.pt" in dlg.message.text()


def test_window_layout_persists(make_window, fake_engine, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    win.resize(900, 640)
    win.hints_dock.hide()
    win.close()
    again = make_window(fake_engine)
    assert not again.hints_dock.isVisible()
    again.hints_dock.show()


def test_every_action_has_tooltip_and_shortcut_where_expected(make_window, fake_engine) -> None:  # noqa: ANN001
    from PySide6.QtGui import QAction

    win = make_window(fake_engine)
    actions = [a for a in win.findChildren(QAction) if a.text() and not a.isSeparator()]
    assert len(actions) > 20
    missing = [a.text() for a in actions if not a.toolTip()]
    assert not missing
    keys = {a.text().replace("&", ""): [k.toString() for k in a.shortcuts()] for a in actions}
    assert "Ctrl+Z" in keys["Undo"]
    assert {"Ctrl+Shift+Z", "Ctrl+Y"} <= set(keys["Redo"])
    assert "Ctrl+S" in keys["Save Hints"] and "Ctrl+E" in keys["Export Colorized…"]
    assert "Del" in keys["Delete Hint"] and "PgDown" in keys["Next Photo"] and "PgUp" in keys["Previous Photo"]


@pytest.mark.parametrize("name", ["photo.tif", "Fotografía ñ 1.png"])
def test_open_other_formats_and_names(make_window, fake_engine, tmp_path, qtbot, name) -> None:  # noqa: ANN001
    p = tmp_path / name
    arr = (np.arange(40 * 50).reshape(40, 50) % 65535).astype(np.uint16) * 20
    Image.fromarray(arr.astype(np.uint16)).save(p) if p.suffix == ".tif" else write_gray(p, 50, 40)
    win = make_window(fake_engine)
    open_and_wait(win, p, qtbot)
    assert win.document.size == (50, 40)


def test_close_waits_for_a_running_export(make_window, photo, tmp_path, qtbot) -> None:  # noqa: ANN001
    import threading

    from .conftest import FakeEngine

    gate = threading.Event()
    gate.set()
    engine = FakeEngine(gate=gate)
    win = make_window(engine)
    open_and_wait(win, photo, qtbot)
    gate.clear()
    out = tmp_path / "photo_color.png"
    assert win.export_to(out)
    win.close()
    assert win.isVisible() and "export" in win.statusBar().currentMessage()
    gate.set()
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=10000)
    assert out.exists()


def test_preferences_refuse_a_shipped_model_that_is_not_installed(make_window, fake_engine, tmp_path, tiny_model_path,
                                                                  monkeypatch) -> None:  # noqa: ANN001
    from colorstudio.gui import preferences
    from colorstudio.gui.preferences import PreferencesDialog

    win = make_window(fake_engine)
    monkeypatch.setattr(preferences, "resources_dir", lambda: tmp_path)  # an installation without models
    dlg = PreferencesDialog(win.settings, win)
    assert "not installed" in dlg.export_model.itemText(dlg.export_model.findData("quality"))
    tip = dlg.export_model.itemData(dlg.export_model.findData("quality"), Qt.ItemDataRole.ToolTipRole)
    assert "quality.pt placed in" in tip  # says how to install it
    dlg._accept()
    assert dlg.result() != dlg.DialogCode.Accepted and "default model is not installed" in dlg.message.text()
    dlg.model.setCurrentIndex(dlg.model.findData("file"))
    dlg.model_file.setText(str(tiny_model_path))
    dlg.export_model.setCurrentIndex(dlg.export_model.findData("quality"))
    dlg._accept()
    assert dlg.result() != dlg.DialogCode.Accepted and "quality model is not installed" in dlg.message.text()
    dlg.export_model.setCurrentIndex(dlg.export_model.findData(""))
    dlg._accept()
    assert dlg.result() == dlg.DialogCode.Accepted


def test_export_and_batch_load_the_export_model_when_it_differs(tmp_path, tiny_model_path) -> None:  # noqa: ANN001
    import shutil

    from colorstudio.core.settings import Settings
    from colorstudio.gui.main_window import MainWindow

    other = tmp_path / "export-weights.pt"
    shutil.copyfile(tiny_model_path, other)
    edit = Settings(model=str(tiny_model_path), device="cpu", working_size=64)
    assert MainWindow._export_factory(edit) is None  # "": the editing model
    assert MainWindow._export_factory(edit.updated(export_model=str(tiny_model_path))) is None
    engine = MainWindow._export_factory(edit.updated(export_model=str(other)))()
    assert engine.name == "export-weights" and engine.working_size == 64


def test_hints_that_cannot_be_saved_next_to_the_photo_are_kept(make_window, fake_engine, photo, qtbot,  # noqa: ANN001
                                                                messages) -> None:
    from colorstudio.core.hints import sidecar_path
    from colorstudio.gui.document import read_autosave

    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_image(photo)
    sidecar_path(photo).mkdir()  # as good as a read-only archive folder: the sidecar cannot be written
    win.canvas.add_requested.emit(0.5, 0.5)
    assert not win.save_hints()
    kind, title, text = messages[-1]
    assert (kind, title) == ("critical", "Cannot save hints") and str(sidecar_path(photo)) in text
    assert "Save Hints As" in text  # the way out
    assert win.document.dirty and len(win.document.hints) == 1
    win.session.autosave_now()
    assert read_autosave(photo)[0].hints == win.document.hints


def test_hints_of_a_photo_in_a_read_only_folder_are_saved_in_the_data_folder(  # noqa: ANN001
        make_window, fake_engine, photo, qtbot, monkeypatch, messages) -> None:
    import errno

    from colorstudio.core import fileio
    from colorstudio.core.hints import find_hints_file, sidecar_path, stored_hints_path

    def read_only_archive(path, text) -> None:  # noqa: ANN001 - the photo's folder refuses writes
        if Path(path).parent == photo.parent:
            raise PermissionError(errno.EROFS, "Read-only file system", str(path))
        fileio.atomic_write_text(path, text)

    monkeypatch.setattr("colorstudio.core.hints.atomic_write_text", read_only_archive)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_image(photo)
    win.canvas.add_requested.emit(0.4, 0.6)
    assert win.save_hints() and not messages
    assert not win.document.dirty and not sidecar_path(photo).exists()
    assert find_hints_file(photo) == stored_hints_path(photo)
    assert "folder is read-only" in win.statusBar().currentMessage()
    hints = win.document.hints
    # Another session (a new window) opens the photo with them.
    other = make_window(fake_engine)
    with qtbot.waitSignal(other.result_ready, timeout=10000):
        other.open_image(photo)
    assert other.document.hints == hints and not other.document.dirty


def test_each_photo_keeps_its_own_saturation_saved_with_its_hints(make_window, fake_engine, photo, tmp_path,  # noqa: ANN001
                                                                  qtbot) -> None:
    other = write_gray(tmp_path / "other.png", 64, 64)
    win = make_window(fake_engine)
    assert not win.saturation_slider.isEnabled()  # no photo: nothing to set it for
    open_and_wait(win, photo, qtbot)
    assert win.saturation_slider.isEnabled()
    # One drag of the slider is one undo step, and makes the photo's work unsaved.
    for value in (90, 75, 60):
        win.saturation_slider.setValue(value)
    win.saturation_slider.sliderReleased.emit()
    win.saturation_slider.setValue(140)
    assert win.undo_stack.count() == 2 and win.document.dirty and win.saturation == 1.4
    assert win.saturation_label.text().strip() == "Saturation 140 %"
    win.act_undo.trigger()
    assert win.saturation == 0.6 and win.saturation_slider.value() == 60
    assert win.save_hints() and not win.document.dirty
    assert json.loads(sidecar_path(photo).read_text("utf-8"))["saturation"] == 0.6
    # Another photo has its own (100 % when its hints set none); coming back shows 60 % again.
    open_and_wait(win, other, qtbot)
    assert win.saturation == 1.0 and win.saturation_slider.value() == 100 and not win.document.dirty
    open_and_wait(win, photo, qtbot)
    assert win.saturation_slider.value() == 60 and win.saturation_label.text().strip() == "Saturation 60 %"
    win.close()
    again = make_window(fake_engine)  # and in the next session
    open_and_wait(again, photo, qtbot)
    assert again.saturation == 0.6 and again.saturation_slider.value() == 60 and not again.document.dirty


def test_an_unsaved_saturation_is_autosaved_and_restored(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    save_hints(sidecar_path(photo), [Hint(0.5, 0.5, (1, 2, 3))], saturation=0.8)
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    assert win.saturation == 0.8
    win.saturation_slider.setValue(130)
    qtbot.waitUntil(lambda: autosave_path(photo).exists(), timeout=5000)
    win.controller.shutdown()  # "crash"
    again = make_window(fake_engine)
    open_and_wait(again, photo, qtbot)
    assert again.saturation == 1.3 and again.document.dirty and len(again.document.hints) == 1
    assert "restored the unsaved saturation 130 % autosaved" in again.statusBar().currentMessage()
    again.act_undo.trigger()
    assert again.saturation == 0.8 and not again.document.dirty
    assert not autosave_path(photo).exists()


def test_loading_a_hints_file_brings_its_saturation_in_one_undo_step(make_window, fake_engine, photo, tmp_path,  # noqa: ANN001
                                                                     qtbot, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    source = tmp_path / "look.json"
    save_hints(source, [Hint(0.2, 0.2, (200, 40, 40)), Hint(0.8, 0.8, (40, 40, 200))], saturation=0.5)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(source), "")))
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.load_hints_dialog()
    assert len(win.document.hints) == 2 and win.saturation == 0.5
    assert win.undo_stack.count() == 1
    win.act_undo.trigger()
    assert win.document.hints == () and win.saturation == 1.0


def test_double_clicking_the_saturation_slider_sets_it_back_to_100(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.saturation_slider.setValue(40)
    win.saturation_slider.sliderReleased.emit()
    qtbot.mouseDClick(win.saturation_slider, Qt.MouseButton.LeftButton)
    assert win.saturation == 1.0 and win.saturation_slider.value() == 100
    assert win.undo_stack.count() == 2  # its own undo step
    win.act_undo.trigger()
    assert win.saturation == 0.4


def test_copy_and_paste_hints_between_photos(make_window, fake_engine, photo, tmp_path, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QGuiApplication

    other = write_gray(tmp_path / "other.png", 96, 64)
    win = make_window(fake_engine)
    assert not win.act_paste_hints.isEnabled()
    open_and_wait(win, photo, qtbot)
    add_hints(win, qtbot, [(0.2, 0.3), (0.7, 0.6)])
    win.colour_panel.choose((10, 120, 200))
    win.saturation_slider.setValue(70)
    copied = win.document.hints
    win.act_copy_hints.trigger()
    assert json.loads(QGuiApplication.clipboard().text())["saturation"] == 0.7  # a hints file's JSON
    assert win.save_hints()
    open_and_wait(win, other, qtbot)
    win.act_paste_hints.trigger()
    assert win.document.hints == copied and win.saturation == 0.7 and win.document.dirty  # same relative places
    assert win.undo_stack.count() == 1 and "Paste 2 hints" in win.undo_stack.text(0)
    win.act_undo.trigger()
    assert win.document.hints == () and win.saturation == 1.0 and not win.document.dirty
    # Anything else on the clipboard pastes nothing, and says why.
    for text, why in (("a shopping list", "no ColorStudio hints"),
                      ('{"format": "colorstudio.hints", "version": 1, "hints": [{"x": 2, "y": 0, "color": "#fff"}]}',
                       "clipboard: hint 0")):
        QGuiApplication.clipboard().setText(text)
        win.act_paste_hints.trigger()
        assert win.document.hints == () and why in win.statusBar().currentMessage()


def test_shift_drag_paints_a_stroke_that_is_edited_as_one(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    from colorstudio.gui.commands import stroke_of

    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)  # 128 x 96
    win.size_spin.setValue(10)  # hints 12.8 px wide: the stroke puts one every 12.8 px
    win.colour_panel.choose((30, 90, 200))
    shift = Qt.KeyboardModifier.ShiftModifier
    qtbot.mousePress(win.canvas, Qt.MouseButton.LeftButton, shift, canvas_point(win, 0.2, 0.5))
    for x in (0.3, 0.45, 0.6, 0.85):
        qtbot.mouseMove(win.canvas, canvas_point(win, x, 0.5))
    qtbot.mouseRelease(win.canvas, Qt.MouseButton.LeftButton, shift, canvas_point(win, 0.85, 0.5))
    hints = win.document.hints
    assert len(hints) == 7  # 83 px: the first hint and six more, 12.8 px apart
    assert [round(h.x, 2) for h in hints] == [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert {stroke_of(h) for h in hints} == {1} and len({h.rgb for h in hints}) == 1
    assert win.undo_stack.count() == 1 and win.selected == 6
    rows = win.hint_panel.list
    assert rows.count() == 1 and "stroke of 7 hints" in rows.item(0).text() and rows.currentRow() == 0
    # Edited as one: recolour, move, and a second stroke gets its own number.
    win.colour_panel.choose((200, 40, 40))
    assert {h.rgb for h in win.document.hints} == {(200, 40, 40)}
    win._move_requested(0, 0.25, 0.6)
    assert [round(h.y, 2) for h in win.document.hints] == [0.6] * 7
    assert round(win.document.hints[6].x, 2) == 0.85
    qtbot.mousePress(win.canvas, Qt.MouseButton.LeftButton, shift, canvas_point(win, 0.5, 0.1))
    qtbot.mouseMove(win.canvas, canvas_point(win, 0.5, 0.3))  # 19.2 px: its start and one more
    qtbot.mouseRelease(win.canvas, Qt.MouseButton.LeftButton, shift, canvas_point(win, 0.5, 0.3))
    assert len(win.document.hints) == 9 and {stroke_of(h) for h in win.document.hints[7:]} == {2}
    assert rows.count() == 2 and rows.currentRow() == 1
    # A Shift-click that goes nowhere is a click: one plain hint.
    qtbot.mouseClick(win.canvas, Qt.MouseButton.LeftButton, shift, canvas_point(win, 0.1, 0.9))
    assert len(win.document.hints) == 10 and stroke_of(win.document.hints[9]) is None
    win.act_undo.trigger()
    rows.setCurrentRow(0)  # choosing the first stroke in the list selects its first hint
    assert win.selected == 0
    # Saved and reopened, the strokes are still strokes; a right-click deletes one whole.
    assert win.save_hints()
    assert [item.get("stroke") for item in json.loads(sidecar_path(photo).read_text("utf-8"))["hints"]] \
        == [1] * 7 + [2, 2]
    win.close()
    again = make_window(fake_engine)
    open_and_wait(again, photo, qtbot)
    qtbot.mouseClick(again.canvas, Qt.MouseButton.RightButton, pos=canvas_point(again, 0.45, 0.6))
    assert len(again.document.hints) == 2 and {stroke_of(h) for h in again.document.hints} == {2}
    again.act_undo.trigger()
    assert len(again.document.hints) == 9


def test_ctrl_edits_one_hint_of_a_stroke_alone(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    from colorstudio.gui.commands import stroke_of

    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)  # 128 x 96
    win.size_spin.setValue(10)
    win.start_stroke(0.2, 0.5)
    win.extend_stroke(0.61, 0.5)
    win.finish_stroke()
    assert [round(h.x, 2) for h in win.document.hints] == [0.2, 0.3, 0.4, 0.5, 0.6]
    ctrl = Qt.KeyboardModifier.ControlModifier
    # Ctrl-drag the middle hint: it moves, the rest of its stroke stays.
    qtbot.mousePress(win.canvas, Qt.MouseButton.LeftButton, ctrl, canvas_point(win, 0.4, 0.5))
    qtbot.mouseMove(win.canvas, canvas_point(win, 0.4, 0.6))
    qtbot.mouseMove(win.canvas, canvas_point(win, 0.4, 0.8))
    qtbot.mouseRelease(win.canvas, Qt.MouseButton.LeftButton, ctrl, canvas_point(win, 0.4, 0.8))
    assert [round(h.y, 1) for h in win.document.hints] == [0.5, 0.5, 0.8, 0.5, 0.5]
    assert win.undo_stack.count() == 2 and win.undo_stack.text(1) == "Move hint 3 of stroke 1"
    # Ctrl+right-click deletes that one hint; the others are still one stroke.
    qtbot.mouseClick(win.canvas, Qt.MouseButton.RightButton, ctrl, canvas_point(win, 0.3, 0.5))
    assert [round(h.x, 2) for h in win.document.hints] == [0.2, 0.4, 0.5, 0.6]
    assert {stroke_of(h) for h in win.document.hints} == {1}
    assert win.undo_stack.text(2).startswith("Delete hint 2 of stroke 1, #")
    assert win.hint_panel.list.count() == 1 and "stroke of 4 hints" in win.hint_panel.list.item(0).text()
    # Without Ctrl, a drag and a right-click still take the whole stroke.
    qtbot.mousePress(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.2, 0.5))
    qtbot.mouseMove(win.canvas, canvas_point(win, 0.2, 0.4))
    qtbot.mouseMove(win.canvas, canvas_point(win, 0.2, 0.3))
    qtbot.mouseRelease(win.canvas, Qt.MouseButton.LeftButton, pos=canvas_point(win, 0.2, 0.3))
    assert [round(h.y, 1) for h in win.document.hints] == [0.3, 0.6, 0.3, 0.3]
    qtbot.mouseClick(win.canvas, Qt.MouseButton.RightButton, pos=canvas_point(win, 0.5, 0.3))
    assert win.document.hints == ()
    for _ in range(4):
        win.act_undo.trigger()
    assert [round(h.x, 2) for h in win.document.hints] == [0.2, 0.3, 0.4, 0.5, 0.6]
    assert {round(h.y, 2) for h in win.document.hints} == {0.5}


def test_no_hint_is_added_past_what_a_hints_file_holds(make_window, fake_engine, photo, qtbot,  # noqa: ANN001
                                                        monkeypatch) -> None:
    from colorstudio.gui import main_window as mw

    monkeypatch.setattr(mw, "MAX_HINTS", 5)
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.size_spin.setValue(5)
    win.start_stroke(0.1, 0.5)
    win.extend_stroke(0.9, 0.5)  # 16 hints' worth of path
    win.finish_stroke()
    assert len(win.document.hints) == 5 and "as many as a hints file holds" in win.statusBar().currentMessage()
    win.add_hint_at(0.5, 0.2)
    assert len(win.document.hints) == 5


def test_a_saturation_of_zero_is_a_saturation_like_any_other(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.saturation_slider.setValue(0)  # a gray result, on purpose
    assert win.save_hints()
    win.saturation_slider.setValue(100)
    qtbot.waitUntil(lambda: autosave_path(photo).exists(), timeout=5000)
    win.controller.shutdown()
    again = make_window(fake_engine)
    open_and_wait(again, photo, qtbot)
    assert again.saturation == 1.0 and "the unsaved saturation 100 %" in again.statusBar().currentMessage()
    again.act_undo.trigger()
    assert again.saturation == 0.0 and not again.document.dirty


def test_opening_a_photo_colorizes_it_once(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    save_hints(sidecar_path(photo), [Hint(0.5, 0.5, (200, 30, 30))], saturation=0.5)
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    qtbot.wait(300)  # anything else asked for would have run by now
    assert [c[0] for c in fake_engine.calls].count("colorize") == 1
    assert win.saturation_slider.value() == 50


def test_arrow_keys_nudge_the_selected_hint_in_one_undo_step(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)  # 128 x 96
    win.add_hint_at(0.5, 0.5)
    win.canvas.setFocus()
    scale = win.canvas.transform()[0]
    for _ in range(3):
        qtbot.keyClick(win.canvas, Qt.Key.Key_Right)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    hint = win.document.hints[0]
    assert hint.x == pytest.approx(0.5 + 3 / (scale * 128), abs=1e-5)
    assert hint.y == pytest.approx(0.5 - 10 / (scale * 96), abs=1e-5)
    assert win.undo_stack.count() == 2  # the add, and the nudges
    win.act_undo.trigger()
    assert (win.document.hints[0].x, win.document.hints[0].y) == (0.5, 0.5)
    win.select_hint(-1)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Left)  # nothing selected: nothing moves
    assert win.undo_stack.count() == 2 and win.document.hints[0].x == 0.5


def test_keyboard_alone_adds_a_hint_and_pans_the_zoomed_view(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.canvas.setFocus()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)  # the whole photo on screen: its middle
    assert [(h.x, h.y) for h in win.document.hints] == [(pytest.approx(0.5, abs=0.01), pytest.approx(0.5, abs=0.01))]
    assert win.canvas._selected == 0  # selected, so the arrow keys move it
    win.select_hint(-1)
    for _ in range(3):
        win.act_zoom_in.trigger()
    center = win.view.center
    qtbot.keyClick(win.canvas, Qt.Key.Key_Right)  # nothing selected, zoomed in: the view pans
    s = win.view.scale
    assert win.view.center.x() == pytest.approx(center.x() + 0.1 * win.canvas.width() / s)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Insert)  # in the middle of what is on screen now
    hint = win.document.hints[1]
    middle = win.canvas.widget_to_image(QPointF(win.canvas.width() / 2, win.canvas.height() / 2))
    assert (hint.x, hint.y) == (pytest.approx(middle[0], abs=0.01), pytest.approx(middle[1], abs=0.01))
    assert hint.x > 0.55 and len(win.document.hints) == 2
    win.select_hint(-1)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert win.view.center.y() == pytest.approx(center.y() + 0.5 * win.canvas.height() / s)


def test_revert_to_saved_is_one_undoable_step(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    saved = (Hint(0.5, 0.5, (200, 30, 30)),)
    save_hints(sidecar_path(photo), saved, saturation=0.8)
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    assert not win.act_revert.isEnabled()  # nothing to revert
    win.add_hint_at(0.2, 0.2)
    win.saturation_slider.setValue(120)
    edited = win.document.hints
    assert win.act_revert.isEnabled()
    win.act_revert.trigger()
    assert win.document.hints == saved and win.saturation == 0.8 and not win.document.dirty
    assert not win.act_revert.isEnabled()
    win.act_undo.trigger()
    assert win.document.hints == edited and win.saturation == 1.2


def test_an_edit_of_hints_and_saturation_at_once_is_colorized_once(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    save_hints(sidecar_path(photo), [Hint(0.5, 0.5, (200, 30, 30))], saturation=0.8)
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.add_hint_at(0.2, 0.2)
    win.saturation_slider.setValue(120)
    qtbot.waitUntil(lambda: not win.controller.busy, timeout=10000)
    qtbot.wait(100)
    before = [c[0] for c in fake_engine.calls].count("colorize")
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.act_revert.trigger()  # hints and saturation in one step
    qtbot.wait(300)
    assert [c[0] for c in fake_engine.calls].count("colorize") == before + 1


def test_the_first_window_fits_a_small_screen(fake_engine, qtbot) -> None:  # noqa: ANN001
    from colorstudio.gui import MainWindow

    win = MainWindow(engine=fake_engine)  # no saved layout: the first start
    qtbot.addWidget(win)
    room = win.screen().availableGeometry()  # 800 x 800 on the test platform
    assert win.width() <= room.width() and win.height() <= room.height()
    assert win.width() >= win.minimumSizeHint().width() and win.height() >= win.minimumSizeHint().height()


def test_undo_steps_number_hints_as_the_hint_list_does(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.size_spin.setValue(10)
    win.start_stroke(0.1, 0.5)
    win.extend_stroke(0.6, 0.5)  # a stroke of six hints: row 1 of the list
    win.finish_stroke()
    win.add_hint_at(0.5, 0.9)  # the seventh hint, row 2
    win.colour_panel.choose((10, 200, 30))
    assert win.hint_panel.list.item(1).text().startswith("2.")
    assert win.undo_stack.text(win.undo_stack.count() - 1) == "Recolour hint 2 to #0ac81e"


def test_an_autosave_from_before_saturation_was_saved_still_restores(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    from colorstudio.core.hints import hints_to_json

    save_hints(sidecar_path(photo), [Hint(0.5, 0.5, (1, 2, 3))], saturation=0.8)
    win = make_window(fake_engine)  # first: the autosave folder is the app's
    autosave_path(photo).parent.mkdir(parents=True, exist_ok=True)
    autosave_path(photo).write_text(json.dumps(hints_to_json([Hint(0.2, 0.2, (9, 9, 9))])), "utf-8")  # no key
    open_and_wait(win, photo, qtbot)
    assert win.document.hints == (Hint(0.2, 0.2, (9, 9, 9)),) and win.saturation == 0.8  # it sets no saturation
    message = win.statusBar().currentMessage()
    assert "restored 1 unsaved hint autosaved" in message and "saturation" not in message


@pytest.mark.parametrize("size", [16, 40, 3000, 4096])
def test_preferences_keep_a_working_size_the_settings_file_allows(qtbot, size: int) -> None:  # noqa: ANN001
    from colorstudio.core.settings import Settings
    from colorstudio.gui.preferences import PreferencesDialog

    dlg = PreferencesDialog(Settings(working_size=size))
    qtbot.addWidget(dlg)
    assert dlg.settings().working_size == size  # OK without a change changes nothing (it was 64 or 2048)


def test_photos_opened_from_the_finder_reach_the_window(make_window, fake_engine, photo, tmp_path,  # noqa: ANN001
                                                        qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QFileOpenEvent
    from PySide6.QtWidgets import QApplication

    from colorstudio.gui.app import ColorStudioApp

    app = QApplication.instance()
    assert isinstance(app, ColorStudioApp)
    QApplication.sendEvent(app, QFileOpenEvent(str(photo)))  # the photo that launched the app: no window yet
    win = make_window(fake_engine)
    try:
        with qtbot.waitSignal(win.result_ready, timeout=10000):
            app.take_opens(win.open_path)
        assert win.document.path == photo
        other = write_gray(tmp_path / "from-finder.png", 80, 60)
        with qtbot.waitSignal(win.result_ready, timeout=10000):  # one more, with the window open
            QApplication.sendEvent(app, QFileOpenEvent(str(other)))
        assert win.document.path == other and app.pending_opens == []
    finally:
        app._open = None


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="names there are always Unicode")
def test_a_photo_whose_name_is_not_utf8_is_autosaved(make_window, fake_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    from colorstudio.gui.document import read_autosave

    photo = write_gray(tmp_path / os.fsdecode(b"caf\xe9.png"))  # a Latin-1 name from an old CD
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.canvas.add_requested.emit(0.2, 0.8)
    failed: list[str] = []
    win.session.autosave_failed.connect(failed.append)
    try:
        assert win.session.autosave_now() and not failed
        assert read_autosave(photo)[0].hints == win.document.hints
    finally:
        win.document.mark_saved()  # nothing for the test's close to autosave


def test_hints_holding_a_lone_surrogate_are_autosaved(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    from colorstudio.gui.document import read_autosave

    sidecar_path(photo).write_text('{"format": "colorstudio.hints", "version": 1, "hints": '
                                   '[{"x": 0.5, "y": 0.5, "color": "#010203", "label": "\\udfff"}]}', "utf-8")
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.canvas.add_requested.emit(0.2, 0.8)
    try:
        assert win.session.autosave_now()
        restored = read_autosave(photo)[0].hints
        assert restored == win.document.hints and dict(restored[0].extra) == {"label": "\udfff"}
    finally:
        win.document.mark_saved()  # nothing for the test's close to autosave


def test_the_crash_dialog_says_so_when_the_hints_could_not_be_autosaved(make_window, fake_engine, photo, qtbot,  # noqa: ANN001
                                                                         monkeypatch, capsys) -> None:
    from colorstudio.gui import app as gui_app
    from colorstudio.gui import session

    def full_disk(*args) -> None:  # noqa: ANN002
        raise OSError(28, "No space left on device")

    shown: list = []
    monkeypatch.setattr(main_window, "can_ask_user", lambda: True)
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self.text()) or 0)
    monkeypatch.setattr(session, "write_autosave", full_disk)
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.canvas.add_requested.emit(0.4, 0.4)
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            gui_app.excepthook(*sys.exc_info())
        assert shown and "could not be autosaved" in shown[0] and "hints are autosaved" not in shown[0]
        assert "No space left" in win.statusBar().currentMessage()
    finally:
        capsys.readouterr()
        monkeypatch.setattr(main_window, "can_ask_user", lambda: False)  # no prompt when the test closes it
        win.document.mark_saved()


def test_a_hints_file_with_a_number_too_large_for_a_float_saves_and_autosaves(make_window, fake_engine, photo,  # noqa: ANN001
                                                                              qtbot, messages) -> None:
    from colorstudio.gui.document import read_autosave

    sidecar_path(photo).write_text('{"format": "colorstudio.hints", "version": 1, "hints": '
                                   '[{"x": 0.5, "y": 0.5, "color": "#102030", "weight": 1e400}]}')
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.canvas.add_requested.emit(0.2, 0.8)
    try:
        assert win.session.autosave_now()
        assert read_autosave(photo)[0].hints == win.document.hints  # a crash now keeps the work
        assert win.save_hints() and not messages
        assert load_hints(sidecar_path(photo)) == win.document.hints and len(win.document.hints) == 2
    finally:
        win.document.mark_saved()  # nothing for the test's close to save


def test_hints_that_cannot_be_written_as_json_are_a_message_not_a_crash(make_window, fake_engine, photo, qtbot,  # noqa: ANN001
                                                                        messages, monkeypatch) -> None:
    from colorstudio.gui import session

    def unwritable(*args, **kwargs) -> None:  # noqa: ANN002, ANN003 - what json.dumps raises for inf
        raise ValueError("Out of range float values are not JSON compliant")

    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.canvas.add_requested.emit(0.2, 0.8)
    monkeypatch.setattr(session, "save_hints_for", unwritable)
    monkeypatch.setattr(main_window, "save_hints", unwritable)
    elsewhere = str(photo.parent / "h.json")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (elsewhere, "")))
    try:
        assert not win.save_hints() and win.document.dirty
        win.save_hints_as()
        assert [m[1] for m in messages] == ["Cannot save hints"] * 2 and "not JSON compliant" in messages[0][2]
    finally:
        win.document.mark_saved()  # nothing for the test's close to save


def test_a_photo_whose_name_leaves_no_room_for_a_sidecar_opens_and_saves(make_window, fake_engine, tmp_path,  # noqa: ANN001
                                                                         qtbot, messages, monkeypatch) -> None:
    from colorstudio.core.hints import stored_hints_path

    errors: list = []
    monkeypatch.setattr(sys, "excepthook", lambda *a: errors.append(a[1]))
    long_name = write_gray(tmp_path / ("写真" * 40 + ".png"), 50, 40)  # 244 bytes, the sidecar's name 261
    write_gray(tmp_path / "a.png", 50, 40)
    win = make_window(fake_engine)
    win.open_folder(tmp_path)  # the strip asks each photo for its hints file
    qtbot.wait(200)
    open_and_wait(win, long_name, qtbot)
    win.canvas.add_requested.emit(0.5, 0.5)
    assert win.save_hints() and not messages and not errors
    assert load_hints(stored_hints_path(long_name)) == win.document.hints
    assert "name is too long" in win.statusBar().currentMessage()
    again = make_window(fake_engine)
    open_and_wait(again, long_name, qtbot)
    assert again.document.hints == win.document.hints and not again.document.dirty


def test_hints_saved_for_a_read_only_folder_that_has_a_sidecar_are_read_back(  # noqa: ANN001
        make_window, fake_engine, photo, qtbot, monkeypatch, messages) -> None:
    import errno

    from colorstudio.core import fileio
    from colorstudio.core.hints import stored_hints_path

    save_hints(sidecar_path(photo), [Hint(0.2, 0.2, (200, 0, 0))])  # came with the archive

    def read_only_archive(path, text) -> None:  # noqa: ANN001
        if Path(path).parent == photo.parent:
            raise PermissionError(errno.EROFS, "Read-only file system", str(path))
        fileio.atomic_write_text(path, text)

    monkeypatch.setattr("colorstudio.core.hints.atomic_write_text", read_only_archive)
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.canvas.add_requested.emit(0.7, 0.7)
    assert win.save_hints() and stored_hints_path(photo).exists() and not messages
    assert not win.session.changed_on_disk()  # its own save is no change by another program
    win.canvas.add_requested.emit(0.3, 0.6)
    assert win.save_hints()
    edited = win.document.hints
    again = make_window(fake_engine)
    open_and_wait(again, photo, qtbot)
    assert again.document.hints == edited and len(edited) == 3 and not again.document.dirty


def test_steady_editing_is_autosaved_every_few_seconds(make_window, fake_engine, photo, qtbot) -> None:  # noqa: ANN001
    from colorstudio.gui.session import AUTOSAVE_DELAY_MS, AUTOSAVE_MAX_WAIT_MS

    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    gap = AUTOSAVE_DELAY_MS // 2  # each change restarts the wait for a pause in the editing
    for i in range(2 * AUTOSAVE_MAX_WAIT_MS // gap):  # hints placed steadily for twice the longest wait
        win.canvas.add_requested.emit(0.05 + i * 0.06, 0.5)
        qtbot.wait(gap)
        if autosave_path(photo).exists():
            break
    assert autosave_path(photo).exists(), "nothing autosaved while the user kept editing"
    kept = load_hints(autosave_path(photo))
    assert kept and kept == win.document.hints[:len(kept)]  # all but the last moment's


def test_an_export_removes_what_a_killed_export_to_that_file_left(make_window, fake_engine, photo, tmp_path,  # noqa: ANN001
                                                                  qtbot) -> None:
    from colorstudio.core import fileio

    out = tmp_path / "out" / "photo_color.png"
    out.parent.mkdir()
    dead = out.parent / f"{fileio.part_prefix(out)}abcd1234.png.part"  # what a kill -9 mid-write leaves
    dead.write_bytes(b"\x89PNG half")
    other = out.parent / f"{fileio.part_prefix(out.with_name('other.png'))}abcd1234.png.part"
    other.write_bytes(b"another file's")
    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    with qtbot.waitSignal(win.export_finished, timeout=20000):
        assert win.export_to(out)
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([out.name, other.name])


def test_an_autosave_is_not_applied_to_another_picture_saved_under_the_photos_name(make_window, fake_engine,  # noqa: ANN001
                                                                                   photo, qtbot) -> None:
    import time

    from colorstudio.gui.document import read_autosave

    win = make_window(fake_engine)
    open_and_wait(win, photo, qtbot)
    win.canvas.add_requested.emit(0.9, 0.1)
    edited = win.document.hints
    assert win.session.autosave_now() and read_autosave(photo).same_photo
    win.controller.shutdown()  # "crash"
    time.sleep(0.05)
    write_gray(photo, 300, 50, shift=40)  # the user rescans: another picture under the same name
    again = make_window(fake_engine)
    open_and_wait(again, photo, qtbot)
    assert again.document.hints == () and not again.document.dirty
    message = again.statusBar().currentMessage()
    assert "for an earlier file of this name were not applied" in message
    aside = [p for p in autosave_path(photo).parent.iterdir() if p != autosave_path(photo)]
    assert len(aside) == 1 and str(aside[0]) in message and load_hints(aside[0]) == edited  # kept, loadable
    assert not autosave_path(photo).exists()
