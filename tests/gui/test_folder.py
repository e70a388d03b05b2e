"""Folders: the thumbnail strip, next/previous photo, per-photo undo, and batch runs.

Batch runs go through the real core.batch.run_batch: the outputs, the report, resuming
and cancelling are checked on files, as the user would see them.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QStyleOptionViewItem

from colorstudio.core import batch
from colorstudio.core.batch import REPORT_NAME, BatchOptions, read_report
from colorstudio.core.hints import Hint, load_hints, load_photo_hints, save_hints, sidecar_path
from colorstudio.gui.batch_dialog import BatchDialog
from colorstudio.gui.document import autosave_path
from colorstudio.gui.folder import EXPORTED_ROLE, HAS_HINTS_ROLE, thumbnail_cache_dir

from .conftest import FakeEngine, write_gray


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "scans"
    (root / "sub").mkdir(parents=True)
    for name in ("a.png", "b.png", "c.png"):
        write_gray(root / name, 160, 120)
    write_gray(root / "sub" / "d.png", 90, 60)
    (root / "notes.txt").write_text("not a photo")
    save_hints(sidecar_path(root / "b.png"), [Hint(0.5, 0.5, (200, 30, 30))])
    return root


def test_open_folder_strip_thumbnails_and_badges(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        assert win.open_folder(folder)
    model = win.folder_model
    assert [p.name for p in model.paths] == ["a.png", "b.png", "c.png"]
    assert win.photos_dock.isVisible() and win.document.path == folder / "a.png"
    for row in range(3):
        model.data(model.index(row), Qt.ItemDataRole.DecorationRole)  # what the view asks for
    qtbot.waitUntil(lambda: len(model._thumbs) == 3, timeout=10000)
    assert all(not img.isNull() and max(img.width(), img.height()) <= 112 for img in model._thumbs.values())
    assert len(list(thumbnail_cache_dir().glob("*.jpg"))) == 3  # cached on disk for the next time
    assert [model.data(model.index(r), HAS_HINTS_ROLE) for r in range(3)] == [False, True, False]
    assert "has hints" in model.data(model.index(1), Qt.ItemDataRole.ToolTipRole)
    win.open_folder(folder, recursive=True)
    assert [p.name for p in model.paths] == ["a.png", "b.png", "c.png", "d.png"]


def test_page_down_up_and_per_photo_undo(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    win.canvas.add_requested.emit(0.2, 0.2)
    win.canvas.add_requested.emit(0.4, 0.4)
    a_hints, a_stack = win.document.hints, win.undo_stack
    assert a_stack.count() == 2
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        qtbot.keyClick(win, Qt.Key.Key_PageDown)
    assert win.document.path.name == "b.png"
    assert len(win.document.hints) == 1  # from b's own sidecar
    assert win.undo_stack is not a_stack and win.undo_stack.count() == 0
    assert load_hints(autosave_path(folder / "a.png")) == a_hints  # a's unsaved work is kept
    win.canvas.add_requested.emit(0.7, 0.7)
    b_hints = win.document.hints
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        qtbot.keyClick(win, Qt.Key.Key_PageUp)
    assert win.document.path.name == "a.png" and win.document.hints == a_hints
    assert win.undo_stack is a_stack and a_stack.count() == 2
    win.act_undo.trigger()
    assert len(win.document.hints) == 1
    win.next_photo()
    assert win.document.hints == b_hints and win.undo_stack.count() == 1
    win.next_photo()
    win.next_photo()  # stays on the last photo
    assert win.document.path.name == "c.png"
    assert win.strip.currentIndex().row() == 2


def test_a_plain_click_in_the_strip_opens_a_photo_and_a_ctrl_or_shift_click_only_selects(  # noqa: ANN001
        make_window, fake_engine, folder, qtbot) -> None:
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    win.photos_dock.show()
    qtbot.waitUntil(lambda: win.strip.isVisible())

    def click(row: int, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        rect = win.strip.visualRect(win.folder_model.index(row))
        qtbot.mouseClick(win.strip.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())

    click(1, Qt.KeyboardModifier.ControlModifier)
    click(2, Qt.KeyboardModifier.ShiftModifier)
    assert win.document.path.name == "a.png"  # still the photo being hinted
    assert [p.name for p in win.strip.selected_paths()] == ["a.png", "b.png", "c.png"]
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        click(1)
    assert win.document.path.name == "b.png"


def test_unreadable_subfolder_is_reported_in_the_window(make_window, fake_engine, folder, qtbot,  # noqa: ANN001
                                                         monkeypatch) -> None:  # noqa: ANN001
    (folder / "sub" / "deeper").mkdir()
    write_gray(folder / "sub" / "deeper" / "e.png", 40, 30)
    locked = folder / "sub"
    real_scandir = os.scandir

    def scandir(path=".", *args):  # noqa: ANN001, ANN002, ANN202 - a permission problem, even for root
        if isinstance(path, (str, os.PathLike)) and Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *args)

    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000), monkeypatch.context() as patch:
        patch.setattr(batch.os, "scandir", scandir)  # core.batch.find_photos lists folders with it
        assert win.open_folder(folder, recursive=True)
    assert [p.name for p in win.folder_model.paths] == ["a.png", "b.png", "c.png"]  # the rest still listed
    message = win.statusBar().currentMessage()
    assert "1 subfolder could not be read (Permission denied): sub" in message


@pytest.fixture
def batch_folder(tmp_path: Path) -> Path:
    """Photos of different sizes, one with hints, and one corrupt file."""
    root = tmp_path / "roll"
    root.mkdir()
    write_gray(root / "a.png", 300, 200)
    write_gray(root / "b.png", 160, 120)
    write_gray(root / "c.png", 97, 61)
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    save_hints(sidecar_path(root / "b.png"), [Hint(0.5, 0.5, (200, 30, 30))])
    return root


def _accept_dialog_with(monkeypatch, output: Path, pattern: str) -> list[BatchDialog]:  # noqa: ANN001
    """Make BatchDialog.exec() fill in the output folder, pattern and format and press Colorize."""
    shown: list[BatchDialog] = []

    def exec_(dlg: BatchDialog) -> int:
        shown.append(dlg)
        dlg.output.setText(str(output))
        dlg.pattern.setText(pattern)
        dlg.format.setCurrentIndex(dlg.format.findData(""))  # same format as the photo
        dlg._accept()
        return dlg.result()

    monkeypatch.setattr(BatchDialog, "exec", exec_)
    return shown


def _statuses(results) -> dict[str, str]:  # noqa: ANN001
    return {r.input.name: r.status for r in results}


def test_colorize_all_writes_full_size_outputs_reports_failures_and_resumes(
        make_window, tiny_engine, batch_folder, tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    out = tmp_path / "roll-color"
    shown = _accept_dialog_with(monkeypatch, out, "{stem}_color.{ext}")
    win = make_window(tiny_engine)
    win.settings = win.settings.updated(max_megapixels=12.5)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.open_folder(batch_folder)
    inputs = sorted(p.name for p in batch_folder.iterdir())
    win.saturation_slider.setValue(60)  # a.png's own saturation: the batch saves it with a.png's hints

    win.act_batch.trigger()
    run = win._batch
    assert shown and run.thread.options.max_pixels == 12_500_000  # the preferences' limit
    assert run.thread.options.saturation == 1.0  # for photos that set none
    assert shown[0].findChild(QLabel, "batch_saturation").text().startswith("Each photo's own")
    assert load_photo_hints(sidecar_path(batch_folder / "a.png")).saturation == pytest.approx(0.6)
    with qtbot.waitSignal(run.finished, timeout=60000) as blocker:
        pass
    results = blocker.args[0]
    assert _statuses(results) == {"a.png": "done", "b.png": "done", "broken.png": "failed", "c.png": "done"}
    for name in ("a", "b", "c"):  # full resolution: each output has its photo's size
        with Image.open(out / f"{name}_color.png") as result, Image.open(batch_folder / f"{name}.png") as photo:
            assert result.size == photo.size and result.mode == "RGB"
    for name, saturation in (("a", 0.6), ("b", 1.0)):  # each output looks like its photo's preview
        with Image.open(batch_folder / f"{name}.png") as photo, Image.open(out / f"{name}_color.png") as result:
            expected = tiny_engine.colorize(np.asarray(photo), load_hints(sidecar_path(batch_folder / f"{name}.png")),
                                            saturation=saturation)
            np.testing.assert_array_equal(np.asarray(result), expected)
    # The input folder is untouched but for a.png's saved sidecar (its new saturation)
    assert sorted(p.name for p in batch_folder.iterdir()) == sorted([*inputs, "a.png.colorstudio.json"])
    # The failure is shown at the end, with its reason; the report is in the output folder.
    box = run.failure_box
    assert box is not None and box.isVisible()
    assert "3 colorized, 0 skipped" in box.text() and "1 failed" in box.text()
    assert "cancelled" not in box.text() and not run.thread.cancelled  # closing the progress is no Cancel
    assert "cancelled" not in win.statusBar().currentMessage()
    assert "broken.png: cannot decode image" in box.informativeText()
    assert box.informativeText().startswith("These photos failed; the others were done:")
    assert str(out / REPORT_NAME) in box.informativeText()
    assert [r["status"] for r in read_report(out / REPORT_NAME)] == ["done", "done", "failed", "done"]
    # Badges come from core.batch.output_path with the run's options.
    model = win.folder_model
    assert [model.data(model.index(r), EXPORTED_ROLE) for r in range(4)] == [True, True, False, True]
    win.open_folder(batch_folder)  # listed again: the badges follow the options kept in QSettings
    assert [model.data(model.index(r), EXPORTED_ROLE) for r in range(4)] == [True, True, False, True]
    box.close()

    # A second run starts from the same options and skips what exists; the app stays usable meanwhile.
    win.act_batch.trigger()
    run = win._batch
    win.canvas.add_requested.emit(0.5, 0.5)
    with qtbot.waitSignal(run.finished, timeout=60000) as blocker:
        pass
    assert _statuses(blocker.args[0]) == {"a.png": "skipped", "b.png": "skipped", "broken.png": "failed",
                                          "c.png": "skipped"}
    assert len(read_report(out / REPORT_NAME)) == 8
    assert len(win.document.hints) == 1
    run.failure_box.close()


def test_a_photo_hinted_after_its_batch_loses_its_badge_and_is_redone(  # noqa: ANN001
        make_window, tiny_engine, batch_folder, tmp_path, qtbot, monkeypatch) -> None:
    out = tmp_path / "roll-color"
    _accept_dialog_with(monkeypatch, out, "{stem}.{ext}")
    win = make_window(tiny_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.open_folder(batch_folder)
    assert win.document.path.name == "a.png"
    win.act_batch.trigger()
    with qtbot.waitSignal(win._batch.finished, timeout=60000):
        pass
    model = win.folder_model
    assert [model.data(model.index(r), EXPORTED_ROLE) for r in range(4)] == [True, True, False, True]
    before = (out / "a.png").read_bytes()
    # The strip shows the results: an exported photo's thumbnail is its output's (b.png has
    # hints, so even the random test network gives it colour; the gray photo has none).
    qtbot.waitUntil(lambda: _colourful(model.data(model.index(1), Qt.ItemDataRole.DecorationRole)), timeout=10000)
    # The archivist looks at the results and hints the photo that came out wrong.
    t = (batch_folder / "a.png").stat().st_mtime_ns + 1  # an output just newer than its photo
    os.utime(out / "a.png", ns=(t, t))
    model.refresh()
    assert model.data(model.index(0), EXPORTED_ROLE)
    win.colour_panel.new_hint_mode.setCurrentIndex(win.colour_panel.new_hint_mode.findData("current"))
    win.colour_panel.choose((30, 60, 220))
    win.canvas.add_requested.emit(0.5, 0.5)
    assert win.save_hints()
    assert [model.data(model.index(r), EXPORTED_ROLE) for r in range(4)] == [False, True, False, True]
    shown = model.data(model.index(1), Qt.ItemDataRole.DecorationRole)
    win.act_batch.trigger()
    with qtbot.waitSignal(win._batch.finished, timeout=60000) as blocker:
        pass
    assert _statuses(blocker.args[0]) == {"a.png": "done", "b.png": "skipped", "broken.png": "failed",
                                          "c.png": "skipped"}
    assert (out / "a.png").read_bytes() != before
    assert [model.data(model.index(r), EXPORTED_ROLE) for r in range(4)] == [True, True, False, True]
    # The redone photo's new output replaces its thumbnail (it has hints now: colour).
    qtbot.waitUntil(lambda: _colourful(model.data(model.index(0), Qt.ItemDataRole.DecorationRole)), timeout=10000)
    assert model.data(model.index(1), Qt.ItemDataRole.DecorationRole) == shown  # not redone, not reloaded
    win._batch.failure_box.close()


def _colourful(img: QImage) -> bool:
    rgb = img.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(rgb.constBits(), np.uint8, count=rgb.sizeInBytes()).reshape(rgb.height(), -1)
    px = rows[:, :rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3).astype(int)
    return bool(np.abs(px - px.mean(axis=2, keepdims=True)).max() > 8)


def _window_with_a_held_engine(make_window, folder: Path, qtbot):  # noqa: ANN001, ANN202
    """A window on `folder` whose engine, from now on, blocks in colorize() until gate.set()."""
    gate = threading.Event()
    gate.set()
    engine = FakeEngine(gate=gate)
    win = make_window(engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    qtbot.waitUntil(lambda: win.controller.pending == 0, timeout=10000)  # no preview left to run
    gate.clear()
    engine.started.clear()
    return win, engine, gate


def test_batch_cancel_stops_after_the_current_photo(make_window, folder, tmp_path, qtbot) -> None:  # noqa: ANN001
    win, engine, gate = _window_with_a_held_engine(make_window, folder, qtbot)
    out = tmp_path / "out"
    run = win.start_batch(list(win.folder_model.paths), BatchOptions(output_dir=out, input_root=folder))
    model = win.folder_model
    badges: list[tuple[str, bool, bool]] = []  # as each photo is done, before the batch's end is reported
    ended: list[bool] = []
    run.finished.connect(lambda _r: ended.append(True))
    run.photo_finished.connect(lambda r: badges.append(
        (r.input.name, bool(model.data(model.index(model.row_of(r.input)), EXPORTED_ROLE)), not ended)))
    assert engine.started.wait(10)  # the batch is inside colorize() of the first photo
    cancel = next(b for b in run.progress.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.wait(50)
    # The dialog stays up saying so until the photo being colorized is written, even when closed.
    assert run.running and run.progress.isVisible() and "Stopping" in run.progress.labelText()
    run.progress.close()
    qtbot.waitUntil(run.progress.isVisible, timeout=2000)
    assert "Stopping" in run.progress.labelText()
    qtbot.keyClick(run.progress, Qt.Key.Key_Escape)  # with Cancel gone, Escape rejects the dialog
    qtbot.waitUntil(run.progress.isVisible, timeout=2000)
    assert "Stopping" in run.progress.labelText()
    gate.set()
    with qtbot.waitSignal(run.finished, timeout=20000) as blocker:
        pass
    assert not run.progress.isVisible()
    assert _statuses(blocker.args[0]) == {"a.png": "done"}
    assert run.thread.cancelled
    assert sorted(p.name for p in out.iterdir()) == ["a.png", REPORT_NAME]
    assert win.statusBar().currentMessage().startswith(
        "Batch cancelled: 1 colorized, 0 skipped (already exported), 0 failed, 2 not started.")
    assert badges == [("a.png", True, True)]  # its badge came with it, not at the end


def test_no_batch_starts_when_the_open_photos_hints_cannot_be_saved(  # noqa: ANN001
        make_window, fake_engine, folder, tmp_path, qtbot, monkeypatch, messages, answer) -> None:
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    win.colour_panel.new_hint_mode.setCurrentIndex(win.colour_panel.new_hint_mode.findData("current"))
    win.colour_panel.choose((30, 60, 220))
    win.canvas.add_requested.emit(0.5, 0.5)
    assert win.document.dirty
    out = tmp_path / "out"
    options = BatchOptions(output_dir=out, input_root=folder)

    def full(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(win.session, "save", full)
    assert win.start_batch(list(win.folder_model.paths), options) is None  # the save's message says why
    assert [m[1] for m in messages] == ["Cannot save hints"]
    monkeypatch.delattr(win.session, "save")  # writable again, but another program changed it: the user cancels
    monkeypatch.setattr(win.session, "changed_on_disk", lambda: True)
    asked = answer(QMessageBox.StandardButton.Cancel)
    assert win.start_batch(list(win.folder_model.paths), options) is None
    assert len(asked) == 1 and "changed by another program" in asked[0]
    assert win._batch is None and not out.exists() and win.document.dirty
    assert not sidecar_path(win.document.path).exists()


def test_batch_time_left_leaves_out_the_photos_skipped_as_done(tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """A resumed batch: 8 photos skipped at once, then one of 30 s; one photo is left."""
    from PySide6.QtWidgets import QWidget

    from colorstudio.gui import batch_dialog

    clock = [100.0]
    monkeypatch.setattr(batch_dialog, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    parent = QWidget()
    qtbot.addWidget(parent)
    paths = [tmp_path / f"p{i}.png" for i in range(10)]
    run = batch_dialog.BatchRun(paths, BatchOptions(output_dir=tmp_path / "out"), lambda: None, parent)
    run._progress(0, 10, str(paths[0]), None)
    for i in range(8):
        clock[0] += 0.01
        run._progress(i + 1, 10, str(paths[i + 1]), batch.BatchResult(paths[i], tmp_path / "out", "skipped", 0.0))
    assert run.progress.labelText().startswith("8 of 10 done\n")  # nothing worked on yet: no estimate
    clock[0] += 30
    run._progress(9, 10, str(paths[9]), batch.BatchResult(paths[8], tmp_path / "out", "done", 30.0))
    assert run.progress.labelText().startswith("9 of 10 done – about 30 s left"), run.progress.labelText()
    run._close_progress()


def test_closing_the_window_during_a_batch_asks_and_closes_when_it_has_stopped(  # noqa: ANN001
        make_window, folder, tmp_path, qtbot, answer) -> None:
    win, engine, gate = _window_with_a_held_engine(make_window, folder, qtbot)
    out = tmp_path / "out"
    run = win.start_batch(list(win.folder_model.paths), BatchOptions(output_dir=out, input_root=folder))
    assert engine.started.wait(10)  # the batch is inside colorize() of the first photo
    asked = answer(QMessageBox.StandardButton.Cancel)  # keep working
    win.close()
    assert len(asked) == 1 and "0 of 3 done" in asked[0]
    assert win.isVisible() and run.running and not run.thread.cancelled
    answer(QMessageBox.StandardButton.Close)  # stop the batch and quit
    t0 = time.monotonic()
    win.close()  # returns at once: the photo under way may take minutes
    assert time.monotonic() - t0 < 1.0 and len(asked) == 2
    assert win.isVisible() and run.thread.cancelled and "Stopping the batch" in win.statusBar().currentMessage()
    win.close()  # again while it stops: nothing more is asked
    assert len(asked) == 2 and win.isVisible()
    gate.set()
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=20000)
    assert not run.running and _statuses(run.results) == {"a.png": "done"}
    assert sorted(p.name for p in out.iterdir()) == ["a.png", REPORT_NAME]


def test_batch_dialog_refuses_unsafe_options(folder, qtbot) -> None:  # noqa: ANN001
    dlg = BatchDialog(folder, 3, 0, max_pixels=5_000_000)
    qtbot.addWidget(dlg)
    dlg.output.setText(str(folder / "colorized"))
    assert "outside" in dlg.validate()
    dlg.output.setText("colorized")  # it would go wherever the app was started (/ from a desktop launcher)
    assert dlg.validate().startswith("Give the output folder's full path")
    dlg._accept()
    assert "full path" in dlg.message.text() and dlg.result() == 0
    dlg.output.setText(str(folder.parent / "colorized"))
    dlg.pattern.setText("same.{ext}")
    assert "{stem}" in dlg.validate()  # core.batch's own check of the pattern
    dlg.pattern.setText("{stem}.{oops}")
    assert "unknown field" in dlg.validate()
    dlg.pattern.setText("{name}_c.{ext}")
    assert dlg.validate() == ""
    options = dlg.options()
    assert options.input_root == folder and options.max_pixels == 5_000_000
    assert not dlg.selected.isEnabled()
    one = BatchDialog(folder, 3, 1, max_pixels=5_000_000)
    qtbot.addWidget(one)
    assert (dlg.selected.text(), one.selected.text()) == ("The 0 selected photos", "The selected photo")


def test_folder_of_jpeg2000_and_heic(make_window, fake_engine, tmp_path, qtbot, messages) -> None:  # noqa: ANN001
    from PIL import features

    if not features.check("jpg_2000"):
        pytest.skip("this Pillow has no JPEG 2000 codec")
    root = tmp_path / "archive"
    root.mkdir()
    write_gray(root / "a.png", 160, 120)
    Image.open(root / "a.png").save(root / "b.jp2")
    (root / "c.heic").write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(500))
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        assert win.open_folder(root)
    model = win.folder_model
    assert [p.name for p in model.paths] == ["a.png", "b.jp2", "c.heic"]
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.next_photo()
    assert win.document.path == root / "b.jp2" and win.document.image.pixels.shape == (120, 160)
    assert not messages
    win.next_photo()  # the HEIC: one message that says what to do; the JPEG 2000 stays open
    assert len(messages) == 1 and "HEIC/HEIF photo" in messages[0][2] and "JPEG" in messages[0][2]
    assert win.document.path == root / "b.jp2"
    for row in range(3):
        model.data(model.index(row), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: len(model._thumbs) >= 2, timeout=10000)  # the strip survives the unreadable file


def test_folder_opens_on_its_first_readable_photo(make_window, fake_engine, tmp_path, qtbot,  # noqa: ANN001
                                                  messages) -> None:
    root = tmp_path / "phone"
    root.mkdir()
    (root / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(500))
    write_gray(root / "scan.png", 160, 120)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        assert win.open_folder(root)
    assert [p.name for p in win.folder_model.paths] == ["IMG_0001.HEIC", "scan.png"]
    assert win.document.path == root / "scan.png" and not messages  # no error before the user asks for the HEIC


def test_thumbnail_cache_is_trimmed_least_recently_used_first(tmp_path: Path) -> None:
    from colorstudio.gui.folder import trim_thumbnail_cache

    cache = tmp_path / "thumbnails"
    cache.mkdir()
    for i in range(10):  # 10 x 1 kB, used one after the other
        f = cache / f"{i:02d}.jpg"
        f.write_bytes(b"x" * 1000)
        os.utime(f, ns=(1_000_000_000 * (i + 1), 1_000_000_000 * (i + 1)))
    (cache / "notes.txt").write_bytes(b"y" * 5000)  # not a thumbnail: never touched
    assert trim_thumbnail_cache(limit=20_000, folder=cache) == 0  # under the limit: nothing goes
    assert trim_thumbnail_cache(limit=5000, folder=cache) == 7  # down to 3/4 of the limit, oldest first
    assert sorted(p.name for p in cache.iterdir()) == ["07.jpg", "08.jpg", "09.jpg", "notes.txt"]
    assert trim_thumbnail_cache(folder=tmp_path / "missing") == 0


def test_a_cached_thumbnail_in_use_is_kept_over_older_ones(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from colorstudio.gui import folder as folder_module

    monkeypatch.setattr(folder_module, "thumbnail_cache_dir", lambda: tmp_path / "thumbs")
    photos = [write_gray(tmp_path / f"p{i}.png") for i in range(3)]
    for p in photos:
        folder_module.make_thumbnail(p)
    files = sorted((tmp_path / "thumbs").iterdir())
    assert len(files) == 3
    for f in files:
        os.utime(f, ns=(1_000_000_000, 1_000_000_000))  # all old
    folder_module.make_thumbnail(photos[1])  # shown again: a cache hit marks it used now
    kept = {f.name for f in (tmp_path / "thumbs").iterdir() if f.stat().st_mtime_ns > 1_000_000_000}
    assert kept == {folder_module._cache_file(photos[1], folder_module.THUMB).name}


def test_reopen_last_continues_where_the_work_was_left(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QSettings

    QSettings().remove("session")
    win = make_window(fake_engine)
    assert not win.act_reopen.isEnabled() and "Continue" not in win.canvas.placeholder
    assert not win.hint_panel.delete_button.isEnabled() and not win.hint_panel.clear_button.isEnabled()
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.next_photo()
    photo = win.document.path
    assert photo != win.folder_model.paths[0]
    # The next start: the empty window offers to continue, and one action gets there.
    later = make_window(fake_engine)
    assert f"Continue with {photo.name}" in later.canvas.placeholder and later.act_reopen.isEnabled()
    with qtbot.waitSignal(later.result_ready, timeout=10000):
        later.act_reopen.trigger()
    assert later.document.path == photo and later.folder_model.paths == win.folder_model.paths
    # Gone since: nothing is offered.
    shutil.rmtree(folder)
    assert make_window(fake_engine).last_session() == (None, None)


def test_paste_hints_to_the_photos_selected_in_the_strip(make_window, fake_engine, tmp_path, qtbot,  # noqa: ANN001
                                                         monkeypatch) -> None:
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QMessageBox

    from colorstudio.gui import main_window

    root = tmp_path / "roll"
    root.mkdir()
    for name in "abcd":
        write_gray(root / f"{name}.png", 120, 90)
    own = (Hint(0.5, 0.5, (200, 30, 30)),)
    save_hints(sidecar_path(root / "b.png"), own)
    monkeypatch.setattr(main_window, "can_ask_user", lambda: True)
    answers: list = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: answers.pop(0)))
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.open_folder(root)  # opens a.png
    win.add_hint_at(0.2, 0.3)
    win.add_hint_at(0.8, 0.7)
    win.saturation_slider.setValue(70)
    copied = win.document.hints
    win.act_copy_hints.trigger()
    assert win.save_hints()
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.open_image(root / "d.png")

    def select(*names: str) -> None:
        win.strip.clearSelection()
        for name in names:
            row = win.folder_model.paths.index(root / name)
            win.strip.selectionModel().select(win.folder_model.index(row), QItemSelectionModel.SelectionFlag.Select)

    select("b.png", "c.png", "d.png")
    answers.append(QMessageBox.StandardButton.No)  # b.png has hints of its own: keep them
    win.act_paste_selected.trigger()
    assert not answers
    assert load_photo_hints(sidecar_path(root / "c.png")).hints == copied
    assert load_photo_hints(sidecar_path(root / "c.png")).saturation == 0.7
    assert load_hints(sidecar_path(root / "b.png")) == own
    assert win.document.hints == copied and win.document.dirty  # the open photo: an undoable edit
    assert win.undo_stack.count() == 1
    assert not sidecar_path(root / "d.png").exists()
    assert "to 2 of 3 photos; 1 kept their own" in win.statusBar().currentMessage()
    assert win.folder_model.data(win.folder_model.index(2), HAS_HINTS_ROLE)  # c.png's badge

    select("b.png")
    answers.append(QMessageBox.StandardButton.Yes)
    win.act_paste_selected.trigger()
    assert load_hints(sidecar_path(root / "b.png")) == copied
    answers.append(QMessageBox.StandardButton.Cancel)  # asked again (b.png now has hints): nothing happens
    save_hints(sidecar_path(root / "b.png"), own)
    win.act_paste_selected.trigger()
    assert load_hints(sidecar_path(root / "b.png")) == own
    # c.png opens with the pasted hints and saturation, as saved work.
    answers.append(QMessageBox.StandardButton.Discard)  # d.png's pasted hints
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.open_image(root / "c.png")
    assert win.document.hints == copied and win.saturation == 0.7 and not win.document.dirty
    # a.png was open earlier in this session: what the session kept of it gives way to the paste.
    import json

    from PySide6.QtGui import QGuiApplication

    from colorstudio.core.hints import hints_to_json

    QGuiApplication.clipboard().setText(json.dumps(hints_to_json(own, {"saturation": 1.2})))
    select("a.png")
    answers.append(QMessageBox.StandardButton.Yes)
    win.act_paste_selected.trigger()
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.open_image(root / "a.png")
    assert win.document.hints == own and win.saturation == 1.2 and not win.document.dirty
    assert win.undo_stack.count() == 0


def test_paste_to_selected_reports_the_photos_it_could_not_write(make_window, fake_engine, tmp_path, qtbot,  # noqa: ANN001
                                                                 messages, monkeypatch) -> None:
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtGui import QGuiApplication

    from colorstudio.core.hints import hints_to_json

    root = tmp_path / "roll"
    root.mkdir()
    for name in "abc":
        write_gray(root / f"{name}.png", 80, 60)
    from colorstudio.gui import session

    real = session.save_hints_for

    def save_hints_for(path, hints, saturation=None):  # noqa: ANN001, ANN202 - a full disk, for c.png
        if Path(path).name == "c.png":
            raise OSError(28, "No space left on device")
        return real(path, hints, saturation=saturation)

    monkeypatch.setattr(session, "save_hints_for", save_hints_for)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.open_folder(root)
    import json

    QGuiApplication.clipboard().setText(json.dumps(hints_to_json([Hint(0.5, 0.5, (10, 200, 10))])))
    for row in (1, 2):
        win.strip.selectionModel().select(win.folder_model.index(row), QItemSelectionModel.SelectionFlag.Select)
    win.act_paste_selected.trigger()
    assert load_hints(sidecar_path(root / "b.png")) == (Hint(0.5, 0.5, (10, 200, 10)),)
    kind, title, text = messages[-1]
    assert (kind, title) == ("critical", "Paste hints") and "c.png: No space left on device" in text
    assert "to 2 of 3 photos; 1 failed" in win.statusBar().currentMessage()  # a.png, the open one, too


def test_with_a_folder_open_the_window_still_fits_a_laptop_screen(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    assert win.photos_dock.isVisible()
    # 1366 x 768 less a task bar and the title bar: the colour panel scrolls rather than grow the window
    assert win.minimumSizeHint().height() <= 680 and win.minimumSizeHint().width() <= 1300


def test_the_colour_panel_gets_its_height_from_the_hint_list_when_a_folder_opens(make_window, fake_engine, folder,  # noqa: ANN001
                                                                                 qtbot) -> None:
    from colorstudio.gui.main_window import HINTS_DOCK_ROOM

    win = make_window(fake_engine)
    win.resize(1360, 900)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    panel, scroll = win.colour_panel, win.colour_dock.widget()
    # below it, the Hints or the History tab, whichever is raised (the other is out of sight)
    below = win.hints_dock if not win.hints_dock.visibleRegion().isEmpty() else win.history_dock
    chrome = win.colour_dock.height() - scroll.viewport().height()  # the dock's title bar

    def fitted() -> bool:  # what the panel asks for, or all the hint list can give
        total = win.colour_dock.height() + below.height()
        return win.colour_dock.height() >= min(chrome + panel.sizeHint().height(), total - HINTS_DOCK_ROOM) - 2

    qtbot.waitUntil(fitted, timeout=3000)
    assert not scroll.verticalScrollBar().isVisible()  # the whole panel is seen: the recent colours too
    assert below.height() >= HINTS_DOCK_ROOM - 30  # the list keeps its room (less the tab bar)
    # A layout the user made with a taller panel is kept.
    total = win.colour_dock.height() + below.height()
    win.resizeDocks([win.colour_dock, below], [total - 100, 100], Qt.Orientation.Vertical)
    qtbot.wait(10)
    before = win.colour_dock.height()
    win._fit_colour_dock()
    assert win.colour_dock.height() == before
    # Squeezed (by hand, or by a strip that took its room), the panel gets its height back when a folder opens.
    win.resizeDocks([win.colour_dock, below], [200, total - 200], Qt.Orientation.Vertical)
    qtbot.wait(10)
    assert not fitted()
    win.open_folder(folder)
    qtbot.waitUntil(fitted, timeout=3000)


def _two_rolls(tmp_path: Path) -> tuple[Path, Path]:
    """Two rolls from the same camera: the frame numbers repeat (IMG_0001 in both)."""
    a, b = tmp_path / "roll1", tmp_path / "roll2"
    for root, shift in ((a, 0), (b, 40)):
        root.mkdir()
        for name in ("IMG_0001.png", "IMG_0002.png"):
            write_gray(root / name, 120, 90, shift=shift)
    return a, b


def _accept(monkeypatch, output: Path | None = None, pattern: str | None = None,  # noqa: ANN001
            fmt: str | None = None, quality: int | None = None) -> list[BatchDialog]:
    """Make BatchDialog.exec() press Colorize, after setting the options given (the others as offered)."""
    shown: list[BatchDialog] = []

    def exec_(dlg: BatchDialog) -> int:
        shown.append(dlg)
        if output is not None:
            dlg.output.setText(str(output))
        if pattern is not None:
            dlg.pattern.setText(pattern)
        if fmt is not None:
            dlg.format.setCurrentIndex(dlg.format.findData(fmt))
        if quality is not None:
            dlg.quality.setValue(quality)
        dlg._accept()
        return dlg.result()

    monkeypatch.setattr(BatchDialog, "exec", exec_)
    return shown


def test_a_second_roll_named_like_the_first_is_neither_shown_nor_skipped_as_done(
        make_window, fake_engine, tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    roll1, roll2 = _two_rolls(tmp_path)
    _accept(monkeypatch, tmp_path / "roll1-color")
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(roll1)
    win.act_batch.trigger()
    with qtbot.waitSignal(win._batch.finished, timeout=30000):
        pass
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(roll2)  # a different roll, never colorized, with the same file names
    model = win.folder_model
    assert [model.data(model.index(r), EXPORTED_ROLE) for r in range(2)] == [False, False]  # no ✓ of roll1's
    _accept(monkeypatch, None)  # the archivist accepts the dialog as it is offered for roll2
    win.act_batch.trigger()
    with qtbot.waitSignal(win._batch.finished, timeout=30000) as blocker:
        pass
    assert win._batch.thread.options.output_dir == tmp_path / "roll2-color"
    assert {r.input.name: r.status for r in blocker.args[0]} == {"IMG_0001.png": "done", "IMG_0002.png": "done"}


def test_each_roll_keeps_its_own_names_format_and_quality(make_window, fake_engine, tmp_path, qtbot,  # noqa: ANN001
                                                           monkeypatch) -> None:
    roll1, roll2 = _two_rolls(tmp_path)
    out1 = tmp_path / "roll1-color"
    win = make_window(fake_engine)
    model = win.folder_model
    for roll, out, pattern, fmt, quality in ((roll1, out1, "{stem}_color.{ext}", "jpg", 80),
                                             (roll2, tmp_path / "roll2-color", "{stem}.{ext}", "png", 95)):
        with qtbot.waitSignal(win.result_ready, timeout=10000):
            win.open_folder(roll)
        _accept(monkeypatch, out, pattern, fmt, quality)
        win.act_batch.trigger()
        with qtbot.waitSignal(win._batch.finished, timeout=30000):
            pass
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(roll1)  # back to roll 1: its outputs are where its own run put them
    assert [model.data(model.index(r), EXPORTED_ROLE) for r in range(2)] == [True, True]
    shown = _accept(monkeypatch)  # the dialog as it is offered for roll 1
    win.act_batch.trigger()
    with qtbot.waitSignal(win._batch.finished, timeout=30000) as blocker:
        pass
    dlg = shown[0]
    assert (dlg.output.text(), dlg.pattern.text(), dlg.format.currentData(), dlg.quality.value()) == (
        str(out1), "{stem}_color.{ext}", "jpg", 80)
    assert _statuses(blocker.args[0]) == {"IMG_0001.png": "skipped", "IMG_0002.png": "skipped"}
    assert sorted(p.name for p in out1.iterdir()) == ["IMG_0001_color.jpg", "IMG_0002_color.jpg", REPORT_NAME]
    # A folder never batched starts from the last run's names, format and quality (roll 1's, just now).
    roll3 = tmp_path / "roll3"
    roll3.mkdir()
    fresh = BatchDialog(roll3, 0, 0, max_pixels=5_000_000)
    qtbot.addWidget(fresh)
    assert (fresh.pattern.text(), fresh.format.currentData(), fresh.quality.value()) == (
        "{stem}_color.{ext}", "jpg", 80)


def test_hints_saved_while_the_batch_colorizes_that_photo_are_redone_by_the_rerun(
        make_window, tmp_path, qtbot) -> None:  # noqa: ANN001
    root = tmp_path / "roll"
    root.mkdir()
    write_gray(root / "a.png", 120, 90)
    write_gray(root / "b.png", 120, 90)
    win, engine, gate = _window_with_a_held_engine(make_window, root, qtbot)
    opts = BatchOptions(output_dir=tmp_path / "out", input_root=root)
    run = win.start_batch(list(win.folder_model.paths), opts)
    assert engine.started.wait(10)  # the batch is colorizing a.png (read without hints)
    # The archivist, looking at a.png meanwhile, hints it and saves (the app stays usable).
    win.colour_panel.new_hint_mode.setCurrentIndex(win.colour_panel.new_hint_mode.findData("current"))
    win.colour_panel.choose((30, 60, 220))
    win.canvas.add_requested.emit(0.5, 0.5)
    assert win.save_hints()
    time.sleep(0.05)
    gate.set()
    with qtbot.waitSignal(run.finished, timeout=30000):
        pass
    # a.png's output has no hints; its saved hints are newer than what the batch read.
    m = win.folder_model
    assert not m.data(m.index(0), EXPORTED_ROLE), "a.png shows ✓ (current) though its output lacks the saved hints"
    run2 = win.start_batch(list(win.folder_model.paths), opts)
    with qtbot.waitSignal(run2.finished, timeout=30000) as blocker:
        pass
    statuses = {r.input.name: r.status for r in blocker.args[0]}
    assert statuses["a.png"] == "done", f"the rerun skipped a.png, whose output was made without its hints: {statuses}"


def test_export_refuses_to_overwrite_another_original_of_the_open_folder(make_window, fake_engine, tmp_path,  # noqa: ANN001
                                                                         qtbot, messages) -> None:
    root = tmp_path / "roll"
    root.mkdir()
    for n in ("a.png", "b.png"):
        write_gray(root / n, 120, 90, shift=0 if n == "a.png" else 30)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(root)
    before = (root / "b.png").read_bytes()
    assert not win.export_to(root / "b.png")  # an original scan listed in the strip
    assert messages[-1][:2] == ("critical", "Cannot export") and "originals are never overwritten" in messages[-1][2]
    assert (root / "b.png").read_bytes() == before


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_export_refuses_another_original_named_in_another_case(make_window, fake_engine, tmp_path, qtbot,  # noqa: ANN001
                                                               messages, monkeypatch, platform) -> None:  # noqa: ANN001
    from colorstudio.core import fileio

    root = tmp_path / "roll"
    root.mkdir()
    for n in ("IMG_0001.PNG", "IMG_0002.PNG"):
        write_gray(root / n, 120, 90)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(root)
    monkeypatch.setattr(fileio.sys, "platform", platform)  # where IMG_0002.PNG and img_0002.png are one file
    for name in ("img_0002.png", "img_0001.png"):
        assert not win.export_to(root / name)
        assert messages[-1][:2] == ("critical", "Cannot export")
    assert [m[2].rsplit(": ", 1)[1][:12] for m in messages[-2:]] == ["that is img_", "that is the "]
    assert sorted(p.name for p in root.iterdir()) == ["IMG_0001.PNG", "IMG_0002.PNG"]


def test_next_and_previous_photo_go_past_a_photo_that_cannot_be_read(make_window, fake_engine, tmp_path,  # noqa: ANN001
                                                                    qtbot, messages, answer) -> None:
    from PySide6.QtWidgets import QMessageBox

    root = tmp_path / "roll"
    root.mkdir()
    for name in ("a.png", "c.png", "d.png"):
        write_gray(root / name, 120, 90)
    (root / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"damaged scan" * 10)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(root)
    win.next_photo()  # b.png is damaged: it says so, and goes on to c.png
    assert "b.png" in messages[-1][2] and win.document.path.name == "c.png"
    (root / "d.png").unlink()  # deleted by another program meanwhile
    win.next_photo()  # nothing after d.png: c.png stays open
    assert win.document.path.name == "c.png" and "d.png" in messages[-1][2]
    win.previous_photo()
    assert win.document.path.name == "a.png"
    # Cancel at "Save changes?" stays on the photo: it is not taken for a photo that failed.
    win.add_hint_at(0.5, 0.5)
    answer(QMessageBox.StandardButton.Cancel)
    win.next_photo()
    assert win.document.path.name == "a.png" and len(win.document.hints) == 1


def test_a_hints_file_changed_by_another_program_is_read_again_or_asked_about(make_window, fake_engine,  # noqa: ANN001
                                                                             tmp_path, qtbot, answer) -> None:
    from PySide6.QtWidgets import QMessageBox

    root = tmp_path / "roll"
    root.mkdir()
    for n in ("a.png", "b.png"):
        write_gray(root / n, 120, 90)
    a = root / "a.png"
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(root)
    win.next_photo()
    external = (Hint(0.3, 0.3, (200, 40, 30)), Hint(0.7, 0.6, (30, 90, 200)))
    save_hints(sidecar_path(a), external)  # a colleague hints a.png meanwhile, a.png not edited here
    win.previous_photo()
    assert win.document.path == a and win.document.hints == external and not win.document.dirty
    assert "changed on disk" in win.statusBar().currentMessage()
    # Edited here, and changed there again: saving asks before replacing the other program's file.
    time.sleep(0.01)
    theirs = external + (Hint(0.5, 0.2, (200, 200, 10)),)
    save_hints(sidecar_path(a), theirs)
    win.add_hint_at(0.4, 0.4)
    asked = answer(QMessageBox.StandardButton.Cancel)
    assert not win.save_hints() and len(asked) == 1 and "changed by another program" in asked[0]
    assert load_hints(sidecar_path(a)) == theirs and win.document.dirty
    answer(QMessageBox.StandardButton.Save)
    assert win.save_hints() and len(load_hints(sidecar_path(a))) == 3 and not win.document.dirty
    assert win.save_hints() and len(asked) == 2  # our own save is no change by another program


def _pixels(img: QImage) -> np.ndarray:
    rgb = img.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(rgb.constBits(), np.uint8, count=rgb.sizeInBytes()).reshape(rgb.height(), -1)
    return rows[:, :rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3).copy()


def test_a_rescanned_photo_gets_a_new_thumbnail_when_the_folder_is_opened_again(
        make_window, fake_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    root = tmp_path / "roll"
    root.mkdir()
    write_gray(root / "a.png", 120, 90)
    Image.fromarray(np.full((90, 120), 20, np.uint8), "L").save(root / "b.png")  # a dark, failed scan
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(root)
    model = win.folder_model
    model.data(model.index(1), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: str(root / "b.png") in model._thumbs, timeout=10000)
    old = _pixels(model._thumbs[str(root / "b.png")])
    # The archivist rescans b.png (a bright frame) and opens the folder again (File > Open Folder).
    Image.fromarray(np.full((90, 120), 230, np.uint8), "L").save(root / "b.png")
    st = (root / "b.png").stat()
    os.utime(root / "b.png", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert win.open_folder(root)
    img = model.data(model.index(1), Qt.ItemDataRole.DecorationRole)
    qtbot.wait(1000)
    img = model.data(model.index(1), Qt.ItemDataRole.DecorationRole)
    centre = _pixels(img)[50:60, 50:60].mean()
    assert centre > 150, f"the strip still shows the old scan's thumbnail (centre {centre:.0f}, old {old[50:60, 50:60].mean():.0f})"


def test_reopen_last_says_why_when_the_folder_was_renamed(make_window, fake_engine, tmp_path, qtbot,  # noqa: ANN001
                                                          messages) -> None:
    root = tmp_path / "roll"
    root.mkdir()
    write_gray(root / "a.png", 120, 90)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(root)
    win.close()
    again = make_window(fake_engine)  # the next day: Reopen Last is offered
    assert again.act_reopen.isEnabled()
    root.rename(tmp_path / "roll 1962")  # renamed meanwhile (a file manager, a NAS)
    assert not again.reopen_last()
    assert f"Cannot reopen {root}" in again.statusBar().currentMessage() and not again.act_reopen.isEnabled()


def test_include_subfolders_lists_the_open_folder_again(make_window, fake_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    root = tmp_path / "roll"
    (root / "1962").mkdir(parents=True)
    write_gray(root / "a.png", 120, 90)
    write_gray(root / "1962" / "b.png", 120, 90)
    win = make_window(fake_engine)
    win.act_recursive.setChecked(False)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(root)
    win.add_hint_at(0.5, 0.5)  # unsaved work on the open photo
    win.act_recursive.setChecked(True)  # File > Include Subfolders, with the folder open
    assert [p.name for p in win.folder_model.paths] == ["b.png", "a.png"] and "(2)" in win.photos_dock.windowTitle()
    assert win.document.path.name == "a.png" and len(win.document.hints) == 1 and win.strip.currentIndex().row() == 1
    win.act_recursive.setChecked(False)
    assert [p.name for p in win.folder_model.paths] == ["a.png"]


def test_next_photo_after_opening_a_photo_from_elsewhere_stays(make_window, fake_engine, tmp_path, qtbot) -> None:  # noqa: ANN001
    roll, other = tmp_path / "roll", tmp_path / "other"
    for folder, names in ((roll, ("a.png", "b.png", "c.png")), (other, ("x.png",))):
        folder.mkdir()
        for n in names:
            write_gray(folder / n, 120, 90)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(roll)
    win.next_photo()
    assert win.document.path.name == "b.png" and [p.name for p in win.strip.selected_paths()] == ["b.png"]
    win.open_path(str(other / "x.png"))  # File > Open Recent
    assert win.strip.selected_paths() == []  # Colorize Selected / Paste to Selected: not b.png
    assert not win.act_next.isEnabled() and not win.act_prev.isEnabled()  # nothing to go on from
    win.next_photo()  # before: the first photo of the strip's folder, a.png
    assert win.document.path.name == "x.png" and "not one of the photos in the strip" in \
        win.statusBar().currentMessage()
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_path(str(roll / "c.png"))  # back in the strip
    assert win.act_next.isEnabled() and win.act_prev.isEnabled()


def test_strip_follows_photos_added_and_deleted_on_disk(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QItemSelectionModel

    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    model = win.folder_model
    for row in (0, 2):  # a.png (open) and c.png selected, as for Colorize Selected
        win.strip.selectionModel().select(model.index(row), QItemSelectionModel.SelectionFlag.Select)
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):  # a scanner adds one, a file manager deletes one
        write_gray(folder / "a2.png", 80, 60)
        (folder / "b.png").unlink()
    assert [p.name for p in model.paths] == ["a.png", "a2.png", "c.png"] and "(3)" in win.photos_dock.windowTitle()
    assert sorted(p.name for p in win.strip.selected_paths()) == ["a.png", "c.png"]  # the selection stays
    assert win.document.path.name == "a.png"
    win.next_photo()
    assert win.document.path.name == "a2.png"


def test_strip_watches_subfolders_when_it_lists_them(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder, recursive=True)
    assert str(folder / "sub") in win.folder_watch.folders()
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):
        write_gray(folder / "sub" / "e.png", 80, 60)
    assert [p.name for p in win.folder_model.paths] == ["a.png", "b.png", "c.png", "d.png", "e.png"]
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):  # the folder itself goes away
        shutil.rmtree(folder)
    assert len(win.folder_model.paths) == 5 and "no such folder" in win.statusBar().currentMessage()


def test_strip_badges_follow_a_hints_file_written_by_another_program(make_window, fake_engine, folder,  # noqa: ANN001
                                                                     qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    model = win.folder_model
    assert model.data(model.index(2), HAS_HINTS_ROLE) is False
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):
        save_hints(sidecar_path(folder / "c.png"), [Hint(0.2, 0.2, (20, 30, 200))])
    assert model.data(model.index(2), HAS_HINTS_ROLE) is True


def test_strip_thumbnail_of_a_photo_scanned_again_is_made_again(make_window, fake_engine, folder,  # noqa: ANN001
                                                                qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    model = win.folder_model
    model.data(model.index(2), Qt.ItemDataRole.DecorationRole)
    key = str(folder / "c.png")
    qtbot.waitUntil(lambda: key in model._thumbs, timeout=10000)
    before = model._thumbs[key]
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):  # rescanned, saved as editors do: anew, renamed
        write_gray(folder / "c.new.png", 60, 120)
        os.replace(folder / "c.new.png", folder / "c.png")
    model.data(model.index(2), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: key in model._thumbs, timeout=10000)
    after = model._thumbs[key]
    assert (after.width(), after.height()) == (before.width(), before.height())  # square tiles
    assert after != before


def test_next_and_previous_go_on_from_an_open_photo_deleted_on_disk(make_window, fake_engine, folder,  # noqa: ANN001
                                                                    qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    for step, expected in ((win.next_photo, "c.png"), (win.previous_photo, "a.png")):
        win.open_image(folder / "b.png")
        with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):
            (folder / "b.png").rename(folder.parent / "b.png")  # moved out of the folder while open
        assert [p.name for p in win.folder_model.paths] == ["a.png", "c.png"]
        step()
        assert win.document.path.name == expected
        with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):
            (folder.parent / "b.png").rename(folder / "b.png")


def test_enter_in_the_strip_opens_the_current_photo_once(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    opened: list[int] = []
    win.strip.open_requested.connect(opened.append)
    win.strip.setFocus()
    qtbot.keyClick(win.strip, Qt.Key.Key_Right)  # moves the current photo, opens nothing
    assert opened == [] and win.document.path.name == "a.png"
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        qtbot.keyClick(win.strip, Qt.Key.Key_Return)
    assert opened == [1] and win.document.path.name == "b.png"


def test_thumbnails_are_made_for_the_screen_pixels_of_a_high_dpi_screen(folder, qtbot) -> None:  # noqa: ANN001
    from colorstudio.gui.folder import THUMB, ThumbnailLoader

    loader = ThumbnailLoader(ratio=2.0)
    with qtbot.waitSignal(loader.ready, timeout=10000) as blocker:
        loader.request(folder / "a.png")
    img = blocker.args[1]
    assert (img.width(), img.height(), img.devicePixelRatio()) == (2 * THUMB, 2 * THUMB, 2.0)
    assert img.deviceIndependentSize().width() == THUMB  # laid out as before, drawn with twice the pixels
    loader.shutdown()


def test_opening_a_folder_says_when_its_subfolders_hold_more_photos(make_window, fake_engine, folder,  # noqa: ANN001
                                                                   tmp_path, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)  # sub/d.png is not listed
    assert "Subfolders hold more photos; File > Include Subfolders lists them" in win.statusBar().currentMessage()
    only_subs = tmp_path / "archive"
    (only_subs / "1962" / "roll 1").mkdir(parents=True)
    write_gray(only_subs / "1962" / "roll 1" / "a.png", 80, 60)
    assert win.open_folder(only_subs)
    assert win.statusBar().currentMessage() == "No photos here, but File > Include Subfolders lists them"
    flat = tmp_path / "flat"
    (flat / "notes").mkdir(parents=True)
    write_gray(flat / "a.png", 80, 60)
    (flat / "notes" / "list.txt").write_text("no photos here")
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(flat)
    assert "Subfolders" not in win.statusBar().currentMessage()


def test_the_strip_is_compact_on_a_small_screen(qtbot) -> None:  # noqa: ANN001
    from colorstudio.gui.folder import THUMB, PhotoListModel, PhotoStrip, strip_thumb_size

    assert strip_thumb_size(1000) == THUMB and strip_thumb_size(728) < THUMB  # 1366 x 768 less the task bar
    big, small = (PhotoStrip(PhotoListModel(thumb=t)) for t in (THUMB, strip_thumb_size(728)))
    for strip in (big, small):
        qtbot.addWidget(strip)
    assert small.minimumHeight() <= big.minimumHeight() - (THUMB - strip_thumb_size(728))
    assert small.model().loader.size == strip_thumb_size(728)  # thumbnails made at that size, not scaled down
    # each item is as wide as the grid allows, so longer names are not cut to the first one's width
    hint = small.itemDelegate().sizeHint(QStyleOptionViewItem(), small.model().index(0))
    assert hint.width() == small.gridSize().width() - 2 * small.spacing() >= 110


def test_a_roll_folder_made_after_the_strip_listed_subfolders_is_watched(make_window, fake_engine, folder,  # noqa: ANN001
                                                                        qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder, recursive=True)
    (folder / "empty").mkdir()  # a folder with no photo yet is watched too
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):  # the scanner makes the roll's folder...
        (folder / "empty" / "roll_12").mkdir()
    assert str(folder / "empty" / "roll_12") in win.folder_watch.folders()
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):  # ... then scans into it
        write_gray(folder / "empty" / "roll_12" / "scan1.png", 80, 60)
    assert "scan1.png" in [p.name for p in win.folder_model.paths]


def test_changes_made_while_the_strip_is_hidden_show_when_it_is_shown(make_window, fake_engine, folder,  # noqa: ANN001
                                                                     qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    win.photos_dock.hide()  # View > Photos off
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):
        write_gray(folder / "d.png", 80, 60)
    assert len(win.folder_model.paths) == 3
    win.photos_dock.show()
    qtbot.waitUntil(lambda: [p.name for p in win.folder_model.paths] == ["a.png", "b.png", "c.png", "d.png"],
                    timeout=5000)


def test_many_photos_coming_at_once_set_the_strip_anew_and_keep_the_selection(make_window, fake_engine, tmp_path,  # noqa: ANN001
                                                                             qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QItemSelectionModel

    from colorstudio.gui.folder import PhotoListModel

    roll = tmp_path / "roll"
    roll.mkdir()
    for i in range(0, 240, 2):
        write_gray(roll / f"f{i:03d}.png", 16, 12)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(roll)
    model = win.folder_model
    win.strip.selectionModel().select(model.index(5), QItemSelectionModel.SelectionFlag.Select)  # f010
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):  # the odd frames, between the even ones
        for i in range(1, 240, 2):
            write_gray(roll / f"f{i:03d}.png", 16, 12)
    assert len(model.paths) == 240 and model.paths == sorted(model.paths)
    assert sorted(p.name for p in win.strip.selected_paths()) == ["f000.png", "f010.png"]  # the open one, and f010
    assert win.document.path.name == "f000.png" and "(240)" in win.photos_dock.windowTitle()
    small = PhotoListModel()
    small.set_photos(roll, [roll / "a", roll / "c"])
    assert small.update_photos([roll / "a", roll / "b", roll / "c"]) == "rows"
    assert small.update_photos([roll / "b"]) == "rows" and small.paths == [roll / "b"] and small.row_of(roll / "b") == 0
    assert small.update_photos([roll / "b"]) == ""


def test_a_photo_rewritten_in_place_gets_a_new_thumbnail(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    win._thumb_check.setInterval(100)
    model = win.folder_model
    key = str(folder / "c.png")
    model.data(model.index(2), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: key in model._thumbs, timeout=10000)
    before = model._thumbs[key]
    time.sleep(0.01)
    write_gray(folder / "c.png", 60, 120)  # opened, truncated and written: no change of the folder
    # the strip on screen asks for it again once it is dropped, and shows the new picture
    qtbot.waitUntil(lambda: model._thumbs.get(key) is not None and model._thumbs[key] != before, timeout=10000)


def test_the_open_photo_scanned_again_is_not_exported_stale_and_opens_anew_with_its_hints(  # noqa: ANN001
        make_window, fake_engine, folder, tmp_path, qtbot, messages, answer) -> None:
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    win.add_hint_at(0.3, 0.3)  # unsaved
    hints = win.document.hints
    old = win.document.image.pixels.copy()
    time.sleep(0.01)
    write_gray(folder / "a.png", 160, 120, shift=60)  # scanned again, written over the file
    win._check_open_photo()
    assert "a.png was written on disk since it was opened" in win.statusBar().currentMessage()
    assert not win.export_to(tmp_path / "a-colorized.png")  # would be of the old scan
    assert messages[-1][:2] == ("critical", "Cannot export") and "open it again" in messages[-1][2]
    asked = answer(QMessageBox.StandardButton.Cancel)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        assert win.open_image(folder / "a.png")  # a click on it in the strip: the new scan, the same hints
    assert asked == [] and win.document.hints == hints and win.document.dirty
    assert not np.array_equal(win.document.image.pixels, old)
    with qtbot.waitSignal(win.export_finished, timeout=10000):
        assert win.export_to(tmp_path / "a-colorized.png")


def test_the_open_photo_deleted_on_disk_is_said(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    with qtbot.waitSignal(win.folder_watch.changed, timeout=10000):
        (folder / "a.png").unlink()
    assert "a.png was deleted or moved on disk" in win.statusBar().currentMessage()


def test_photos_of_subfolders_are_named_with_their_subfolder(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    write_gray(folder / "sub" / "a.png", 80, 60)  # the same name as a photo of the folder itself
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder, recursive=True)
    model = win.folder_model
    names = [model.data(model.index(r), Qt.ItemDataRole.DisplayRole) for r in range(model.rowCount())]
    assert names == ["a.png", "b.png", "c.png", "sub/a.png", "sub/d.png"]
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_image(folder / "sub" / "a.png")
    assert win.windowTitle().startswith("sub/a.png")


def test_a_batch_where_every_photo_failed_does_not_say_the_others_were_done(make_window, fake_engine,  # noqa: ANN001
                                                                           batch_folder, tmp_path, qtbot) -> None:
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(batch_folder)
    run = win.start_batch([batch_folder / "broken.png"], BatchOptions(output_dir=tmp_path / "out"))
    with qtbot.waitSignal(run.finished, timeout=20000):
        pass
    assert run.failure_box.informativeText().startswith("These photos failed:\nbroken.png: ")
    run.failure_box.close()


def test_the_batch_dialog_says_how_many_photos_are_done_already(folder, tmp_path, qtbot) -> None:  # noqa: ANN001
    from colorstudio.core.batch import run_batch

    photos = [folder / n for n in ("a.png", "b.png", "c.png")]
    out = tmp_path / "scans-color"
    run_batch(photos[:2], BatchOptions(out, input_root=folder), FakeEngine(), report_path=out / REPORT_NAME)
    dlg = BatchDialog(folder, 3, 1, max_pixels=5_000_000, photos=photos, selected=photos[2:])
    qtbot.addWidget(dlg)
    dlg.output.setText(str(out))
    qtbot.waitUntil(lambda: "2 are done already and will be skipped" in dlg.done_note.text(), timeout=3000)
    dlg.overwrite.setChecked(True)
    qtbot.waitUntil(lambda: "redone (Redo is ticked)" in dlg.done_note.text(), timeout=3000)
    dlg.selected.setChecked(True)  # c.png alone: not done
    qtbot.waitUntil(lambda: dlg.done_note.text() == "", timeout=3000)
