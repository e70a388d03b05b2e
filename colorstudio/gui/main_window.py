"""The main window: wiring only.

Canvas intents become commands on the photo's QUndoStack; commands change the Document;
`document.hints_changed` drives re-inference, the hint list, the markers and autosave, so
undo, redo, loading a sidecar and editing all take one path.
"""
from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QPointF, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QIcon,
                           QKeySequence, QUndoGroup, QUndoStack)
from PySide6.QtWidgets import (QApplication, QDockWidget, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel,
                               QMainWindow, QMessageBox, QProgressBar, QSlider, QSplitter, QStyle, QToolBar,
                               QUndoView, QVBoxLayout, QWidget)

from .. import __version__
from ..core.color import ab_to_rgb, lightness, rgb_to_lab
from ..core.errors import ColorStudioError
from ..core.hints import DEFAULT_HINT_SIZE, Hint, load_hints, save_hints, sidecar_path
from ..core.images import READ_SUFFIXES, WRITE_FORMATS, read_image
from ..core.settings import Settings, load_settings, save_settings
from . import commands
from ._compat import freeze_startup_objects
from .canvas import Canvas, ViewState, array_to_qimage
from .document import Document, photo_key, read_autosave, remove_autosave, write_autosave
from .folder import PhotoListModel, PhotoStrip, list_photos
from .panels import ColourPanel, HintListPanel
from .workers import InferenceController

AUTOSAVE_DELAY_MS = 1000
RECENT_MAX = 10
IMAGE_FILTER = "Photos ({});;All files (*)".format(" ".join(f"*{s}" for s in READ_SUFFIXES))


