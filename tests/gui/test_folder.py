"""Folders: the thumbnail strip, next/previous photo, per-photo undo, and the batch dialog.

core.batch is written alongside the app; these tests use a stub with its API so they do
not depend on it (the app imports it lazily and says so when it is missing).
"""
from __future__ import annotations

import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

import colorstudio.core
from colorstudio.core.hints import Hint, load_hints, save_hints, sidecar_path
from colorstudio.core.images import read_image, write_image
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


@pytest.fixture
def stub_batch(monkeypatch):  # noqa: ANN201
    """A stand-in for colorstudio.core.batch with the agreed API."""
    mod = types.ModuleType("colorstudio.core.batch")

    @dataclass(frozen=True)
    class BatchOptions:
        output_dir: Path
        pattern: str = "{stem}.{ext}"
        format: str = ""
        quality: int = 95
        overwrite: bool = False
        input_root: Path | None = None

    @dataclass(frozen=True)
    class BatchResult:
        input: Path
        output: Path | None
        status: str
        seconds: float
        error: str = ""

    def run_batch(paths, options, engine, progress=None, should_stop=None, report_path=None):  # noqa: ANN001, ANN202
        results = []
        for i, p in enumerate(paths):
            if should_stop is not None and should_stop():
                break
            t0 = time.perf_counter()
            ext = options.format or p.suffix.lstrip(".")
            out = Path(options.output_dir) / options.pattern.format(stem=p.stem, ext=ext)
            try:
                if out.exists() and not options.overwrite:
                    r = BatchResult(p, out, "skipped", 0.0)
                else:
                    out.parent.mkdir(parents=True, exist_ok=True)
                    hints = load_hints(sidecar_path(p)) if sidecar_path(p).exists() else ()
                    write_image(out, engine.colorize(read_image(p).pixels, hints))
                    r = BatchResult(p, out, "done", time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001
                r = BatchResult(p, None, "failed", time.perf_counter() - t0, str(exc))
            results.append(r)
            if progress is not None:
                progress(i + 1, len(paths), p, r)
        return results

    mod.BatchOptions, mod.BatchResult, mod.run_batch = BatchOptions, BatchResult, run_batch
    # No find_photos: the app falls back to its own listing, as it does without core.batch.
    monkeypatch.setitem(sys.modules, "colorstudio.core.batch", mod)
    monkeypatch.setattr(colorstudio.core, "batch", mod, raising=False)
    return mod


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


def test_batch_runs_through_core_routine_and_marks_exports(make_window, folder, tmp_path, qtbot,
                                                           stub_batch) -> None:  # noqa: ANN001
    win = make_window(FakeEngine())
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    out = tmp_path / "out"
    options = stub_batch.BatchOptions(output_dir=out, pattern="{stem}_color.{ext}", format="jpg",
                                      input_root=folder)
    run = win.start_batch(list(win.folder_model.paths), options)
    with qtbot.waitSignal(run.finished, timeout=20000) as blocker:
        pass
    results = blocker.args[0]
    assert [r.status for r in results] == ["done"] * 3
    assert sorted(p.name for p in out.iterdir()) == ["a_color.jpg", "b_color.jpg", "c_color.jpg"]
    assert not any(p.name.endswith("_color.jpg") for p in folder.iterdir())  # input folder untouched
    from PySide6.QtCore import QSettings

    s = QSettings()
    s.setValue("batch/output_dir", str(out))
    s.setValue("batch/pattern", "{stem}_color.{ext}")
    s.setValue("batch/format", "jpg")
    win.folder_model.refresh()
    assert win.folder_model.data(win.folder_model.index(0), EXPORTED_ROLE)
    # A rerun skips what exists (the core routine's resume), the app stays usable meanwhile.
    run = win.start_batch(list(win.folder_model.paths), options)
    win.canvas.add_requested.emit(0.5, 0.5)
    with qtbot.waitSignal(run.finished, timeout=20000) as blocker:
        pass
    assert [r.status for r in blocker.args[0]] == ["skipped"] * 3


def test_batch_cancel_stops_after_current_photo(make_window, folder, tmp_path, qtbot, stub_batch) -> None:  # noqa: ANN001
    engine = FakeEngine(delay=0.3)
    win = make_window(engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    options = stub_batch.BatchOptions(output_dir=tmp_path / "out", input_root=folder)
    run = win.start_batch(list(win.folder_model.paths), options)
    qtbot.waitUntil(lambda: run.progress.value() >= 1, timeout=20000)
    from PySide6.QtWidgets import QPushButton

    cancel = next(b for b in run.progress.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert "Stopping" in run.progress.labelText()
    with qtbot.waitSignal(run.finished, timeout=20000) as blocker:
        pass
    assert 1 <= len(blocker.args[0]) < 3
    assert run.thread.cancelled


def test_batch_dialog_refuses_unsafe_options(make_window, fake_engine, folder, qtbot) -> None:  # noqa: ANN001
    from colorstudio.gui.batch_dialog import BatchDialog

    dlg = BatchDialog(folder, 3, 0)
    qtbot.addWidget(dlg)
    dlg.output.setText(str(folder / "colorized"))
    assert "outside" in dlg.validate()
    dlg.output.setText(str(folder.parent / "colorized"))
    dlg.pattern.setText("same.{ext}")
    assert "{stem}" in dlg.validate()
    dlg.pattern.setText("{stem}_c.{ext}")
    assert dlg.validate() == ""
    assert not dlg.selected.isEnabled()


def test_batch_missing_module_is_a_message(make_window, fake_engine, folder, qtbot, messages, monkeypatch) -> None:  # noqa: ANN001
    from colorstudio.gui import batch_dialog

    monkeypatch.setattr(batch_dialog, "batch_module", lambda: None)
    win = make_window(fake_engine)
    with qtbot.waitSignal(win.result_ready, timeout=10000):
        win.open_folder(folder)
    win.act_batch.trigger()
    assert messages and "not available" in messages[0][2]
