"""The main window: wiring only.

Canvas intents become commands on the photo's QUndoStack; commands change the Document;
`document.hints_changed` drives re-inference, the hint list, the markers and autosave, so
undo, redo, loading a sidecar and editing all take one path.
"""
from __future__ import annotations

import bisect
import itertools
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QItemSelectionModel, QSettings, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QMessageBox, QWidget

from .. import __version__
from ..core.batch import EXPORT_SUFFIX, BatchOptions, find_photos, output_is_current, output_path
from ..core.color import ab_to_rgb, lightness, rgb_to_lab
from ..core.errors import ColorStudioError
from ..core.fileio import same_file_key
from ..core.hints import (
    DEFAULT_HINT_SIZE,
    MAX_HINTS,
    Hint,
    PhotoHints,
    find_hints_file,
    hints_from_json,
    hints_to_json,
    load_photo_hints,
    saturation_from_json,
    save_hints,
    sidecar_path,
)
from ..core.images import READ_SUFFIXES, SIXTEEN_BIT_SUFFIXES, UNREADABLE_SUFFIXES, WRITE_FORMATS, read_image
from ..core.settings import Settings, load_settings, save_settings
from . import commands, ui
from ._compat import freeze_startup_objects
from .canvas import Canvas, ViewState, array_to_qimage
from .document import photo_key, photo_stamp
from .folder import FolderWatcher, PhotoListModel, PhotoStrip, strip_thumb_size
from .session import PhotoSession
from .workers import InferenceController, describe_engine

DETAIL_DELAY_MS = 120  # the view or result must rest this long before a full-detail render


def _hints_text(hints: int | tuple[Hint, ...]) -> str:
    """'3 hints', or as the hint list shows them: '2 hints and 1 stroke (42 hints)'."""
    if isinstance(hints, int):
        return "1 hint" if hints == 1 else f"{hints} hints"
    strokes: dict[int, int] = {}
    for h in hints:
        s = commands.stroke_of(h)
        if s is not None:
            strokes[s] = strokes.get(s, 0) + 1
    if not strokes:
        return _hints_text(len(hints))
    single = len(hints) - sum(strokes.values())
    stroked = f"{len(strokes)} stroke{'s' if len(strokes) > 1 else ''} ({_hints_text(sum(strokes.values()))})"
    return f"{_hints_text(single)} and {stroked}" if single else stroked


def _name_too_long(path: Path) -> bool:
    """Whether a file name is over the 255 bytes most file systems allow."""
    return len(os.fsencode(path.name)) > 255


RECENT_MAX = 10
IMAGE_FILTER = "Photos ({});;All files (*)".format(" ".join(f"*{s}" for s in READ_SUFFIXES))


def can_ask_user() -> bool:
    """False where nobody can answer a modal question (offscreen tests, the smoke test)."""
    return QGuiApplication.platformName() not in ("offscreen", "minimal")


def ensure_app_identity() -> None:
    """Organisation and application names: QSettings and QStandardPaths use them."""
    app = QApplication.instance()
    if app is not None:
        if not app.organizationName():
            app.setOrganizationName("ColorStudio")
        if app.applicationName() in ("", "python", "python3") or app.applicationName().startswith("python"):
            app.setApplicationName("ColorStudio")


HINTS_DOCK_ROOM = 150  # px the hint list's dock keeps when the colour panel is given its height


THUMB_CHECK_MS = 4000  # how often the thumbnails on screen are checked against their files


def _photos_below(root: Path, folders: int = 200) -> bool:
    """Whether a subfolder of `root` holds a photo: a look at no more than `folders` folders,
    so an archive's whole tree is not walked to say so."""
    stack = [(root, True)]
    while stack and folders > 0:
        folders -= 1
        folder, is_root = stack.pop()
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((Path(entry.path), False))
                    elif not is_root and os.path.splitext(entry.name)[1].lower() in READ_SUFFIXES:
                        return True
        except OSError:
            continue
    return False


