"""Building the main window's widgets, actions, menus, toolbars and status bar.

Only construction lives here; what the actions do is in main_window.py.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSettings, QSize, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSlider,
    QSplitter,
    QStyle,
    QToolBar,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from .help import show_about, show_shortcuts
from .panels import ColourPanel, HintListPanel

if TYPE_CHECKING:
    from .main_window import MainWindow


class OwnKeys(QObject):
    """Which of a focused control's keys are its own and which the window's shortcuts:
    Page Up / Page Down step a slider, a spin box or a list by a page (not to another photo),
    and letters typed in a drop-down list pick its item (V does not switch to split view).
    The photo strip is left out: there, Page Up / Page Down are Previous / Next Photo. Undo
    and Redo in a spin box are the window's: its text field would take Ctrl+Z for its own
    (empty) typing history, and the hint resize just made could not be undone from it."""

    PAGE_KEYS = (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if isinstance(obj, QAbstractSpinBox) and (event.matches(QKeySequence.StandardKey.Undo)
                                                      or event.matches(QKeySequence.StandardKey.Redo)):
                event.ignore()  # not the field's: the window's Undo / Redo shortcut runs
                return True
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            plain = mods == Qt.KeyboardModifier.NoModifier
            if ((plain and event.key() in self.PAGE_KEYS
                 and isinstance(obj, (QAbstractSlider, QAbstractSpinBox, QAbstractItemView)))
                    or (isinstance(obj, QComboBox) and mods in (Qt.KeyboardModifier.NoModifier,
                                                               Qt.KeyboardModifier.ShiftModifier)
                        and event.text().isprintable() and event.text().strip())):
                event.accept()  # the control takes the key press
        return False

    def watch(self, widgets: list[QWidget]) -> None:
        for w in widgets:
            w.installEventFilter(self)


class ResettingSlider(QSlider):
    """A horizontal slider that a double-click sets back to its neutral value, as photo
    editors' adjustment sliders do."""

    def __init__(self, neutral: int, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.neutral = neutral

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self.setValue(self.neutral)
            self.sliderReleased.emit()  # a gesture of its own for the undo history
            event.accept()
        else:
            super().mouseDoubleClickEvent(event)


class FittingScrollArea(QScrollArea):
    """A scroll area whose widget fills it, squeezed down to the widget's minimum height as a
    layout would do, and scrolls only below that (a short screen)."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        inner = self.widget()
        if inner is None:
            return super().sizeHint()
        return inner.sizeHint() + QSize(self.verticalScrollBar().sizeHint().width(), 0)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        inner = self.widget()
        if inner is not None:
            room = self.viewport().size()
            inner.resize(room.width(), max(room.height(), inner.minimumSizeHint().height()))


def build(win: MainWindow) -> None:
    build_central(win)
    build_panels(win)
    build_actions(win)
    build_menus_and_toolbars(win)
    build_status_bar(win)
    for widget, name in ((win.canvas, "Photo with its colour hints"), (win.result_canvas, "Colorized result"),
                         (win.size_spin, "Hint size"), (win.saturation_slider, "Saturation"),
                         (win.split_slider, "Before/after split"), (win.strip, "Photos of the folder"),
                         (win.history, "Edit history"), (win.hint_panel.list, "Hints")):
        widget.setAccessibleName(name)
    win.own_keys = OwnKeys(win)
    win.own_keys.watch([w for kind in (QAbstractSlider, QAbstractSpinBox, QAbstractItemView, QComboBox)
                        for w in win.findChildren(kind) if w is not win.strip])


def build_central(win: MainWindow) -> None:
    win.splitter = QSplitter(Qt.Orientation.Horizontal)
    win.splitter.setObjectName("views")
    win.splitter.addWidget(win.canvas)
    win.splitter.addWidget(win.result_canvas)
    win.splitter.setChildrenCollapsible(False)
    win.split_slider = QSlider(Qt.Orientation.Horizontal)
    win.split_slider.setRange(0, 1000)
    win.split_slider.setValue(500)
    win.split_slider.setToolTip("Before/after: move the split between the photo and the result")
    win.split_slider.valueChanged.connect(lambda v: win.canvas.set_split(v / 1000))
    win.canvas.split_changed.connect(lambda f: win.split_slider.setValue(round(f * 1000)))
    win.split_row = QWidget()
    row = QHBoxLayout(win.split_row)
    row.setContentsMargins(8, 0, 8, 0)
    row.addWidget(QLabel("Before"))
    row.addWidget(win.split_slider, 1)
    row.addWidget(QLabel("After"))
    win.split_row.hide()
    central = QWidget()
    lay = QVBoxLayout(central)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    lay.addWidget(win.splitter, 1)
    lay.addWidget(win.split_row)
    win.setCentralWidget(central)

def _dock(win: MainWindow, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
    dock = QDockWidget(title, win)
    dock.setObjectName(name)
    dock.setWidget(widget)
    win.addDockWidget(area, dock)
    return dock

def build_panels(win: MainWindow) -> None:
    win.colour_panel = ColourPanel()
    win.colour_panel.set_new_hint_mode(win.settings.hint_colour)
    win.hint_panel = HintListPanel()
    win.history = QUndoView(win.undo_group)
    win.history.setEmptyLabel("Opened")
    win.history.setToolTip("Every hint edit of this photo; click a step to go back to it")
    right = Qt.DockWidgetArea.RightDockWidgetArea
    # In a scroll area: on a short screen (a 1366 x 768 laptop, a folder's strip open) the panel
    # scrolls instead of making the window taller than the screen.
    colour_scroll = FittingScrollArea()
    colour_scroll.setWidget(win.colour_panel)
    colour_scroll.setWidgetResizable(False)  # FittingScrollArea sizes it (no square gamut forcing a scroll)
    colour_scroll.setFrameShape(QFrame.Shape.NoFrame)
    colour_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    colour_scroll.setMinimumWidth(win.colour_panel.minimumSizeHint().width()
                                  + colour_scroll.verticalScrollBar().sizeHint().width())
    colour_scroll.setMinimumHeight(160)
    win.colour_dock = _dock(win, "Colour", "colour_dock", colour_scroll, right)
    win.hints_dock = _dock(win, "Hints", "hints_dock", win.hint_panel, right)
    win.history_dock = _dock(win, "History", "history_dock", win.history, right)
    win.tabifyDockWidget(win.hints_dock, win.history_dock)
    # QUndoView rebuilds its whole list on every step; only keep it attached while it is seen.
    win.history_dock.visibilityChanged.connect(
        lambda seen: win.history.setGroup(win.undo_group if seen else None))
    for dock in (win.hints_dock, win.history_dock):  # the tab behind is moved out of sight, still "visible"
        dock.visibilityChanged.connect(lambda seen, d=dock: _focus_only_when_seen(d.widget(), seen))
    win.hints_dock.raise_()
    win.photos_dock = _dock(win, "Photos", "photos_dock", win.strip, Qt.DockWidgetArea.BottomDockWidgetArea)
    win.photos_dock.hide()

def _focus_only_when_seen(panel: QWidget, seen: bool) -> None:
    """Tab skips the controls of a dock tab that is behind another (Qt keeps them in the focus chain)."""
    for w in [panel, *panel.findChildren(QWidget)]:
        if not seen and w.focusPolicy() != Qt.FocusPolicy.NoFocus:
            w.setProperty("seen_focus_policy", w.focusPolicy())
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        elif seen and w.property("seen_focus_policy") is not None:
            w.setFocusPolicy(Qt.FocusPolicy(w.property("seen_focus_policy")))
            w.setProperty("seen_focus_policy", None)


def _action(win: MainWindow, text: str, slot: Callable[..., Any] | None, shortcuts: Any = (), tip: str = "",
            icon: QStyle.StandardPixmap | None = None, checkable: bool = False) -> QAction:
    act = QAction(text, win)
    if icon is not None:
        act.setIcon(win.style().standardIcon(icon))
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
    win.addAction(act)
    return act

def build_actions(win: MainWindow) -> None:
    sp = QStyle.StandardPixmap
    def a(*args: Any, **kwargs: Any) -> QAction:
        return _action(win, *args, **kwargs)

    win.act_open = a("&Open Photo…", win.open_dialog, QKeySequence.StandardKey.Open, "Open a photo",
                      sp.SP_DialogOpenButton)
    win.act_open_folder = a("Open &Folder…", win.open_folder_dialog, "Ctrl+Shift+O",
                             "Open a folder of photos (thumbnail strip)", sp.SP_DirOpenIcon)
    win.act_reopen = a("Reopen &Last", win.reopen_last, "Ctrl+Shift+R",
                        "Open the folder and the photo that were open last time")
    win.act_recursive = a("Include Subfolders", None, (), "Open Folder also lists photos in subfolders",
                           checkable=True)
    win.act_recursive.setChecked(bool(QSettings().value("folder/recursive", False, type=bool)))
    win.act_recursive.toggled.connect(lambda on: QSettings().setValue("folder/recursive", on))
    win.act_recursive.toggled.connect(win.relist_folder)
    win.act_save = a("&Save Hints", win.save_hints, QKeySequence.StandardKey.Save,
                      "Save the hints next to the photo (photo.jpg.colorstudio.json)", sp.SP_DialogSaveButton)
    win.act_save_as = a("Save Hints &As…", win.save_hints_as, "Ctrl+Shift+S", "Save the hints to another file")
    win.act_revert = a("&Revert to Saved", win.revert_to_saved, (),
                        "Go back to the hints and saturation last saved for this photo (undoable)")
    win.act_load_hints = a("&Load Hints…", win.load_hints_dialog, "Ctrl+Shift+L",
                            "Replace the hints with those of a hints file (undoable)")
    win.act_export = a("&Export Colorized…", win.export_dialog, "Ctrl+E",
                        "Export the colorized photo at full resolution (JPEG, PNG or TIFF)", sp.SP_DriveFDIcon)
    win.act_batch = a("Colorize &All…", win.batch_dialog, "Ctrl+Shift+E",
                       "Colorize all (or the selected) photos of the folder into an output folder")
    win.act_next = a("&Next Photo", win.next_photo, QKeySequence.StandardKey.MoveToNextPage,
                      "Open the next photo of the folder", sp.SP_MediaSkipForward)
    win.act_prev = a("&Previous Photo", win.previous_photo, QKeySequence.StandardKey.MoveToPreviousPage,
                      "Open the previous photo of the folder", sp.SP_MediaSkipBackward)
    win.act_prefs = a("&Preferences…", win.preferences_dialog, ["Ctrl+,"],
                       "Device, working size, model file, new-hint colour")
    # Windows' key scheme has no Quit key; Ctrl+Q is what photo tools there use too
    quit_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
    win.act_quit = a("&Quit", win.close, [k for k in quit_keys if not k.isEmpty()] or ["Ctrl+Q"], "Quit ColorStudio")
    win.act_help_keys = a("&Keyboard and Mouse", lambda: show_shortcuts(win), QKeySequence.StandardKey.HelpContents,
                          "Every shortcut and mouse gesture")
    win.act_about = a("&About ColorStudio", lambda: show_about(win), (), "Version, model and libraries")

    # Fixed texts (the step's name goes to the tooltip), so the toolbar does not jump around.
    win.act_undo = a("&Undo", win.undo_group.undo, "Ctrl+Z", "Undo the last edit of hints or saturation",
                      sp.SP_ArrowBack)
    win.act_redo = a("&Redo", win.undo_group.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo the edit",
                      sp.SP_ArrowForward)
    win.act_undo.setEnabled(False)
    win.act_redo.setEnabled(False)
    win.undo_group.canUndoChanged.connect(win.act_undo.setEnabled)
    win.undo_group.canRedoChanged.connect(win.act_redo.setEnabled)
    win.undo_group.undoTextChanged.connect(
        lambda t: win.act_undo.setToolTip(f"Undo: {t} (Ctrl+Z)" if t else
                                           "Undo the last edit of hints or saturation (Ctrl+Z)"))
    win.undo_group.redoTextChanged.connect(
        lambda t: win.act_redo.setToolTip(f"Redo: {t} (Ctrl+Shift+Z, Ctrl+Y)" if t else
                                           "Redo the edit (Ctrl+Shift+Z, Ctrl+Y)"))
    win.act_delete = a("&Delete Hint", win.delete_selected, ["Delete", "Backspace"],
                        "Delete the selected hint (or right-click it)", sp.SP_TrashIcon)
    win.act_clear = a("&Clear All Hints", win.clear_hints, "Ctrl+Shift+Delete",
                       "Delete every hint of this photo (undoable)", sp.SP_DialogResetButton)
    win.act_copy_hints = a("Cop&y Hints", win.copy_hints, "Ctrl+Shift+C",
                            "Copy this photo's hints and saturation, to paste onto another photo")
    win.act_paste_hints = a("&Paste Hints", win.paste_hints, "Ctrl+Shift+V",
                             "Replace this photo's hints and saturation with the copied ones (undoable)")
    win.act_paste_selected = a("Paste Hints to Selected &Photos", win.paste_hints_to_selected, "Ctrl+Alt+V",
                                "Give the photos selected in the strip the copied hints and saturation "
                                "(asks before replacing hints they have)")
    win.act_deselect = a("Deselect Hint", lambda: win.select_hint(-1), "Escape", "Deselect the hint")
    win.act_smaller = a("S&maller Hints", lambda: win._step_hint_size(1 / 1.25), "[",
                         "Make the selected hint (and new hints) smaller")
    win.act_bigger = a("&Bigger Hints", lambda: win._step_hint_size(1.25), "]",
                        "Make the selected hint (and new hints) bigger")

    win.act_markers = a("Show &Hint Markers", win.canvas.set_markers_visible, "H",
                         "Show or hide the hint markers on the photo", checkable=True)
    win.act_markers.setChecked(True)
    win.act_split = a("&Before/After Split View", win.set_split_view, "V",
                       "One view with a before/after split slider instead of side by side", checkable=True)
    win.act_zoom_in = a("Zoom &In", lambda: win.canvas.zoom_at(1.25), ["Ctrl++", "Ctrl+="], "Zoom in")
    win.act_zoom_out = a("Zoom &Out", lambda: win.canvas.zoom_at(0.8), "Ctrl+-", "Zoom out")
    win.act_fit = a("&Fit to Window", win.view.set_fit, "Ctrl+0", "Show the whole photo")
    win.act_actual = a("&Actual Size (100 %)", win.canvas.actual_size, "Ctrl+1",
                        "One photo pixel per screen pixel")

def build_menus_and_toolbars(win: MainWindow) -> None:
    mb = win.menuBar()
    m = mb.addMenu("&File")
    m.addActions([win.act_open, win.act_open_folder, win.act_recursive])
    win.recent_menu = m.addMenu("Open &Recent")
    m.addAction(win.act_reopen)
    win.recent_menu.setToolTipsVisible(True)
    win.recent_menu.aboutToShow.connect(win._fill_recent_menu)
    m.addSeparator()
    m.addActions([win.act_save, win.act_save_as, win.act_load_hints, win.act_revert])
    m.addSeparator()
    m.addActions([win.act_export, win.act_batch])
    m.addSeparator()
    m.addActions([win.act_prev, win.act_next])
    m.addSeparator()
    m.addActions([win.act_prefs, win.act_quit])
    m = mb.addMenu("&Edit")
    m.addActions([win.act_undo, win.act_redo])
    m.addSeparator()
    m.addActions([win.act_copy_hints, win.act_paste_hints, win.act_paste_selected])
    m.addSeparator()
    m.addActions([win.act_delete, win.act_clear, win.act_deselect, win.act_smaller, win.act_bigger])
    m = mb.addMenu("&View")
    m.addActions([win.act_split, win.act_markers])
    m.addSeparator()
    m.addActions([win.act_zoom_in, win.act_zoom_out, win.act_fit, win.act_actual])
    m.addSeparator()
    for dock in (win.colour_dock, win.hints_dock, win.history_dock, win.photos_dock):
        act = dock.toggleViewAction()
        act.setToolTip(f"Show or hide the {dock.windowTitle()} panel")
        m.addAction(act)
    win.strip.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    win.strip.addActions([win.act_paste_selected, win.act_batch])
    m = mb.addMenu("&Help")
    m.addActions([win.act_help_keys, win.act_about])
    for menu in mb.findChildren(type(win.recent_menu)):
        menu.setToolTipsVisible(True)

    tb = QToolBar("Main")
    tb.setObjectName("main_toolbar")
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.setIconSize(QSize(18, 18))
    tb.addActions([win.act_open, win.act_open_folder, win.act_save, win.act_export])
    tb.addSeparator()
    tb.addActions([win.act_undo, win.act_redo, win.act_delete])
    tb.addSeparator()
    tb.addActions([win.act_prev, win.act_next])
    win.addToolBar(tb)

    win.addToolBarBreak()
    vb = QToolBar("View")
    vb.setObjectName("view_toolbar")
    vb.addActions([win.act_split, win.act_markers, win.act_fit, win.act_actual])
    vb.addSeparator()
    vb.addWidget(QLabel(" Hint size "))
    win.size_spin = QDoubleSpinBox()
    win.size_spin.setRange(0.3, 15.0)
    win.size_spin.setSingleStep(0.5)
    win.size_spin.setDecimals(1)
    win.size_spin.setSuffix(" %")
    win.size_spin.setValue(win.hint_size * 100)
    win.size_spin.setToolTip("Size of the selected hint and of new hints, in % of the photo's long side "
                              "([ and ] change it)")
    win.size_spin.valueChanged.connect(win._size_spin_changed)
    vb.addWidget(win.size_spin)
    vb.addSeparator()
    win.saturation_label = QLabel(" Saturation 100 % ")
    # As wide as its widest text: the slider beside it must not shift while it is dragged.
    win.saturation_label.setMinimumWidth(win.saturation_label.fontMetrics().horizontalAdvance(" Saturation 200 % ") + 4)
    vb.addWidget(win.saturation_label)
    win.saturation_slider = ResettingSlider(100)
    win.saturation_slider.setRange(0, 200)
    win.saturation_slider.setValue(100)
    win.saturation_slider.setFixedWidth(140)
    win.saturation_slider.setToolTip("Saturation of this photo's result, in preview, export and batch (applied "
                                      "in Lab; the network is not re-run). Saved with the photo's hints; "
                                      "Ctrl+Z undoes it; double-click for 100 %.")
    win.saturation_slider.setEnabled(False)
    win.saturation_slider.valueChanged.connect(win._saturation_changed)
    win.saturation_slider.sliderReleased.connect(win._saturation_gesture_ended)
    vb.addWidget(win.saturation_slider)
    win.addToolBar(vb)

DEVICE_TIP = "Where the network runs (change in Preferences)"


def build_status_bar(win: MainWindow) -> None:
    sb = win.statusBar()
    win.busy = QProgressBar()
    win.busy.setRange(0, 0)
    win.busy.setFixedSize(QSize(70, 12))
    win.busy.setTextVisible(False)
    win.busy.setToolTip("Colorizing…")
    win.busy.hide()
    win.ms_label = QLabel("")
    win.ms_label.setToolTip("Time of the last colorization")
    win.device_label = QLabel("Model: not loaded yet")
    win.device_label.setToolTip(DEVICE_TIP)
    win.zoom_label = QLabel("")
    win.zoom_label.setToolTip("Zoom: screen pixels per photo pixel (Ctrl+0 fits the photo, Ctrl+1 is 100 %)")
    sb.addPermanentWidget(win.busy)
    sb.addPermanentWidget(win.zoom_label)
    sb.addPermanentWidget(win.ms_label)
    sb.addPermanentWidget(win.device_label)