@dataclass
class PhotoState:
    """What the session remembers of a photo it has opened: its undo history and hints."""

    stack: QUndoStack
    hints: tuple[Hint, ...] = ()
    saved: tuple[Hint, ...] = ()


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
        self.document = Document(self)
        self.undo_group = QUndoGroup(self)
        self._no_photo_stack = QUndoStack(self)
        self.undo_group.addStack(self._no_photo_stack)
        self.undo_group.setActiveStack(self._no_photo_stack)
        self._photos: dict[str, PhotoState] = {}
        self._selected = -1
        self._drag_ids = itertools.count(1)
        self._drag = next(self._drag_ids)
        self._resize_gesture = next(self._drag_ids)
        self.hint_size = DEFAULT_HINT_SIZE
        self.saturation = 1.0
        self._result: np.ndarray | None = None
        self.shown_hints: tuple[Hint, ...] | None = None
        self._result_saturation = 1.0
        self._last_error = ""
        self._engine_error_shown = ""
        self._exported: set[str] = set()
        self._batch: Any = None
        self._closing = False

        self.view = ViewState(self)
        self.canvas = Canvas(self.view, "input")
        self.canvas.setObjectName("canvas")
        self.canvas.setToolTip("Click to add a colour hint; drag a hint to move it; right-click a hint to delete "
                               "it; drag elsewhere to pan; wheel to zoom")
        self.result_canvas = Canvas(self.view, "result")
        self.result_canvas.setObjectName("result_canvas")
        self.result_canvas.setToolTip("The colorized result (live preview); drag to pan, wheel to zoom")

        factory = None if engine is not None else self._engine_factory(self.settings)
        self.controller = InferenceController(engine, factory, parent=self)
        self.folder_model = PhotoListModel(is_exported=self._is_exported, parent=self)
        self.strip = PhotoStrip(self.folder_model)

        self._build_central()
        self._build_panels()
        self._build_actions()
        self._build_menus_and_toolbars()
        self._build_status_bar()
        self._connect()

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)

        self.setAcceptDrops(True)
        self.setWindowTitle("ColorStudio")
        self.resize(1360, 860)
        self._restore_layout()
        self._update_actions()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.controller.shutdown)

    # -- construction ----------------------------------------------------------------------
    @staticmethod
    def _engine_factory(settings: Settings) -> Callable[[], Any]:
        def load() -> Any:
            from ..core.engine import load_engine

            return load_engine(settings.model, device=settings.device, working_size=settings.working_size)

        return load

    def _build_central(self) -> None:
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("views")
        self.splitter.addWidget(self.canvas)
        self.splitter.addWidget(self.result_canvas)
        self.splitter.setChildrenCollapsible(False)
        self.split_slider = QSlider(Qt.Orientation.Horizontal)
        self.split_slider.setRange(0, 1000)
        self.split_slider.setValue(500)
        self.split_slider.setToolTip("Before/after: move the split between the photo and the result")
        self.split_slider.valueChanged.connect(lambda v: self.canvas.set_split(v / 1000))
        self.canvas.split_changed.connect(lambda f: self.split_slider.setValue(round(f * 1000)))
        self.split_row = QWidget()
        row = QHBoxLayout(self.split_row)
        row.setContentsMargins(8, 0, 8, 0)
        row.addWidget(QLabel("Before"))
        row.addWidget(self.split_slider, 1)
        row.addWidget(QLabel("After"))
        self.split_row.hide()
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.split_row)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_panels(self) -> None:
        self.colour_panel = ColourPanel()
        self.colour_panel.set_new_hint_mode(self.settings.hint_colour)
        self.hint_panel = HintListPanel()
        self.history = QUndoView(self.undo_group)
        self.history.setEmptyLabel("Opened")
        self.history.setToolTip("Every hint edit of this photo; click a step to go back to it")
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.colour_dock = self._dock("Colour", "colour_dock", self.colour_panel, right)
        self.hints_dock = self._dock("Hints", "hints_dock", self.hint_panel, right)
        self.history_dock = self._dock("History", "history_dock", self.history, right)
        self.tabifyDockWidget(self.hints_dock, self.history_dock)
        self.hints_dock.raise_()
        self.photos_dock = self._dock("Photos", "photos_dock", self.strip, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.photos_dock.hide()

    def _action(self, text: str, slot: Callable[..., Any] | None, shortcuts: Any = (), tip: str = "",
                icon: QStyle.StandardPixmap | None = None, checkable: bool = False) -> QAction:
        act = QAction(text, self)
        if icon is not None:
            act.setIcon(self.style().standardIcon(icon))
        if not isinstance(shortcuts, (list, tuple)):
            shortcuts = [shortcuts]
        keys = [QKeySequence(s) for s in shortcuts]
        if keys:
            act.setShortcuts(keys)
        shown = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
        tip = tip or text.replace("&", "").rstrip("…")
        act.setToolTip(f"{tip} ({shown})" if shown else tip)
        act.setStatusTip(tip)
        act.setCheckable(checkable)
        if slot is not None:
            (act.toggled if checkable else act.triggered).connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        a = self._action
        self.act_open = a("&Open Photo…", self.open_dialog, QKeySequence.StandardKey.Open, "Open a photo",
                          sp.SP_DialogOpenButton)
        self.act_open_folder = a("Open &Folder…", self.open_folder_dialog, "Ctrl+Shift+O",
                                 "Open a folder of photos (thumbnail strip)", sp.SP_DirOpenIcon)
        self.act_recursive = a("Include Subfolders", None, (), "Open Folder also lists photos in subfolders",
                               checkable=True)
        self.act_recursive.setChecked(bool(QSettings().value("folder/recursive", False, type=bool)))
        self.act_recursive.toggled.connect(lambda on: QSettings().setValue("folder/recursive", on))
        self.act_save = a("&Save Hints", self.save_hints, QKeySequence.StandardKey.Save,
                          "Save the hints next to the photo (photo.jpg.colorstudio.json)", sp.SP_DialogSaveButton)
        self.act_save_as = a("Save Hints &As…", self.save_hints_as, "Ctrl+Shift+S", "Save the hints to another file")
        self.act_load_hints = a("&Load Hints…", self.load_hints_dialog, "Ctrl+Shift+L",
                                "Replace the hints with those of a hints file (undoable)")
        self.act_export = a("&Export Colorized…", self.export_dialog, "Ctrl+E",
                            "Export the colorized photo at full resolution (JPEG, PNG or TIFF)", sp.SP_DriveFDIcon)
        self.act_batch = a("Colorize &All…", self.batch_dialog, "Ctrl+Shift+E",
                           "Colorize all (or the selected) photos of the folder into an output folder")
        self.act_next = a("&Next Photo", self.next_photo, QKeySequence.StandardKey.MoveToNextPage,
                          "Open the next photo of the folder", sp.SP_ArrowForward)
        self.act_prev = a("&Previous Photo", self.previous_photo, QKeySequence.StandardKey.MoveToPreviousPage,
                          "Open the previous photo of the folder", sp.SP_ArrowBack)
        self.act_prefs = a("&Preferences…", self.preferences_dialog, ["Ctrl+,"],
                           "Device, working size, model file, new-hint colour")
        self.act_quit = a("&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit ColorStudio")

        self.act_undo = self.undo_group.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts([QKeySequence("Ctrl+Z")])
        self.act_undo.setIcon(self.style().standardIcon(sp.SP_ArrowLeft))
        self.act_undo.setToolTip("Undo the last hint edit (Ctrl+Z)")
        self.act_redo = self.undo_group.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.act_redo.setIcon(self.style().standardIcon(sp.SP_ArrowRight))
        self.act_redo.setToolTip("Redo (Ctrl+Shift+Z, Ctrl+Y)")
        self.addActions([self.act_undo, self.act_redo])
        self.act_delete = a("&Delete Hint", self.delete_selected, ["Delete", "Backspace"],
                            "Delete the selected hint (or right-click it)", sp.SP_TrashIcon)
        self.act_clear = a("&Clear All Hints", self.clear_hints, "Ctrl+Shift+Delete",
                           "Delete every hint of this photo (undoable)", sp.SP_DialogResetButton)
        self.act_deselect = a("Deselect Hint", lambda: self.select_hint(-1), "Escape", "Deselect the hint")
        self.act_smaller = a("S&maller Hints", lambda: self._step_hint_size(1 / 1.25), "[",
                             "Make the selected hint (and new hints) smaller")
        self.act_bigger = a("&Bigger Hints", lambda: self._step_hint_size(1.25), "]",
                            "Make the selected hint (and new hints) bigger")

        self.act_markers = a("Show &Hint Markers", self.canvas.set_markers_visible, "H",
                             "Show or hide the hint markers on the photo", checkable=True)
        self.act_markers.setChecked(True)
        self.act_split = a("&Before/After Split View", self.set_split_view, "V",
                           "One view with a before/after split slider instead of side by side", checkable=True)
        self.act_zoom_in = a("Zoom &In", lambda: self.canvas.zoom_at(1.25), ["Ctrl++", "Ctrl+="], "Zoom in")
        self.act_zoom_out = a("Zoom &Out", lambda: self.canvas.zoom_at(0.8), "Ctrl+-", "Zoom out")
        self.act_fit = a("&Fit to Window", self.view.set_fit, "Ctrl+0", "Show the whole photo")
        self.act_actual = a("&Actual Size (100 %)", self.canvas.actual_size, "Ctrl+1",
                            "One photo pixel per screen pixel")

    def _build_menus_and_toolbars(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.act_open, self.act_open_folder, self.act_recursive])
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as, self.act_load_hints])
        m.addSeparator()
        m.addActions([self.act_export, self.act_batch])
        m.addSeparator()
        m.addActions([self.act_prev, self.act_next])
        m.addSeparator()
        m.addActions([self.act_prefs, self.act_quit])
        m = mb.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_delete, self.act_clear, self.act_deselect, self.act_smaller, self.act_bigger])
        m = mb.addMenu("&View")
        m.addActions([self.act_split, self.act_markers])
        m.addSeparator()
        m.addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual])
        m.addSeparator()
        for dock in (self.colour_dock, self.hints_dock, self.history_dock, self.photos_dock):
            act = dock.toggleViewAction()
            act.setToolTip(f"Show or hide the {dock.windowTitle()} panel")
            m.addAction(act)
        for menu in mb.findChildren(type(self.recent_menu)):
            menu.setToolTipsVisible(True)

        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setIconSize(QSize(18, 18))
        tb.addActions([self.act_open, self.act_open_folder, self.act_save, self.act_export])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo, self.act_delete])
        tb.addSeparator()
        tb.addActions([self.act_prev, self.act_next])
        self.addToolBar(tb)

        vb = QToolBar("View")
        vb.setObjectName("view_toolbar")
        vb.addActions([self.act_split, self.act_markers, self.act_fit, self.act_actual])
        vb.addSeparator()
        vb.addWidget(QLabel(" Hint size "))
        self.size_spin = QDoubleSpinBox()
        self.size_spin.setRange(0.3, 15.0)
        self.size_spin.setSingleStep(0.5)
        self.size_spin.setDecimals(1)
        self.size_spin.setSuffix(" %")
        self.size_spin.setValue(self.hint_size * 100)
        self.size_spin.setToolTip("Size of the selected hint and of new hints, in % of the photo's long side "
                                  "([ and ] change it)")
        self.size_spin.valueChanged.connect(self._size_spin_changed)
        vb.addWidget(self.size_spin)
        vb.addSeparator()
        self.saturation_label = QLabel(" Saturation 100 % ")
        vb.addWidget(self.saturation_label)
        self.saturation_slider = QSlider(Qt.Orientation.Horizontal)
        self.saturation_slider.setRange(0, 200)
        self.saturation_slider.setValue(100)
        self.saturation_slider.setFixedWidth(140)
        self.saturation_slider.setToolTip("Global saturation of the result (applied in Lab; the network is "
                                          "not re-run). Double-click the label to reset.")
        self.saturation_slider.valueChanged.connect(self._saturation_changed)
        vb.addWidget(self.saturation_slider)
        self.addToolBar(vb)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setFixedSize(QSize(70, 12))
        self.busy.setTextVisible(False)
        self.busy.setToolTip("Colorizing…")
        self.busy.hide()
        self.ms_label = QLabel("")
        self.ms_label.setToolTip("Time of the last colorization")
        self.device_label = QLabel("Model: not loaded yet")
        self.device_label.setToolTip("Where the network runs (change in Preferences)")
        sb.addPermanentWidget(self.busy)
        sb.addPermanentWidget(self.ms_label)
        sb.addPermanentWidget(self.device_label)

    def _connect(self) -> None:
        d = self.document
        d.hints_changed.connect(self._hints_changed)
        d.image_changed.connect(self._image_changed)
        d.dirty_changed.connect(lambda dirty: self.setWindowModified(dirty))
        for c in (self.canvas, self.result_canvas):
            c.add_requested.connect(self.add_hint_at)
            c.select_requested.connect(self.select_hint)
            c.move_requested.connect(self._move_requested)
            c.drag_finished.connect(self._drag_finished)
            c.remove_requested.connect(self.remove_hint)
        self.hint_panel.select_requested.connect(self.select_hint)
        self.hint_panel.remove_requested.connect(self.remove_hint)
        self.hint_panel.clear_requested.connect(self.clear_hints)
        self.colour_panel.colour_chosen.connect(self._colour_chosen)
        self.colour_panel.new_hint_mode_changed.connect(self._new_hint_mode_changed)
        ctl = self.controller
        ctl.preview_ready.connect(self._preview_ready)
        ctl.suggestions_ready.connect(self._suggestions_ready)
        ctl.inference_failed.connect(self._inference_failed)
        ctl.export_finished.connect(self._export_done)
        ctl.export_failed.connect(self._export_failed)
        ctl.engine_ready.connect(self._engine_ready)
        ctl.engine_failed.connect(self._engine_failed)
        ctl.busy_changed.connect(self.busy.setVisible)
        self.strip.clicked.connect(lambda idx: self.open_image(self.folder_model.paths[idx.row()]))
        self.strip.activated.connect(lambda idx: self.open_image(self.folder_model.paths[idx.row()]))
        self.undo_group.indexChanged.connect(lambda _i: self._update_actions())

    # -- the undo stack of the open photo ---------------------------------------------------
    @property
    def undo_stack(self) -> QUndoStack:
        return self.undo_group.activeStack() or self._no_photo_stack

    def _push(self, command: commands.HintsCommand) -> None:
        if self.document.is_open:
            self.undo_stack.push(command)

    # -- intents -> commands ------------------------------------------------------------------
    def add_hint_at(self, x: float, y: float) -> None:
        """Add a hint at normalised (x, y): the model's colour there, or the current colour."""
        if not self.document.is_open:
            return
        rgb = self.colour_panel.current
        if self.settings.hint_colour != "current":
            rgb = self.suggested_colour(x, y) or rgb
        hint = Hint(min(1.0, max(0.0, x)), min(1.0, max(0.0, y)), rgb, self.hint_size)
        self._push(commands.add_hint(self.document, hint))
        self.select_hint(len(self.document.hints) - 1)

    def suggested_colour(self, x: float, y: float) -> tuple[int, int, int] | None:
        """The model's most likely colour at (x, y): the regression output now shown there.

        Read from the last result (made by the worker; no network run here), with the global
        saturation taken back out. None before the first result.
        """
        res = self._result
        if res is None:
            return None
        h, w = res.shape[:2]
        r, c = min(h - 1, int(y * h)), min(w - 1, int(x * w))
        patch = res[max(0, r - 1): r + 2, max(0, c - 1): c + 2].reshape(-1, 3)
        lab = rgb_to_lab(patch.astype(np.uint8)).mean(axis=0)
        s = self._result_saturation
        if s < 0.05:
            return None
        return ab_to_rgb(float(lab[0]), float(lab[1]) / s, float(lab[2]) / s)

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
            self.size_spin.blockSignals(True)
            self.size_spin.setValue(hint.size * 100)
            self.size_spin.blockSignals(False)
            self._request_suggestions(index)
        else:
            self.colour_panel.set_suggestions([], "Select a hint to see the model's suggestions")
        self._update_actions()

    def _move_requested(self, index: int, x: float, y: float) -> None:
        if 0 <= index < len(self.document.hints):
            self._push(commands.move_hint(self.document, index, x, y, self._drag))

    def _drag_finished(self, index: int) -> None:
        self._drag = next(self._drag_ids)
        if index == self._selected:
            self.select_hint(index)  # refresh suggestions and the gamut at the new spot

    def remove_hint(self, index: int) -> None:
        if 0 <= index < len(self.document.hints):
            self._push(commands.remove_hint(self.document, index))
            self.select_hint(-1 if self._selected == index else
                             self._selected - (1 if self._selected > index else 0))

    def delete_selected(self) -> None:
        if self._selected >= 0:
            self.remove_hint(self._selected)

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

    def _saturation_changed(self, value: int) -> None:
        self.saturation = value / 100
        self.saturation_label.setText(f" Saturation {value} % ")
        self._request_preview()

    def _new_hint_mode_changed(self, mode: str) -> None:
        self._apply_settings(self.settings.updated(hint_colour=mode), reload_engine=False)

    # -- document -> views, inference, autosave -------------------------------------------------
    def _hints_changed(self, hints: tuple[Hint, ...]) -> None:
        if self._selected >= len(hints):
            self._selected = -1
        self.canvas.set_hints(hints, self._selected)
        self.hint_panel.set_hints(hints, self._selected)
        state = self._photos.get(self.document.key)
        if state is not None:
            state.hints = hints
        self._request_preview()
        if self.document.dirty:
            self._autosave_timer.start()
        else:
            self._autosave_timer.stop()
            if self.document.path is not None:
                remove_autosave(self.document.path)
        self._update_actions()

    def _image_changed(self) -> None:
        doc = self.document
        self.controller.cancel_previews()
        self._result = None
        self._selected = -1
        self.canvas.set_photo(array_to_qimage(doc.image.pixels), doc.size)
        self.result_canvas.set_photo(array_to_qimage(doc.preview), doc.size)
        self.result_canvas.set_placeholder("Colorizing…")
        self.view.set_fit()

    def _request_preview(self) -> None:
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

    def _preview_ready(self, rgb: np.ndarray, ms: float, context: Any) -> None:
        key, hints, saturation = context
        if key != self.document.key:
            return
        self._result = rgb
        self._result_saturation = saturation
        self.shown_hints = hints  # the hints the shown result was made from
        image = array_to_qimage(rgb)
        self.result_canvas.set_result(image)
        self.canvas.set_result(image)
        self.ms_label.setText(f"Last: {ms:.0f} ms")
        if self._last_error:
            self._last_error = ""
            self.statusBar().clearMessage()
        self.result_ready.emit()

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
        if self.document.path is not None and photo_key(p) == self.document.key:
            return True
        if not self._leave_photo():
            return False
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
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
        key = photo_key(p)
        state = self._photos.get(key)
        notes = list(image.notes)
        restore: tuple[Hint, ...] | None = None
        if state is None:
            saved: tuple[Hint, ...] = ()
            side = sidecar_path(p)
            if side.exists():
                try:
                    saved = load_hints(side)
                except ColorStudioError as exc:
                    QMessageBox.warning(self, "Hints not loaded",
                                        f"{exc}\n\nThe photo opens without hints; saving will replace that file.")
            auto = read_autosave(p)
            if auto is not None and auto[0] != saved:
                restore = auto[0]
                stamp = time.strftime("%H:%M on %d %b", time.localtime(auto[1]))
                notes.append(f"restored {len(restore)} unsaved hints autosaved at {stamp} "
                             "(Ctrl+Z goes back to the saved hints)")
            stack = QUndoStack(self)
            self.undo_group.addStack(stack)
            state = PhotoState(stack, saved, saved)
            self._photos[key] = state
        self.undo_group.setActiveStack(state.stack)
        self.document.load(p, image, state.hints, state.saved)
        if restore is not None:
            self._push(commands.replace_hints(self.document, restore, "Restore autosaved hints"))
        self.select_hint(-1)
        self._remember_recent(p)
        self._update_title()
        self._sync_strip()
        w, h = image.size
        msg = f"Opened {p.name} ({w} × {h})" + "".join(f"; {n}" for n in notes)
        self.statusBar().showMessage(msg, 0 if restore is not None else 8000)
        self.photo_opened.emit(str(p))
        return True

    def _leave_photo(self) -> bool:
        """Before another photo replaces this one (or the window closes): keep or drop edits."""
        doc = self.document
        if not doc.is_open or not doc.dirty:
            return True
        if not can_ask_user():
            self.autosave_now()  # nobody to ask: keep the work in the autosave and the session
            return True
        answer = QMessageBox.question(
            self, "Unsaved hints", f"Save the hint changes of {doc.path.name}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_hints()
        if answer == QMessageBox.StandardButton.Discard:
            state = self._photos.get(doc.key)
            if state is not None:
                state.hints = doc.saved_hints
                state.stack.clear()
            self._autosave_timer.stop()
            remove_autosave(doc.path)
            return True
        return False

    def open_folder(self, folder: str | os.PathLike[str], recursive: bool = False) -> bool:
        root = Path(folder).expanduser()
        try:
            photos = list_photos(root, recursive=recursive)
        except OSError as exc:
            QMessageBox.critical(self, "Cannot open folder", f"{root}: {exc.strerror or exc}")
            return False
        QSettings().setValue("last_dir", str(root))
        self.folder_model.set_photos(root, photos)
        self.photos_dock.setWindowTitle(f"Photos – {root.name} ({len(photos)})")
        self.photos_dock.show()
        self._update_actions()
        if not photos:
            self.statusBar().showMessage(f"No photos in {root}", 8000)
            return True
        return self.open_image(photos[0])

    def next_photo(self) -> None:
        self._step_photo(1)

    def previous_photo(self) -> None:
        self._step_photo(-1)

    def _step_photo(self, step: int) -> None:
        paths = self.folder_model.paths
        if not paths:
            return
        row = self.folder_model.row_of(self.document.path) if self.document.path else -1
        row = min(len(paths) - 1, max(0, row + step)) if row >= 0 else 0
        self.open_image(paths[row])

    def _sync_strip(self) -> None:
        row = self.folder_model.row_of(self.document.path) if self.document.path else -1
        if row >= 0:
            idx = self.folder_model.index(row)
            self.strip.setCurrentIndex(idx)
            self.strip.scrollTo(idx)

    # -- saving -------------------------------------------------------------------------------
    def save_hints(self) -> bool:
        doc = self.document
        if not doc.is_open:
            return False
        target = sidecar_path(doc.path)
        try:
            save_hints(target, doc.hints)
        except (ColorStudioError, OSError) as exc:
            QMessageBox.critical(self, "Cannot save hints", f"{target}: {getattr(exc, 'strerror', None) or exc}")
            return False
        doc.mark_saved()
        state = self._photos.get(doc.key)
        if state is not None:
            state.saved = doc.hints
        self._autosave_timer.stop()
        remove_autosave(doc.path)
        self.folder_model.refresh(doc.path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {len(doc.hints)} hints to {target.name}", 6000)
        return True

    def save_hints_as(self) -> None:
        doc = self.document
        if not doc.is_open:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save hints as", str(sidecar_path(doc.path)),
                                              "ColorStudio hints (*.json)")
        if path:
            try:
                save_hints(path, doc.hints)
                self.statusBar().showMessage(f"Saved {len(doc.hints)} hints to {Path(path).name}", 6000)
            except (ColorStudioError, OSError) as exc:
                QMessageBox.critical(self, "Cannot save hints", f"{path}: {getattr(exc, 'strerror', None) or exc}")

    def load_hints_dialog(self) -> None:
        doc = self.document
        if not doc.is_open:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Load hints", str(doc.path.parent), "ColorStudio hints (*.json)")
        if path:
            try:
                hints = load_hints(path)
            except ColorStudioError as exc:
                QMessageBox.critical(self, "Cannot load hints", str(exc))
                return
            self._push(commands.replace_hints(doc, hints, f"Load {len(hints)} hints from {Path(path).name}"))

    def autosave_now(self) -> None:
        """Write the autosave file of the open photo if it has unsaved hints."""
        doc = self.document
        self._autosave_timer.stop()
        if not doc.is_open or not doc.dirty:
            return
        try:
            write_autosave(doc.path, doc.hints)
        except OSError as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc.strerror or exc}", 8000)

    # -- export -------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        doc = self.document
        if not doc.is_open:
            return
        ext = self.settings.export_format if f".{self.settings.export_format}" in WRITE_FORMATS else "jpg"
        start_dir = Path(str(QSettings().value("export_dir", "") or doc.path.parent))
        default = start_dir / f"{doc.path.stem}_colorized.{ext}"
        filters = "JPEG (*.jpg *.jpeg);;PNG (*.png);;TIFF (*.tif *.tiff)"
        path, chosen = QFileDialog.getSaveFileName(self, "Export colorized photo", str(default), filters)
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
        elif photo_key(target) == doc.key or (target.exists() and os.path.samefile(target, doc.path)):
            problem = f"{target}: that is the original photo; the original is never overwritten"
        elif photo_key(target) == photo_key(sidecar_path(doc.path)):
            problem = f"{target}: that is the hints file"
        elif not target.parent.is_dir():
            problem = f"{target}: the folder {target.parent} does not exist"
        if problem:
            QMessageBox.critical(self, "Cannot export", problem)
            self.export_failed.emit(problem)
            return False
        image = doc.image
        note = (f"Colorized by ColorStudio {__version__} ({len(doc.hints)} hints); not the original scan")
        meta = {"alpha": image.alpha, "exif": image.exif, "icc_profile": image.icc_profile,
                "quality": self.settings.jpeg_quality, "description": note}
        self.controller.request_export(image.pixels, doc.hints, self.saturation, target, meta)
        self.statusBar().showMessage(f"Exporting {target.name} at full resolution…")
        return True

    def _export_done(self, path: str, ms: float) -> None:
        self.statusBar().showMessage(f"Exported {path} ({ms / 1000:.1f} s)", 10000)
        if self.document.path is not None:
            self._exported.add(self.document.key)
            self.folder_model.refresh(self.document.path)
        self.export_finished.emit(path)

    def _export_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"Export failed: {message}", 10000)
        QMessageBox.critical(self, "Export failed", message)
        self.export_failed.emit(message)

    def _is_exported(self, path: Path) -> bool:
        if photo_key(path) in self._exported:
            return True
        out = str(QSettings().value("batch/output_dir", "") or "")
        if not out:
            return False
        pattern = str(QSettings().value("batch/pattern", "{stem}.{ext}"))
        fmt = str(QSettings().value("batch/format", "") or "")
        root = self.folder_model.root
        try:
            rel = path.parent.relative_to(root) if root is not None else Path()
            name = pattern.format(stem=path.stem, ext=fmt or path.suffix.lstrip(".").lower(), name=path.name)
        except (ValueError, KeyError, IndexError):
            return False
        return (Path(out) / rel / name).exists()

    # -- batch ---------------------------------------------------------------------------------
    def batch_dialog(self) -> None:
        from .batch_dialog import BatchDialog, BatchRun, batch_module

        batch = batch_module()
        if batch is None:
            QMessageBox.information(self, "Colorize photos", "Batch colorization is not available in this "
                                    "installation (colorstudio.core.batch is missing).")
            return
        if not self.folder_model.paths or self.folder_model.root is None:
            QMessageBox.information(self, "Colorize photos", "Open a folder first (File > Open Folder).")
            return
        if self._batch is not None and self._batch.running:
            QMessageBox.information(self, "Colorize photos", "A batch is already running.")
            return
        selected = self.strip.selected_paths()
        dlg = BatchDialog(self.folder_model.root, len(self.folder_model.paths), len(selected), self)
        if dlg.exec() != BatchDialog.DialogCode.Accepted:
            return
        self.start_batch(selected if dlg.selected.isChecked() else list(self.folder_model.paths), dlg.options(batch))

    def start_batch(self, paths: list[Path], options: Any) -> Any:
        """Run core.batch.run_batch over `paths` in a thread, with a progress dialog."""
        from .batch_dialog import BatchRun, batch_module

        batch = batch_module()
        if self.document.dirty:
            self.save_hints()  # the batch reads each photo's sidecar
        settings = self.settings

        def engine() -> Any:
            return self.controller.engine or self._engine_factory(settings)()

        self._batch = BatchRun(paths, options, engine, batch, self)
        self._batch.finished.connect(lambda _r: self.folder_model.refresh())
        self._batch.start()
        return self._batch

    # -- preferences ---------------------------------------------------------------------------
    def preferences_dialog(self) -> None:
        from .preferences import PreferencesDialog

        dlg = PreferencesDialog(self.settings, self)
        if dlg.exec() == PreferencesDialog.DialogCode.Accepted:
            new = dlg.settings()
            reload_engine = (new.model, new.device, new.working_size) != \
                (self.settings.model, self.settings.device, self.settings.working_size)
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
            self.controller.set_engine(None, self._engine_factory(new))
            self._request_preview()

    # -- views ---------------------------------------------------------------------------------
    def set_split_view(self, on: bool) -> None:
        self.result_canvas.setVisible(not on)
        self.canvas.set_mode("split" if on else "input")
        self.split_row.setVisible(on)

    def _update_title(self) -> None:
        doc = self.document
        name = doc.path.name if doc.path else ""
        self.setWindowTitle(f"{name}[*] – ColorStudio" if name else "ColorStudio")
        self.setWindowModified(doc.dirty)

    def _update_actions(self) -> None:
        is_open = self.document.is_open
        has = bool(self.document.hints)
        for act in (self.act_save, self.act_save_as, self.act_load_hints, self.act_export):
            act.setEnabled(is_open)
        self.act_clear.setEnabled(has)
        self.act_delete.setEnabled(self._selected >= 0)
        n = len(self.folder_model.paths)
        self.act_next.setEnabled(n > 0)
        self.act_prev.setEnabled(n > 0)
        self.act_batch.setEnabled(n > 0)

    # -- recent files --------------------------------------------------------------------------
    def _remember_recent(self, path: Path) -> None:
        s = QSettings()
        items = [str(x) for x in (s.value("recent_files", []) or []) if isinstance(x, str)]
        key = str(path.resolve())
        items = [key] + [x for x in items if x != key][: RECENT_MAX - 1]
        s.setValue("recent_files", items)
        s.setValue("last_dir", str(path.parent))

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
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for url in event.mimeData().urls():
            if url.isLocalFile():
                event.acceptProposedAction()
                self.open_path(url.toLocalFile())
                return

    def _restore_layout(self) -> None:
        s = QSettings()
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.photos_dock.hide()  # shown again when a folder opens

    def save_layout(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self._leave_photo():
            event.ignore()
            return
        if self._batch is not None and self._batch.running:
            self._batch.cancel()
            self._batch.thread.wait()
        self._closing = True
        self.save_layout()
        self.controller.shutdown()
        self.folder_model.loader.shutdown()
        event.accept()