class MainWindow(QMainWindow):
    """ColorStudio's window. `engine`: a colorization engine; None loads the configured one lazily."""

    result_ready = Signal()
    export_finished = Signal(str)
    export_failed = Signal(str)
    photo_opened = Signal(str)

    def __init__(self, engine: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        ensure_app_identity()
        freeze_startup_objects()
        self.settings: Settings = load_settings()
        self.session = PhotoSession(self)
        self.document = self.session.document
        self.undo_group = self.session.undo_group
        self._selected = -1
        self._hints_before: tuple[Hint, ...] = ()  # document.hints as of the last hints_changed
        self._drag_ids = itertools.count(1)
        self._drag = next(self._drag_ids)
        self._resize_gesture = next(self._drag_ids)
        self._saturation_gesture = next(self._drag_ids)
        self._stroke: tuple[int, int, tuple[int, int, int]] | None = None  # gesture, stroke number, colour
        self._leave_cancelled = False  # the last open_image stopped at "Save changes?" (Cancel)
        self._stroke_at = (0.0, 0.0)  # the stroke's last hint (its start, before it has one)
        self._stroke_started = False  # its first hint is placed
        self.hint_size = DEFAULT_HINT_SIZE
        self._result: np.ndarray | None = None
        self._top: Any = None  # workers.TopColours of the shown result
        self.shown_hints: tuple[Hint, ...] | None = None
        self._result_saturation = 1.0
        self._last_error = ""
        self._engine_error_shown = ""
        self._exported: set[str] = set()
        self._export_options: BatchOptions | None = None  # where batch outputs of the open folder go
        self._batch: Any = None
        self._closing = False
        self._close_after_export = False
        self._close_after_batch = False  # the user chose to quit: the batch is stopping, the window closes then
        self._detail_shown: Any = None  # context of the detail render the canvases show
        # Edits that change hints and saturation at once (a paste, a revert) ask for one preview.
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(0)
        self._preview_timer.timeout.connect(self._send_preview)
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(DETAIL_DELAY_MS)
        self._detail_timer.timeout.connect(self._request_detail)

        self.view = ViewState(self)
        self.canvas = Canvas(self.view, "input")
        self.canvas.setObjectName("canvas")
        self.canvas.setToolTip("Click to add a colour hint; drag a hint to move it; right-click a hint to delete "
                               "it; drag elsewhere to pan; wheel to zoom")
        self.result_canvas = Canvas(self.view, "result")
        self.result_canvas.setObjectName("result_canvas")
        self.result_canvas.setToolTip("The colorized result (live preview); drag to pan, wheel to zoom")

        factory = None if engine is not None else self._engine_factory(self.settings)
        self.controller = InferenceController(engine, factory, parent=self,
                                              export_factory=self._export_factory(self.settings))
        screen = QGuiApplication.primaryScreen()
        self.folder_model = PhotoListModel(is_exported=lambda p: photo_key(p) in self._exported, parent=self,
                                           exported_file=self._batch_output,
                                           thumb=strip_thumb_size(screen.availableGeometry().height() if screen else 1080))
        self.strip = PhotoStrip(self.folder_model)
        self.folder_watch = FolderWatcher(parent=self)
        self._strip_recursive = False
        self._strip_stale = False  # changes on disk came while the strip was hidden
        self._photo_gone_said = ""  # what was said of the open photo's file changing on disk

        ui.build(self)
        self._connect()
        self._show_start_hint()

        self.setAcceptDrops(True)
        self.setWindowTitle("ColorStudio[*]")
        self.resize(self._first_size())
        self._restore_layout()
        self._update_actions()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.controller.shutdown)

    # -- construction ----------------------------------------------------------------------
    @staticmethod
    def _engine_factory(settings: Settings, model: str = "") -> Callable[[], Any]:
        def load() -> Any:
            from ..core.engine import load_engine

            return load_engine(model or settings.model, device=settings.device, working_size=settings.working_size)

        return load

    @classmethod
    def _export_factory(cls, settings: Settings) -> Callable[[], Any] | None:
        """Loads the model chosen for export and batch; None when it is the editing model."""
        if settings.export_model in ("", settings.model):
            return None
        return cls._engine_factory(settings, settings.export_model)

    def _connect(self) -> None:
        d = self.document
        d.hints_changed.connect(self._hints_changed)
        d.saturation_changed.connect(self._show_saturation)
        d.image_changed.connect(self._image_changed)
        d.dirty_changed.connect(self._dirty_changed)
        self.session.autosave_failed.connect(lambda msg: self.statusBar().showMessage(msg, 8000))
        self.folder_watch.changed.connect(self._folder_changed)
        self.photos_dock.visibilityChanged.connect(
            lambda seen: seen and self._strip_stale and QTimer.singleShot(0, self._folder_changed))
        # A photo rewritten in place (no folder change to watch): the thumbnails on screen are looked at now and then.
        self._thumb_check = QTimer(self)
        self._thumb_check.setInterval(THUMB_CHECK_MS)
        self._thumb_check.timeout.connect(
            lambda: self.photos_dock.isVisible() and self.folder_model.drop_changed_thumbnails(self.strip.visible_rows()))
        self._thumb_check.timeout.connect(self._check_open_photo)
        self._thumb_check.start()
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.commitDataRequest.connect(self._session_ending)
        for c in (self.canvas, self.result_canvas):
            c.add_requested.connect(self.add_hint_at)
            c.select_requested.connect(self.select_hint)
            c.move_requested.connect(self._move_requested)
            c.drag_finished.connect(self._drag_finished)
            c.remove_requested.connect(self.remove_hint)
            c.stroke_started.connect(self.start_stroke)
            c.stroke_extended.connect(self.extend_stroke)
            c.stroke_finished.connect(self.finish_stroke)
            c.nudge_requested.connect(self.nudge_selected)
            c.resized.connect(self._detail_timer.start)
        self.view.changed.connect(self._detail_timer.start)
        self.view.changed.connect(self._show_zoom)
        self.canvas.resized.connect(self._show_zoom)
        self.hint_panel.select_requested.connect(self.select_hint)
        self.hint_panel.remove_requested.connect(self._remove_from_list)
        self.hint_panel.clear_requested.connect(self.clear_hints)
        self.colour_panel.colour_chosen.connect(self._colour_chosen)
        self.colour_panel.new_hint_mode_changed.connect(self._new_hint_mode_changed)
        ctl = self.controller
        ctl.preview_ready.connect(self._preview_ready)
        ctl.suggestions_ready.connect(self._suggestions_ready)
        ctl.detail_ready.connect(self._detail_ready)
        ctl.inference_failed.connect(self._inference_failed)
        ctl.export_finished.connect(self._export_done)
        ctl.export_failed.connect(self._export_failed)
        ctl.engine_ready.connect(self._engine_ready)
        ctl.engine_failed.connect(self._engine_failed)
        if ctl.engine is not None:  # given ready-made (embedding, tests): no load will announce it
            self._engine_ready(describe_engine(ctl.engine))
        ctl.busy_changed.connect(self.busy.setVisible)
        self.strip.open_requested.connect(self._open_from_strip)
        self.undo_group.indexChanged.connect(lambda _i: self._update_actions())

    # -- the undo stack of the open photo ---------------------------------------------------
    @property
    def undo_stack(self) -> QUndoStack:
        """The QUndoStack of the open photo's hint edits."""
        return self.session.stack

    def _push(self, command: QUndoCommand) -> None:
        self.session.push(command)

    # -- intents -> commands ------------------------------------------------------------------
    def add_hint_at(self, x: float, y: float) -> None:
        """Add a hint at normalised (x, y): the model's colour there, or the current colour."""
        if not self.document.is_open:
            return
        if self._hints_full():
            return
        hint = Hint(min(1.0, max(0.0, x)), min(1.0, max(0.0, y)), self._new_hint_colour(x, y), self.hint_size)
        self._push(commands.add_hint(self.document, hint))
        self.select_hint(len(self.document.hints) - 1)

    def _new_hint_colour(self, x: float, y: float) -> tuple[int, int, int]:
        """A new hint's colour at (x, y): the model's there, or the current colour (Preferences)."""
        rgb = self.colour_panel.current
        if self.settings.hint_colour != "current":
            rgb = self.suggested_colour(x, y) or rgb
        return rgb

    # A stroke: Shift-drag paints hints of one colour along the path, a hint size apart.
    def start_stroke(self, x: float, y: float) -> None:
        """Begin a stroke at (x, y) with the colour a click there would give. Its first hint
        is placed once the mouse has gone a hint size; released before, it is a plain click."""
        doc = self.document
        if not doc.is_open:
            return
        self._stroke = (next(self._drag_ids), commands.new_stroke_number(doc.hints), self._new_hint_colour(x, y))
        self._stroke_at = (x, y)
        self._stroke_started = False

    def extend_stroke(self, x: float, y: float) -> None:
        """Add hints from the last one towards (x, y), one hint size apart (none if the mouse
        has not gone that far yet)."""
        if self._stroke is None or not self.document.is_open:
            return
        w, h = self.document.size
        lx, ly = self._stroke_at
        step = max(self.hint_size * max(w, h), 1.0)  # pixels: patches side by side
        dist = math.hypot((x - lx) * w, (y - ly) * h)
        if dist >= step and not self._stroke_started:
            self._stroke_started = True
            self._paint(lx, ly)
        for k in range(1, int(dist // step) + 1):
            t = k * step / dist
            self._paint(lx + (x - lx) * t, ly + (y - ly) * t)

    def finish_stroke(self) -> None:
        if self._stroke is not None and not self._stroke_started:
            self.add_hint_at(*self._stroke_at)  # it never went anywhere: a click
        elif self._stroke is not None and self.document.hints:
            self.select_hint(len(self.document.hints) - 1)
        self._stroke = None

    def _hints_full(self) -> bool:
        """A hints file holds at most MAX_HINTS: say so instead of adding one more."""
        if len(self.document.hints) < MAX_HINTS:
            return False
        self.statusBar().showMessage(f"This photo has {MAX_HINTS} hints, as many as a hints file holds: "
                                     "delete some (or paint with bigger hints) to add more", 10000)
        return True

    def _paint(self, x: float, y: float) -> None:
        if self._stroke is None:
            return
        if self._hints_full():
            self._stroke = None
            return
        gesture, number, rgb = self._stroke
        self._push(commands.paint_hint(self.document, Hint(x, y, rgb, self.hint_size), number, gesture))
        self._stroke_at = (x, y)

    def suggested_colour(self, x: float, y: float) -> tuple[int, int, int] | None:
        """The model's most likely colour at (x, y), for the hints of the shown result.

        No network runs here: the worker sends, with each result, the regression output that
        engine.suggest ranks first. Engines without it: the shown result's colour there, with
        the global saturation taken back out. None before the first result.
        """
        if self._top is not None:
            return self._top.at(x, y)
        res = self._result
        if res is None:
            return None
        h, w = res.shape[:2]
        r, c = min(h - 1, int(y * h)), min(w - 1, int(x * w))
        patch = res[max(0, r - 1): r + 2, max(0, c - 1): c + 2].reshape(-1, 3)
        lab = rgb_to_lab(patch).mean(axis=0)
        s = self._result_saturation
        if s < 0.05:
            return None
        return ab_to_rgb(float(lab[0]), float(lab[1]) / s, float(lab[2]) / s)

    @property
    def selected(self) -> int:
        """Index of the selected hint in document.hints, or -1."""
        return self._selected

    def select_hint(self, index: int) -> None:
        hints = self.document.hints
        index = index if 0 <= index < len(hints) else -1
        if index != self._selected:
            self._drag = next(self._drag_ids)
            self._resize_gesture = next(self._drag_ids)
        self._selected = index
        self.canvas.set_hints(hints, index)
        self.hint_panel.set_hints(hints, index)
        if index >= 0:
            hint = hints[index]
            self.colour_panel.set_current(hint.rgb, self._lightness_at(hint.x, hint.y))
            self._show_size(hint.size)
            self._request_suggestions(index)
        else:
            self.colour_panel.set_suggestions([], "Select a hint to see the model's suggestions")
            self._show_size(self.hint_size)  # with no hint selected, the box is the size of new hints
        self._update_actions()

    def _show_size(self, size: float) -> None:
        """The size box shows `size` (a hint's) without resizing anything."""
        if abs(self.size_spin.value() - size * 100) < 1e-9:
            return  # no rewrite of the box while the user types in it
        self.size_spin.blockSignals(True)
        self.size_spin.setValue(size * 100)
        self.size_spin.blockSignals(False)

    def _move_requested(self, index: int, x: float, y: float, alone: bool = False) -> None:
        """A drag moves hint `index` to (x, y) with its stroke, or (Ctrl: `alone`) by itself."""
        if 0 <= index < len(self.document.hints):
            self._push(commands.move_hint(self.document, index, x, y, self._drag, alone))

    def nudge_selected(self, dx: int, dy: int) -> None:
        """Move the selected hint (or stroke) by (dx, dy) screen pixels: the arrow keys, Shift
        for ten. A run of nudges is one undo step."""
        i, doc = self._selected, self.document
        if not 0 <= i < len(doc.hints):
            return
        scale = self.canvas.transform()[0]  # screen pixels per photo pixel
        w, h = doc.size
        hint = doc.hints[i]
        x = min(1.0, max(0.0, hint.x + dx / (scale * w)))
        y = min(1.0, max(0.0, hint.y + dy / (scale * h)))
        self._push(commands.move_hint(doc, i, x, y, "nudge"))

    def _drag_finished(self, index: int) -> None:
        self._drag = next(self._drag_ids)
        if index == self._selected:
            self.select_hint(index)  # refresh suggestions and the gamut at the new spot

    def remove_hint(self, index: int, alone: bool = False) -> None:
        """Delete hint `index` with its stroke, or (Ctrl+right-click: `alone`) by itself."""
        if 0 <= index < len(self.document.hints):
            self._push(commands.remove_hint(self.document, index, alone))  # the selection follows (_hints_changed)

    def delete_selected(self) -> None:
        if self._selected >= 0:
            if self.hint_panel.list.hasFocus():
                self._remove_from_list(self._selected)
            else:
                self.remove_hint(self._selected)

    def _remove_from_list(self, index: int) -> None:
        """Delete from the hint list (its button, or Delete there): the row that takes the
        deleted one's place is selected, so Delete, Delete, Delete goes down the list."""
        if not 0 <= index < len(self.document.hints):
            return
        row = next((r for r, members in enumerate(commands.rows(self.document.hints)) if index in members), 0)
        self.remove_hint(index)
        rows = commands.rows(self.document.hints)
        if rows:
            self.select_hint(rows[min(row, len(rows) - 1)][0])

    def clear_hints(self) -> None:
        if self.document.hints:
            self._push(commands.clear_hints(self.document))

    def _colour_chosen(self, rgb: tuple[int, int, int], gesture: int) -> None:
        i = self._selected
        if 0 <= i < len(self.document.hints) and self.document.hints[i].rgb != tuple(rgb):
            self._push(commands.recolour_hint(self.document, i, tuple(rgb), gesture or None))

    def _size_spin_changed(self, value: float) -> None:
        self.hint_size = min(1.0, max(0.001, value / 100))
        i = self._selected
        if 0 <= i < len(self.document.hints) and abs(self.document.hints[i].size - self.hint_size) > 1e-9:
            self._push(commands.resize_hint(self.document, i, self.hint_size, self._resize_gesture))

    def _step_hint_size(self, factor: float) -> None:
        self.size_spin.setValue(self.size_spin.value() * factor)

    @property
    def saturation(self) -> float:
        """The open photo's saturation (saved with its hints; 1.0 with no photo open)."""
        return self.document.saturation

    def _saturation_changed(self, value: int) -> None:
        """The slider moved: one undo step per drag (or run of key presses) of the slider."""
        if self.document.is_open and value / 100 != self.document.saturation:
            self._push(commands.SaturationCommand(self.document, value / 100, ("saturation", self._saturation_gesture)))

    def _saturation_gesture_ended(self) -> None:
        self._saturation_gesture = next(self._drag_ids)

    def _show_saturation(self, value: float) -> None:
        """An edit (or undo) changed the saturation: show it and render."""
        self._saturation_controls(value)
        self._request_preview()

    def _saturation_controls(self, value: float) -> None:
        percent = round(value * 100)
        if self.saturation_slider.value() != percent:
            with QSignalBlocker(self.saturation_slider):
                self.saturation_slider.setValue(percent)
        self.saturation_label.setText(f" Saturation {percent} % ")

    def _new_hint_mode_changed(self, mode: str) -> None:
        self._apply_settings(self.settings.updated(hint_colour=mode), reload_engine=False)

    # -- document -> views, inference, autosave -------------------------------------------------
    def _hints_changed(self, hints: tuple[Hint, ...]) -> None:
        before, self._hints_before = self._hints_before, hints
        i = self._selected
        if 0 <= i < len(before) and len(hints) != len(before):
            # A hint was added or removed (an edit, undo or redo): the selection stays
            # with the hint it was on, or is dropped with it.
            i = hints.index(before[i]) if before[i] in hints else -1
        if not 0 <= i < len(hints):
            i = -1
        if i < 0 and len(hints) == len(before) + 1 and all(h in hints for h in before):
            # one hint came back (undo of a delete, redo of an add): selected, so the arrow keys
            # and the colour panel act on it, as on a hint just placed
            i = next((k for k, h in enumerate(hints) if h not in before), -1)
        if i != self._selected:
            self.select_hint(i)  # markers, list, colour panel and suggestions for the new selection
        else:
            self.canvas.set_hints(hints, i)
            self.hint_panel.set_hints(hints, i)
            if i >= 0 and len(hints) == len(before) and hints[i] != before[i]:
                self._selected_hint_edited(hints[i], before[i])
            self._update_actions()
        self._request_preview()

    def _selected_hint_edited(self, hint: Hint, was: Hint) -> None:
        """Keep the colour panel and the size box on the selected hint after an edit to it (undo
        and redo included); a drag in progress asks for suggestions once, when it ends."""
        if hint.rgb != self.colour_panel.current:
            self.colour_panel.set_current(hint.rgb, self._lightness_at(hint.x, hint.y))
        self._show_size(hint.size)
        if (hint.x, hint.y) != (was.x, was.y) and not self.canvas.dragging:
            self._request_suggestions(self._selected)

    def _image_changed(self) -> None:
        doc = self.document
        self.controller.cancel_previews()
        self._result = self._top = None
        self._selected = -1
        self._stroke = None  # a stroke (or drag, below) begun on the last photo ends with it
        self.canvas.set_photo(array_to_qimage(doc.image.pixels), doc.size)
        self.result_canvas.set_photo(array_to_qimage(doc.preview), doc.size)
        self.result_canvas.set_placeholder("Colorizing…")
        self.view.set_fit()
        self._saturation_controls(doc.saturation)  # the hints_changed that follows renders it

    def _request_preview(self) -> None:
        """Ask for a preview once control returns to the event loop: the changes made by one
        action (one undo step may change hints and saturation) are colorized together."""
        self._preview_timer.start()

    def _send_preview(self) -> None:
        doc = self.document
        if doc.is_open and not self._closing:
            self.controller.request_preview(doc.preview, doc.hints, self.saturation,
                                            context=(doc.key, doc.hints, self.saturation))

    def _request_suggestions(self, index: int) -> None:
        doc = self.document
        hint = doc.hints[index]
        others = doc.hints[:index] + doc.hints[index + 1:]
        self.colour_panel.set_suggestions([], "Model suggestions: computing…")
        self.controller.request_suggestions(doc.preview, others, hint.x, hint.y, 8, context=(doc.key, hint))

    def _lightness_at(self, x: float, y: float) -> float:
        pv = self.document.preview
        if pv is None:
            return 50.0
        h, w = pv.shape[:2]
        px = pv[min(h - 1, int(y * h)): min(h - 1, int(y * h)) + 1, min(w - 1, int(x * w)): min(w - 1, int(x * w)) + 1]
        return float(lightness(px[..., :3] if px.ndim == 3 else px).mean())

    def _preview_ready(self, rgb: np.ndarray, ms: float, context: Any, top: Any) -> None:
        key, hints, saturation = context
        if key != self.document.key:
            return
        self._result = rgb
        self._top = top
        self._result_saturation = saturation
        self.shown_hints = hints  # the hints the shown result was made from
        image = array_to_qimage(rgb)
        self.result_canvas.set_result(image)
        self.canvas.set_result(image)
        self._detail_shown = None
        self._detail_timer.start()
        self.ms_label.setText(f"Last: {ms:.0f} ms")
        if self._last_error:
            self._last_error = ""
            self.statusBar().clearMessage()
        self.result_ready.emit()

    def _show_zoom(self) -> None:
        """The zoom in the status bar, in screen pixels per photo pixel (as Ctrl+1 sets 100 %)."""
        if not self.document.is_open:
            self.zoom_label.setText("")
            return
        percent = self.canvas.transform()[0] * self.canvas.devicePixelRatioF() * 100
        shown = f"{percent:.0f} %" if percent >= 10 else f"{percent:.1f} %"
        self.zoom_label.setText(f"Fit {shown}" if self.view.fit else shown)

    def _request_detail(self) -> None:
        """Zoomed in beyond the preview's resolution (or on a screen finer than it): render
        what the view shows from the full-resolution photo, so the result is as sharp as
        the input and as the export will be. Waits while hints are being dragged."""
        doc = self.document
        if not doc.is_open or self._result is None or self._closing or self.canvas.dragging:
            return
        if self.controller.pending_previews:
            return  # a newer result is coming; its arrival asks again
        for c in (self.result_canvas, self.canvas):
            wanted = c.wanted_detail(doc.preview.shape[1])
            if wanted is not None:
                break
        else:
            return
        region, size = wanted
        context = (doc.key, self.shown_hints, self._result_saturation, region, size)
        if context != self._detail_shown:
            self.controller.request_detail(doc.preview, doc.image.pixels, self.shown_hints, self._result_saturation,
                                           region, size, context=context)

    def _detail_ready(self, rgb: np.ndarray, context: Any) -> None:
        key, hints, saturation, region, _size = context
        if (key, hints, saturation) != (self.document.key, self.shown_hints, self._result_saturation):
            return  # made for a result no longer shown
        image = array_to_qimage(rgb)
        for c in (self.result_canvas, self.canvas):
            c.set_detail(image, region)
        self._detail_shown = context

    def _suggestions_ready(self, colours: list[tuple[int, int, int]], context: Any) -> None:
        key, hint = context
        i = self._selected
        if key == self.document.key and 0 <= i < len(self.document.hints) and \
                (self.document.hints[i].x, self.document.hints[i].y) == (hint.x, hint.y):
            self.colour_panel.set_suggestions(colours)

    def _inference_failed(self, message: str) -> None:
        if message != self._last_error:
            self._last_error = message
            self.statusBar().showMessage(f"Colorization failed: {message}")
        self.result_canvas.set_placeholder(f"No result: {message}")

    def _engine_ready(self, description: str) -> None:
        self.device_label.setText(f"Device: {description}")
        self._engine_error_shown = ""
        note = getattr(self.controller.engine, "device_note", "")
        self.device_label.setToolTip(note[:1].upper() + note[1:] if note else ui.DEVICE_TIP)
        if note:
            self.statusBar().showMessage(f"Note: {note}", 15000)

    def _engine_failed(self, message: str) -> None:
        self.device_label.setText("Model: not loaded")
        self._last_error = message
        self.statusBar().showMessage(message)
        self.result_canvas.set_placeholder(f"{message}\n\nChoose a model file in Preferences (Ctrl+,).")
        if message != self._engine_error_shown:
            self._engine_error_shown = message
            # Non-blocking: the photo and its hints stay editable without a model.
            box = QMessageBox(QMessageBox.Icon.Critical, "Model not available",
                              f"{message}\n\nYou can still place and save hints. Choose a model file in "
                              "Preferences (Ctrl+,).", QMessageBox.StandardButton.Ok, self)
            box.setObjectName("engine_error")
            box.open()
            self._engine_box = box

    # -- opening ------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(self.document.path.parent) if self.document.path else str(QSettings().value("last_dir", ""))
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", start, IMAGE_FILTER)
        if path:
            self.open_image(path)

    def open_folder_dialog(self) -> None:
        start = str(QSettings().value("last_dir", ""))
        path = QFileDialog.getExistingDirectory(self, "Open folder of photos", start)
        if path:
            self.open_folder(path, recursive=self.act_recursive.isChecked())

    def open_path(self, path: str | os.PathLike[str]) -> bool:
        """A photo or a folder (command line, drag and drop)."""
        p = Path(path).expanduser()
        if p.is_dir():
            return self.open_folder(p, recursive=self.act_recursive.isChecked())
        return self.open_image(p)

    def open_image(self, path: str | os.PathLike[str]) -> bool:
        """Open a photo with its hints (session, autosave, or sidecar). False if not opened."""
        p = Path(path).expanduser()
        # The open photo again: nothing to do, unless its file was written since (scanned again):
        # then the new scan is read, and the hints and their history stay as they are.
        again = self.document.path is not None and photo_key(p) == self.document.key
        if again and photo_stamp(p) == self.document.photo_stamp:
            return True
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:  # read before asking about this photo's edits: a photo that cannot be opened changes nothing
            image = read_image(p, max_pixels=int(self.settings.max_megapixels * 1e6))
        except (ColorStudioError, OSError, ValueError) as exc:
            QApplication.restoreOverrideCursor()
            QMessageBox.critical(self, "Cannot open photo", str(exc))
            return False
        except MemoryError:
            QApplication.restoreOverrideCursor()
            QMessageBox.critical(self, "Cannot open photo", f"{p}: not enough memory to open this photo")
            return False
        QApplication.restoreOverrideCursor()
        if not again and not self._leave_photo():
            self._leave_cancelled = True  # the user chose to stay (Cancel), not a photo that failed
            return False
        report = self.session.open(p, image)
        self._photo_gone_said = ""
        if report.sidecar_error:
            QMessageBox.warning(self, "Hints not loaded", f"{report.sidecar_error}\n\nThe photo opens without "
                                "hints; saving will replace that file.")
        self.select_hint(-1)
        self._remember_recent(p)
        QSettings().setValue("session/photo", str(p.resolve()))
        self._update_title()
        self._sync_strip()
        w, h = image.size
        msg = f"Opened {p.name} ({w} × {h})" + "".join(f"; {n}" for n in report.notes)
        self.statusBar().showMessage(msg, 0 if report.restored >= 0 or report.set_aside else 8000)
        self.photo_opened.emit(str(p))
        return True

    def _open_from_strip(self, row: int) -> None:
        if not self.open_image(self.folder_model.paths[row]):
            self._sync_strip()  # not opened (Cancel, unreadable): the strip goes back to the open photo

    def _leave_photo(self) -> bool:
        """Before another photo replaces this one (or the window closes): keep or drop edits."""
        doc = self.document
        if not doc.is_open or not doc.dirty:
            return True
        if self.settings.on_leave == "save":  # Preferences: save without asking, as photo browsers do
            return self.save_hints()
        if not can_ask_user():
            self.autosave_now()  # nobody to ask: keep the work in the autosave and the session
            return True
        answer = QMessageBox.question(
            self, "Unsaved hints", f"Save the changes to the hints (and saturation) of {doc.path.name}?\n\n"
            "(To save them without this question, set Preferences > Unsaved hints on leaving a photo.)",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_hints()
        if answer == QMessageBox.StandardButton.Discard:
            self.session.discard_changes()
            return True
        return False

    def open_folder(self, folder: str | os.PathLike[str], recursive: bool = False) -> bool:
        """List the photos of `folder` (core.batch.find_photos: what a batch would colorize) and open the first."""
        from .batch_dialog import remembered_options

        root = Path(folder).expanduser()
        try:
            photos, unlisted = self._list_folder(root, recursive)
        except ColorStudioError as exc:  # not a folder, or not readable
            QMessageBox.critical(self, "Cannot open folder", str(exc))
            return False
        # the first photo that can be read; HEIC is listed only to say why it is not colorized
        first = next((p for p in photos if p.suffix.lower() not in UNREADABLE_SUFFIXES), photos[0]) if photos else None
        if first is not None and photo_key(first) != self.document.key and not self._leave_photo():
            return False  # Cancel: the folder, its strip and the photo stay as they were
        s = QSettings()
        s.setValue("last_dir", str(root))
        s.setValue("session/folder", str(root.resolve()))
        self._export_options = remembered_options(root)
        self._show_folder(root, photos, recursive)
        self.photos_dock.show()
        QTimer.singleShot(0, self._fit_colour_dock)  # once the strip has taken its room
        opened = self.open_image(first) if first is not None else True
        if unlisted:  # after open_image, whose own message would replace this one
            self._report_unlisted(root, unlisted)
        elif not recursive and _photos_below(root):
            self.statusBar().showMessage(("No photos here, but" if not photos else "Subfolders hold more photos;")
                                         + " File > Include Subfolders lists them", 10000)
        elif not photos:
            self.statusBar().showMessage(f"No photos in {root}", 8000)
        return opened

    def relist_folder(self, recursive: bool) -> None:
        """List the open folder again, with or without its subfolders (File > Include
        Subfolders); the open photo stays open."""
        root = self.folder_model.root
        if root is None or not self.photos_dock.isVisible():
            return
        try:
            photos, unlisted = self._list_folder(root, recursive)
        except ColorStudioError as exc:  # the folder went away meanwhile
            self.statusBar().showMessage(str(exc), 8000)
            return
        self._show_folder(root, photos, recursive)
        self._sync_strip()
        if unlisted:
            self._report_unlisted(root, unlisted)

    @staticmethod
    def _list_folder(root: Path, recursive: bool) -> tuple[list[Path], list[tuple[Path, str]]]:
        """The photos of `root` (core.batch.find_photos), and the subfolders that could not be
        listed with why; raises ColorStudioError if `root` itself cannot be."""
        unlisted: list[tuple[Path, str]] = []
        photos = find_photos(root, recursive=recursive,
                             on_error=lambda sub, exc: unlisted.append((sub, str(exc.strerror or exc))))
        return photos, unlisted

    def _show_folder(self, root: Path, photos: list[Path], recursive: bool) -> None:
        """The strip lists `photos` of `root`, remembered for Reopen Last."""
        QSettings().setValue("session/recursive", bool(recursive))
        self._strip_recursive = bool(recursive)
        self.folder_model.set_photos(root, photos)
        self.folder_watch.watch(root, recursive)
        self._strip_stale = False
        self._strip_title()

    def _strip_title(self) -> None:
        root = self.folder_model.root
        self.photos_dock.setWindowTitle(f"Photos – {root.name if root else ''} ({len(self.folder_model.paths)})")
        self._update_actions()

    def _folder_changed(self) -> None:
        """Files came or went in the open folder (a scanner, a file manager, another program):
        the strip lists them as they are now, keeping its selection. Photos deleted on disk
        leave the strip; the open photo stays open (it is in memory)."""
        root = self.folder_model.root
        if root is None:
            return
        if not self.photos_dock.isVisible():  # listed again when the strip is shown
            self._strip_stale = True
            return
        self._strip_stale = False
        try:
            photos, _unlisted = self._list_folder(root, self._strip_recursive)
        except ColorStudioError as exc:  # the folder itself went away or became unreadable
            self.statusBar().showMessage(f"{exc}; the strip shows the photos as they were", 8000)
            return
        self.folder_watch.watch(root, self._strip_recursive)  # subfolders made since
        selected = self.strip.selected_paths()
        how = self.folder_model.update_photos(photos)
        if how == "reset":  # many changes at once: the list was set anew; the selection comes back
            self._sync_strip()
            sm = self.strip.selectionModel()
            for p in selected:
                row = self.folder_model.row_of(p)
                if row >= 0:
                    sm.select(self.folder_model.index(row), QItemSelectionModel.SelectionFlag.Select)
        if how:
            self._strip_title()
        self.folder_model.drop_changed_thumbnails()  # a photo scanned again under its name
        self._check_open_photo()
        self.folder_model.refresh()  # badges: a hints file or an export written by another program

    def _check_open_photo(self) -> None:
        """Say once if the open photo's file was deleted, moved or written since it was read."""
        doc = self.document
        if not doc.is_open or doc.photo_stamp is None:
            return
        now = photo_stamp(doc.path)
        if now == doc.photo_stamp:
            return
        said = "gone" if now is None else "changed"
        if said != self._photo_gone_said:
            self._photo_gone_said = said
            self.statusBar().showMessage(
                f"{doc.path.name} was deleted or moved on disk: what is open is the photo as it was read; "
                "Save Hints As and Export still work" if now is None else
                f"{doc.path.name} was written on disk since it was opened (scanned again?): open it again "
                "(click it in the strip) to work on the new file; its hints stay", 0)

    def _report_unlisted(self, root: Path, unlisted: list[tuple[Path, str]]) -> None:
        """Subfolders that could not be listed: their photos are missing from the strip."""
        names = [str(sub.relative_to(root)) if sub.is_relative_to(root) else str(sub) for sub, _ in unlisted]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        self.statusBar().showMessage(f"{len(names)} subfolder{'s' if len(names) > 1 else ''} could not be read "
                                     f"({unlisted[0][1]}): {shown}; their photos are not listed")

    def next_photo(self) -> None:
        self._step_photo(1)

    def previous_photo(self) -> None:
        self._step_photo(-1)

    def _step_photo(self, step: int) -> None:
        paths = self.folder_model.paths
        if not paths:
            return
        row = self.folder_model.row_of(self.document.path) if self.document.path else -1
        if row < 0 and self.document.is_open:
            if not self._strip_goes_on():
                self.statusBar().showMessage(f"{self.document.path.name} is not one of the photos in the strip; "
                                             "open its folder to go through it", 8000)  # Open Photo, Open Recent
                return
            place = bisect.bisect_left(paths, self.document.path)  # deleted on disk, so gone from the strip
            row = place - 1 if step > 0 else place  # Next and Previous go on from where it was
        rows = range(row + step, len(paths) if step > 0 else -1, step) if row >= 0 or step > 0 else range(len(paths))
        for r in rows:  # past photos that cannot be read (damaged, deleted meanwhile): each says why
            self._leave_cancelled = False
            if self.open_image(paths[r]) or self._leave_cancelled:
                return

    def _strip_goes_on(self) -> bool:
        """Whether Next / Previous Photo go on from the open photo: it is in the strip, or was
        (deleted on disk since). Not for a photo opened from elsewhere (Open Photo, Open Recent)."""
        doc = self.document
        if not doc.is_open or self.folder_model.row_of(doc.path) >= 0:
            return True
        root = self.folder_model.root
        return root is not None and doc.path.is_relative_to(root) and not doc.path.exists()

    def _sync_strip(self) -> None:
        row = self.folder_model.row_of(self.document.path) if self.document.path else -1
        if row >= 0:
            idx = self.folder_model.index(row)
            self.strip.setCurrentIndex(idx)
            self.strip.scrollTo(idx)
        elif self.strip.selectionModel() is not None:  # the open photo is not in the strip: nothing is marked
            self.strip.selectionModel().clear()

    # -- saving -------------------------------------------------------------------------------
    def save_hints(self) -> bool:
        doc = self.document
        if not doc.is_open:
            return False
        if self.session.changed_on_disk() and can_ask_user():
            answer = QMessageBox.question(
                self, "Hints changed on disk", f"The hints file of {doc.path.name} was changed by another program "
                "since it was opened here. Replace it with the hints shown?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Save:
                return False
        try:
            target = self.session.save()
        except (ColorStudioError, OSError, ValueError) as exc:  # ValueError: hints no JSON file can hold
            where = sidecar_path(doc.path)
            QMessageBox.critical(self, "Cannot save hints", f"{where}: {getattr(exc, 'strerror', None) or exc}\n\n"
                                 "Your hints are kept (autosaved for this photo); File > Save Hints As… "
                                 "writes them to another place.")
            return False
        self.folder_model.refresh(doc.path)
        self._update_title()
        if target == sidecar_path(doc.path):
            self.statusBar().showMessage(f"Saved {_hints_text(doc.hints)} to {target.name}", 6000)
        else:
            why = "name is too long for a hints file beside it" if _name_too_long(sidecar_path(doc.path)) else \
                "folder is read-only"
            self.statusBar().showMessage(
                f"The photo's {why}: saved {_hints_text(doc.hints)} in ColorStudio's hints folder "
                f"({target.parent}); batches and the command line on this computer use them", 15000)
        return True

    def save_hints_as(self) -> None:
        doc = self.document
        if not doc.is_open:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save hints as", str(sidecar_path(doc.path)),
                                              "ColorStudio hints (*.json)")
        own = {photo_key(p) for p in (sidecar_path(doc.path), find_hints_file(doc.path)) if p is not None}
        if path and photo_key(Path(path)) in own:
            self.save_hints()  # the photo's own hints file: a plain save, which marks the photo saved
        elif path:
            try:
                save_hints(path, doc.hints, saturation=doc.saturation)
                self.statusBar().showMessage(f"Saved {_hints_text(doc.hints)} to {Path(path).name}", 6000)
            except (ColorStudioError, OSError, ValueError) as exc:
                QMessageBox.critical(self, "Cannot save hints", f"{path}: {getattr(exc, 'strerror', None) or exc}")

    def load_hints_dialog(self) -> None:
        doc = self.document
        if not doc.is_open:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Load hints", str(doc.path.parent), "ColorStudio hints (*.json)")
        if path:
            try:
                loaded = load_photo_hints(path)
            except ColorStudioError as exc:
                QMessageBox.critical(self, "Cannot load hints", str(exc))
                return
            self.session.replace(loaded, f"Load {_hints_text(loaded.hints)} from {Path(path).name}")

    def revert_to_saved(self) -> None:
        """Back to the hints and saturation last saved (or loaded) for the photo: one undo step."""
        doc = self.document
        if doc.is_open and doc.dirty:
            self.session.replace(PhotoHints(doc.saved_hints, doc.saved_saturation), "Revert to saved")
            self.select_hint(-1)

    def copy_hints(self) -> None:
        """Put the photo's hints and saturation on the clipboard, as a hints file's JSON (so
        they paste onto another photo, in this window or another, or into a text editor)."""
        doc = self.document
        if not doc.is_open:
            return
        data = hints_to_json(doc.hints, {"saturation": round(doc.saturation, 4)})
        QGuiApplication.clipboard().setText(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        self.statusBar().showMessage(f"Copied {_hints_text(doc.hints)} and saturation "
                                     f"{doc.saturation * 100:.0f} %", 6000)

    def _clipboard_hints(self) -> PhotoHints | None:
        """The hints (and saturation) on the clipboard; None, with a word in the status bar, if none."""
        try:
            data = json.loads(QGuiApplication.clipboard().text())
            return PhotoHints(hints_from_json(data, "clipboard"), saturation_from_json(data, "clipboard"))
        except ColorStudioError as exc:  # hints JSON, but not valid
            self.statusBar().showMessage(f"Nothing pasted: {exc}", 8000)
        except (ValueError, RecursionError):
            self.statusBar().showMessage("Nothing pasted: the clipboard holds no ColorStudio hints "
                                         "(Edit > Copy Hints copies a photo's)", 8000)
        return None

    def paste_hints(self) -> None:
        """Replace the photo's hints (and saturation, if the copy has one) with the clipboard's:
        one undo step. Hints are placed at the same relative positions."""
        if self.document.is_open and (pasted := self._clipboard_hints()) is not None:
            if self._paste(pasted):
                self.statusBar().showMessage(f"Pasted {_hints_text(pasted.hints)}", 6000)
            else:
                self.statusBar().showMessage("The photo has these hints already", 6000)

    def _paste(self, pasted: PhotoHints) -> bool:
        if not self.session.replace(pasted, f"Paste {_hints_text(pasted.hints)}"):
            return False
        self.select_hint(-1)
        return True

    def paste_hints_to_selected(self) -> None:
        """Give every photo selected in the strip the clipboard's hints and saturation: the
        open photo as an undoable edit, the others by writing their hints files. Photos with
        hints of their own (saved, or unsaved in this session) are replaced only if the user says so."""
        targets = self.strip.selected_paths()
        if not targets:
            self.statusBar().showMessage("Select photos in the strip first (Ctrl- or Shift-click)", 8000)
            return
        pasted = self._clipboard_hints()
        if pasted is None:
            return
        others = [p for p in targets if photo_key(p) != self.document.key]
        open_selected = len(others) < len(targets)
        own = [p for p in others if self.session.has_own_hints(p)]
        if own:
            answer = QMessageBox.StandardButton.No  # nobody to ask: keep their hints
            if can_ask_user():
                answer = QMessageBox.question(
                    self, "Paste hints", f"{len(own)} of the selected photos have hints of their own "
                    f"(e.g. {own[0].name}). Replace them with the {_hints_text(pasted.hints)} copied?\n\n"
                    "Yes replaces them, No leaves those photos as they are.",
                    QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
                    | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.No)
            if answer == QMessageBox.StandardButton.Cancel:
                return
            if answer != QMessageBox.StandardButton.Yes:
                others = [p for p in others if p not in own]
        failed: list[str] = []
        for p in others:
            try:
                self.session.write_hints(p, pasted)
            except (ColorStudioError, OSError, ValueError) as exc:
                failed.append(f"{p.name}: {getattr(exc, 'strerror', None) or exc}")
            self.folder_model.refresh(p)
        done = len(others) - len(failed)
        if open_selected:  # undoable, so never asked about
            self._paste(pasted)
            done += 1
        skipped = len(targets) - done - len(failed)
        self.statusBar().showMessage(f"Pasted {_hints_text(pasted.hints)} to {done} of {len(targets)} photos"
                                     + (f"; {skipped} kept their own" if skipped else "")
                                     + (f"; {len(failed)} failed" if failed else ""), 10000)
        if failed:
            more = f"\n… and {len(failed) - 20} more" if len(failed) > 20 else ""
            QMessageBox.critical(self, "Paste hints",
                                 "These photos' hints could not be written:\n" + "\n".join(failed[:20]) + more)

    def _session_ending(self, _manager: object = None) -> None:
        """The desktop session ends (log out, shut down). Qt 6 closes no window then, so there
        is no "Save changes?": unsaved hints go to the autosave, offered again at the next start."""
        self.autosave_now()

    def autosave_now(self) -> bool:
        """Write the autosave file of the open photo if it has unsaved hints (also called on a crash).
        False if they could not be written (the status bar says why)."""
        return self.session.autosave_now()

    # -- export -------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        doc = self.document
        if not doc.is_open:
            return
        ext = self.settings.export_format if f".{self.settings.export_format}" in WRITE_FORMATS else "jpg"
        if doc.image.pixels.dtype == np.uint16 and f".{ext}" not in SIXTEEN_BIT_SUFFIXES:
            ext = "tif"  # a 16-bit scan is offered a file type that keeps its 16 bits; JPEG stays one click away
        start_dir = Path(str(QSettings().value("export_dir", "") or doc.path.parent))
        default = start_dir / f"{doc.path.stem}{EXPORT_SUFFIX}.{ext}"
        filters = {"jpg": "JPEG (*.jpg *.jpeg)", "png": "PNG (*.png)", "tif": "TIFF (*.tif *.tiff)"}
        path, chosen = QFileDialog.getSaveFileName(self, "Export colorized photo", str(default),
                                                   ";;".join(filters.values()), filters.get(ext, filters["jpg"]))
        if not path:
            return
        if Path(path).suffix.lower() not in WRITE_FORMATS:
            path += {"PNG": ".png", "TIFF": ".tif"}.get(chosen.split(" ")[0], ".jpg")
        QSettings().setValue("export_dir", str(Path(path).parent))
        self.export_to(path)

    def export_to(self, path: str | os.PathLike[str]) -> bool:
        """Colorize the full-resolution photo in the worker and write it to `path`."""
        doc = self.document
        if not doc.is_open:
            return False
        target = Path(path).expanduser()
        problem = ""
        if target.suffix.lower() not in WRITE_FORMATS:
            problem = f"{target.name}: unsupported file type; use .jpg, .png or .tif"
        elif same_file_key(target) == same_file_key(doc.path) or (target.exists() and os.path.samefile(target, doc.path)):
            problem = f"{target}: that is the original photo; the original is never overwritten"
        elif same_file_key(target) == same_file_key(sidecar_path(doc.path)):
            problem = f"{target}: that is the hints file"
        elif same_file_key(target) in {same_file_key(q) for q in self.folder_model.paths}:
            problem = f"{target}: that is {target.name}, a photo of the open folder; originals are never overwritten"
        elif not target.parent.is_dir():
            problem = f"{target}: the folder {target.parent} does not exist"
        elif photo_stamp(doc.path) not in (doc.photo_stamp, None):
            problem = (f"{doc.path.name} was written on disk since it was opened (scanned again?), so the export "
                       "would be of the photo as it was: open it again (click it in the strip), then export")
        if problem:
            QMessageBox.critical(self, "Cannot export", problem)
            self.export_failed.emit(problem)
            return False
        image = doc.image
        note = (f"Colorized by ColorStudio {__version__} ({len(doc.hints)} hints); not the original scan")
        meta = {"alpha": image.alpha, "exif": image.exif, "icc_profile": image.icc_profile,
                "quality": self.settings.jpeg_quality, "description": note, "dpi": image.dpi,
                "xmp": image.xmp, "iptc": image.iptc}
        self.controller.request_export(image.pixels, doc.hints, self.saturation, target, meta, context=doc.key)
        using = "" if self._export_factory(self.settings) is None else f" with the {self.settings.export_model} model"
        self.statusBar().showMessage(f"Exporting {target.name} at full resolution{using}…")
        return True

    def _export_done(self, path: str, ms: float, photo: str) -> None:
        self.statusBar().showMessage(f"Exported {path} ({ms / 1000:.1f} s)", 10000)
        self._exported.add(photo)
        self.folder_model.refresh(photo)
        self.export_finished.emit(path)
        self._close_if_waiting()

    def _export_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"Export failed: {message}", 10000)
        QMessageBox.critical(self, "Export failed", message)
        self.export_failed.emit(message)
        self._close_if_waiting()

    def _close_if_waiting(self) -> None:
        if self._close_after_export and not self.controller.exports_pending:
            self._close_after_export = False  # one try: a close then cancelled (Save changes? Cancel) stays so
            QTimer.singleShot(0, self.close)

    def _close_when_batch_ended(self, _results: object) -> None:
        if self._close_after_batch:
            self._close_after_batch = False  # one try: a close then cancelled (Save changes? Cancel) stays so
            QTimer.singleShot(0, self.close)

    def _batch_output(self, path: Path) -> Path | None:
        """The photo's output from the last batch's options, if it is there and newer than the
        photo and its hints (else the next batch redoes it): the strip's ✓ and thumbnail."""
        options = self._export_options
        if options is None:
            return None
        try:
            return output_path(path, options) if output_is_current(path, options) else None
        except ColorStudioError:  # a name the pattern cannot make: run_batch would fail that photo too
            return None

    # -- batch ---------------------------------------------------------------------------------
    def batch_dialog(self) -> None:
        from .batch_dialog import BatchDialog

        if not self.folder_model.paths or self.folder_model.root is None:
            QMessageBox.information(self, "Colorize photos", "Open a folder first (File > Open Folder).")
            return
        if self._batch is not None and self._batch.running:
            QMessageBox.information(self, "Colorize photos", "A batch is already running.")
            return
        selected = self.strip.selected_paths()
        dlg = BatchDialog(self.folder_model.root, len(self.folder_model.paths), len(selected),
                          int(self.settings.max_megapixels * 1e6), self, photos=list(self.folder_model.paths),
                          selected=selected)
        if dlg.exec() != BatchDialog.DialogCode.Accepted:
            return
        self.start_batch(selected if dlg.selected.isChecked() else list(self.folder_model.paths), dlg.options())

    def start_batch(self, paths: list[Path], options: BatchOptions) -> Any:
        """Run core.batch.run_batch over `paths` in a thread, with a progress dialog; returns the BatchRun,
        or None when the open photo's unsaved hints could not be saved (or the user cancelled their save)."""
        from .batch_dialog import BatchRun, remember_options

        if self.document.dirty:  # the batch reads each photo's sidecar
            if not self.save_hints():  # save_hints has said why; the photo must not be done without its hints
                return None
            self.statusBar().showMessage(f"Saved the hints of {self.document.path.name} for the batch", 8000)
        remember_options(options)
        self._export_options = options
        settings = self.settings

        def engine() -> Any:
            export = self._export_factory(settings)
            if export is not None:
                return self.controller.export_engine or export()
            return self.controller.engine or self._engine_factory(settings)()

        self._batch = BatchRun(paths, options, engine, self)
        self._batch.photo_finished.connect(lambda r: self.folder_model.refresh(r.input))
        self._batch.finished.connect(lambda _r: self.folder_model.refresh())
        self._batch.start()
        return self._batch

    # -- preferences ---------------------------------------------------------------------------
    def preferences_dialog(self) -> None:
        from .preferences import PreferencesDialog

        dlg = PreferencesDialog(self.settings, self)
        if dlg.exec() == PreferencesDialog.DialogCode.Accepted:
            new = dlg.settings()
            reload_engine = (new.model, new.export_model, new.device, new.working_size) != \
                (self.settings.model, self.settings.export_model, self.settings.device, self.settings.working_size)
            self._apply_settings(new, reload_engine)

    def _apply_settings(self, new: Settings, reload_engine: bool) -> None:
        try:
            save_settings(new)
        except OSError as exc:
            self.statusBar().showMessage(f"Preferences not saved: {exc.strerror or exc}", 8000)
        self.settings = new
        self.colour_panel.set_new_hint_mode(new.hint_colour)
        if reload_engine:
            self.device_label.setText("Model: loading…")
            self._engine_error_shown = ""
            self.controller.set_engine(None, self._engine_factory(new), self._export_factory(new))
            self._request_preview()

    # -- views ---------------------------------------------------------------------------------
    def set_split_view(self, on: bool) -> None:
        self.result_canvas.setVisible(not on)
        self.canvas.set_mode("split" if on else "input")
        self.split_row.setVisible(on)

    def _update_title(self) -> None:
        doc = self.document
        name = self.folder_model.shown_name(doc.path) if doc.path else ""
        self.setWindowTitle(f"{name}[*] – ColorStudio" if name else "ColorStudio[*]")
        self.setWindowModified(doc.dirty)

    def _dirty_changed(self, dirty: bool) -> None:
        self.setWindowModified(dirty)
        self._update_actions()  # Revert to Saved

    def _update_actions(self) -> None:
        is_open = self.document.is_open
        has = bool(self.document.hints)
        for act in (self.act_save, self.act_save_as, self.act_load_hints, self.act_export, self.act_copy_hints,
                    self.act_paste_hints):
            act.setEnabled(is_open)
        self.saturation_slider.setEnabled(is_open)
        self.act_revert.setEnabled(is_open and self.document.dirty)
        self.act_clear.setEnabled(has)
        self.act_delete.setEnabled(self._selected >= 0)
        n = len(self.folder_model.paths)
        self.act_next.setEnabled(n > 0 and self._strip_goes_on())
        self.act_prev.setEnabled(n > 0 and self._strip_goes_on())
        self.act_batch.setEnabled(n > 0)
        self.act_paste_selected.setEnabled(n > 0)

    # -- recent files --------------------------------------------------------------------------
    def _remember_recent(self, path: Path) -> None:
        s = QSettings()
        items = self.recent_files()
        key = str(path.resolve())
        items = [key] + [x for x in items if x != key][: RECENT_MAX - 1]
        s.setValue("recent_files", items)
        s.setValue("last_dir", str(path.parent))

    def last_session(self) -> tuple[Path | None, Path | None]:
        """The folder and the photo open when the app was last used (each None if gone)."""
        s = QSettings()
        folder, photo = (str(s.value(k, "") or "") for k in ("session/folder", "session/photo"))
        return (Path(folder) if folder and Path(folder).is_dir() else None,
                Path(photo) if photo and Path(photo).is_file() else None)

    def reopen_last(self) -> bool:
        """Open the folder and the photo that were open last: where the work was left."""
        folder, photo = self.last_session()
        if folder is None and photo is None:
            s = QSettings()
            gone = str(s.value("session/folder", "") or s.value("session/photo", "") or "")
            self.statusBar().showMessage(f"Cannot reopen {gone or 'the last folder or photo'}: it is no longer "
                                         "there (moved, renamed or deleted?)", 10000)
            self.act_reopen.setEnabled(False)
            return False
        opened = False
        if folder is not None:
            recursive = bool(QSettings().value("session/recursive", False, type=bool))
            opened = self.open_folder(folder, recursive=recursive)
        if photo is not None and (not opened or photo_key(photo) != self.document.key):
            opened = self.open_image(photo) or opened
        return opened

    def _show_start_hint(self) -> None:
        """The empty window says how to start, and how to continue the last session."""
        folder, photo = self.last_session()
        last = photo.name if photo is not None else (folder.name if folder is not None else "")
        text = "Open a photo (Ctrl+O) or a folder (Ctrl+Shift+O), or drop it here"
        if last:
            text += f"\n\nContinue with {last}: Ctrl+Shift+R (File > Reopen Last)"
        self.canvas.set_placeholder(text)
        self.act_reopen.setEnabled(bool(last))

    def recent_files(self) -> list[str]:
        raw = QSettings().value("recent_files", []) or []
        return [str(x) for x in (raw if isinstance(raw, list) else [raw])]

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = self.recent_files()
        for i, item in enumerate(items):
            act = self.recent_menu.addAction(f"&{(i + 1) % 10}  {Path(item).name}")
            act.setToolTip(item)
            act.setEnabled(Path(item).exists())
            act.triggered.connect(lambda _c=False, p=item: self.open_path(p))
        if not items:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", lambda: QSettings().setValue("recent_files", []))

    # -- window events -------------------------------------------------------------------------
    @staticmethod
    def _dropped(event: QDragEnterEvent | QDropEvent) -> list[Path]:
        """The dropped photos and folders (other files are passed over)."""
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()] \
            if event.mimeData().hasUrls() else []
        return [p for p in paths if p.is_dir() or p.suffix.lower() in READ_SUFFIXES]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if self._dropped(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        dropped = self._dropped(event)
        if not dropped:
            self.statusBar().showMessage("Nothing to open there: drop a photo or a folder", 8000)
            return
        event.acceptProposedAction()
        if self.open_path(str(dropped[0])) and len(dropped) > 1:
            self.statusBar().showMessage(f"Opened {dropped[0].name}; to work through several photos, "
                                         f"drop their folder ({len(dropped) - 1} more were dropped)", 10000)

    def _first_size(self) -> QSize:
        """1360 x 900, or less on a smaller screen (a 1366 x 768 laptop): the whole window,
        status bar included, must be on screen the first time."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        want = QSize(1360, 900)
        if screen is None:
            return want
        room = screen.availableGeometry().size() * 0.95
        least = self.minimumSizeHint()
        return QSize(max(least.width(), min(want.width(), room.width())),
                     max(least.height(), min(want.height(), room.height())))

    def _restore_layout(self) -> None:
        s = QSettings()
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.photos_dock.hide()  # shown again when a folder opens
        if not isinstance(state, QByteArray):
            QTimer.singleShot(0, self._fit_colour_dock)  # the first run: Qt splits the docks evenly

    def _fit_colour_dock(self) -> None:
        """Give the colour panel the height it asks for, taken from the hint list below it,
        which keeps HINTS_DOCK_ROOM (the panel scrolls rather than squeeze the list further).
        Only ever grows the panel: a layout the user made with more room is kept."""
        # Below it, the Hints and History tabs: the one seen (the other is moved out of sight, still "visible").
        colour = self.colour_dock
        hints = next((d for d in (self.hints_dock, self.history_dock) if not d.visibleRegion().isEmpty()), None)
        if hints is None:
            return
        if colour.isFloating() or hints.isFloating() or not (colour.isVisible() and hints.isVisible()):
            return
        scroll = colour.widget()
        want = colour.height() - scroll.viewport().height() + self.colour_panel.sizeHint().height()
        total = colour.height() + hints.height()
        target = min(want, total - HINTS_DOCK_ROOM)
        if target > colour.height():
            self.resizeDocks([colour, hints], [target, total - target], Qt.Orientation.Vertical)

    def save_layout(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.controller.exports_pending:
            # Never drop an export the user asked for: close once it is written.
            self._close_after_export = True
            self.statusBar().showMessage("Closing when the export in progress is written…")
            event.ignore()
            return
        batch = self._batch if self._batch is not None and self._batch.running else None
        if batch is not None and self._close_after_batch:
            event.ignore()  # already stopping: the window closes when the batch has
            return
        if batch is not None and can_ask_user():
            done = len(batch.results)
            answer = QMessageBox.question(
                self, "Colorize photos", f"A batch is colorizing photos ({done} of {batch.total} done). Stop it after "
                "the current photo and close ColorStudio? Cancel keeps it running (a rerun of the same batch "
                "finishes the photos not done).",
                QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                return
        if not self._leave_photo():
            event.ignore()
            return
        if batch is not None and batch.running:
            batch.cancel()
            if can_ask_user():
                # The photo under way cannot be interrupted: close when the batch's thread has ended,
                # without blocking the window meanwhile.
                self._close_after_batch = True
                batch.finished.connect(self._close_when_batch_ended)
                self.statusBar().showMessage("Stopping the batch… ColorStudio closes after the current photo.")
                event.ignore()
                return
            batch.thread.wait()  # nobody to tell (offscreen, the smoke test): as before, wait here
        self._closing = True
        self.save_layout()
        self.controller.shutdown()
        self.folder_model.loader.shutdown()
        self._thumb_check.stop()  # a closed window looks at no files any more, nor watches folders
        self.folder_watch.watch(None)
        event.accept()
