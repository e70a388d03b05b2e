"""Side panels: the colour picker (model suggestions, ab gamut, colour dialog, recent
colours) and the hint list. The history panel is a QUndoView built by the window.

Panels emit what the user chose; the window turns it into commands.
"""
from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QPointF, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.color import ab_to_rgb, lab_to_linear, lab_to_rgb, rgb_to_lab
from ..core.hints import Hint
from .commands import rows as hint_rows
from .commands import stroke_of

AB_RANGE = 110.0
RECENT_MAX = 12
RGB = tuple[int, int, int]


_ICONS: dict[tuple[RGB, int], QIcon] = {}


def swatch_icon(rgb: RGB, size: int = 16) -> QIcon:
    key = (tuple(rgb), size)  # type: ignore[assignment]
    if key in _ICONS:
        return _ICONS[key]
    if len(_ICONS) > 4096:
        _ICONS.clear()
    app = QGuiApplication.instance()
    ratio = max(1.0, app.devicePixelRatio() if app else 1.0)  # sharp on a high-DPI screen
    pm = QPixmap(round(size * ratio), round(size * ratio))
    pm.setDevicePixelRatio(ratio)
    pm.fill(QColor(*rgb))
    p = QPainter(pm)
    p.setPen(QColor(0, 0, 0, 140))
    p.drawRect(0, 0, size - 1, size - 1)
    p.end()
    icon = QIcon(pm)
    icon.addPixmap(pm, QIcon.Mode.Selected)  # the selected hint's colour as it is, not tinted by the selection
    _ICONS[key] = icon
    return icon


def hex_of(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


class Swatch(QToolButton):
    """A flat colour button."""

    picked = Signal(object)  # rgb

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rgb: RGB | None = None
        self.setFixedSize(QSize(26, 26))
        self.setAutoRaise(False)
        self.clicked.connect(lambda: self.rgb is not None and self.picked.emit(self.rgb))
        self.set_colour(None)

    def set_colour(self, rgb: RGB | None, tip: str = "") -> None:
        if rgb == self.rgb and self.toolTip() == (tip or (hex_of(rgb) if rgb else "")) and self.styleSheet():
            return  # style sheets are slow to apply; skip when nothing changes
        self.rgb = rgb
        self.setEnabled(rgb is not None)
        if rgb is None:
            self.setStyleSheet("QToolButton { background: transparent; border: 1px dashed #888; }"
                               "QToolButton:focus { border: 2px solid palette(highlight); }")
            self.setToolTip("")
            self.setAccessibleName("No colour")
        else:
            self.setStyleSheet(f"QToolButton {{ background: {hex_of(rgb)}; border: 1px solid #222; }}"
                               "QToolButton:hover { border: 2px solid #ffd600; }"
                               "QToolButton:focus { border: 2px solid palette(highlight); }")  # Tab shows where
            self.setToolTip(tip or hex_of(rgb))
            self.setAccessibleName(tip or f"Colour {hex_of(rgb)}")  # a screen reader says more than "button"


class GamutWidget(QWidget):
    """The ab plane at one lightness: only colours that exist at that lightness are shown.

    Emits colour_picked(rgb, gesture) while the user clicks or drags; `gesture` is a number
    shared by the events of one press-move-release, so the window can merge them.
    """

    colour_picked = Signal(object, int)
    pick_finished = Signal(object)  # the last colour of a press-move-release

    _gestures = itertools.count(1)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lightness = 50.0
        self.ab: tuple[float, float] | None = None
        self._image: QImage | None = None
        self._image_key: tuple[float, int, float] | None = None
        self._gesture = 0
        self._last: RGB | None = None
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setToolTip("Colours that exist at the lightness of the selected spot (a: green–red, "
                        "b: blue–yellow). Click or drag to recolour the selected hint.")
        self.setCursor(Qt.CursorShape.CrossCursor)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(180, 180)

    def heightForWidth(self, w: int) -> int:  # noqa: N802 - Qt override
        return w

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def set_lightness(self, lightness: float, ab: tuple[float, float] | None = None) -> None:
        self.lightness = float(min(100.0, max(0.0, lightness)))
        self.ab = ab
        self.update()

    def _side(self) -> int:
        return max(10, min(self.width(), self.height()))

    def _render(self, side_px: int) -> QImage:
        key = (round(self.lightness, 1), side_px, self.devicePixelRatioF())
        if self._image is not None and self._image_key == key:
            return self._image
        t = (np.arange(side_px, dtype=np.float32) + 0.5) / side_px * 2 * AB_RANGE - AB_RANGE
        a, b = np.meshgrid(t, -t)  # b grows upwards
        lab = np.stack([np.full_like(a, self.lightness), a, b], axis=-1)
        lin = lab_to_linear(lab)
        inside = np.all((lin >= -1e-3) & (lin <= 1.0 + 1e-3), axis=-1)
        rgb = (np.clip(lab_to_rgb(lab), 0, 1) * 255 + 0.5).astype(np.uint8)
        rgba = np.dstack([rgb, np.where(inside, 255, 0).astype(np.uint8)])
        rgba = np.ascontiguousarray(rgba)
        img = QImage(rgba.data, side_px, side_px, side_px * 4, QImage.Format.Format_RGBA8888).copy()
        img.setDevicePixelRatio(self.devicePixelRatioF())
        self._image, self._image_key = img, key
        return img

    def _origin(self) -> QPointF:
        side = self._side()
        return QPointF((self.width() - side) / 2, (self.height() - side) / 2)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        side = self._side()
        o = self._origin()
        p = QPainter(self)
        p.fillRect(int(o.x()), int(o.y()), side, side, QColor(60, 60, 60))
        p.drawImage(o, self._render(int(side * self.devicePixelRatioF())))
        p.setPen(QPen(QColor(0, 0, 0, 80), 1))
        p.drawLine(QPointF(o.x() + side / 2, o.y()), QPointF(o.x() + side / 2, o.y() + side))
        p.drawLine(QPointF(o.x(), o.y() + side / 2), QPointF(o.x() + side, o.y() + side / 2))
        if self.ab is not None:
            c = self._to_widget(*self.ab)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(QColor(0, 0, 0), 3))
            p.drawEllipse(c, 6, 6)
            p.setPen(QPen(QColor(255, 255, 255), 1.5))
            p.drawEllipse(c, 6, 6)
        p.setPen(QColor(200, 200, 200))
        p.drawText(int(o.x()) + 4, int(o.y()) + 14, f"L {self.lightness:.0f}")
        p.end()

    def _to_widget(self, a: float, b: float) -> QPointF:
        side, o = self._side(), self._origin()
        return QPointF(o.x() + (a + AB_RANGE) / (2 * AB_RANGE) * side, o.y() + (AB_RANGE - b) / (2 * AB_RANGE) * side)

    def _to_ab(self, pos: QPointF) -> tuple[float, float]:
        side, o = self._side(), self._origin()
        a = (pos.x() - o.x()) / side * 2 * AB_RANGE - AB_RANGE
        b = AB_RANGE - (pos.y() - o.y()) / side * 2 * AB_RANGE
        return float(np.clip(a, -AB_RANGE, AB_RANGE)), float(np.clip(b, -AB_RANGE, AB_RANGE))

    def _pick(self, pos: QPointF) -> None:
        a, b = self._to_ab(pos)
        # Outside the gamut: the most saturated colour of that hue that exists at this lightness.
        rgb = ab_to_rgb(self.lightness, a, b)
        lab = rgb_to_lab(np.asarray(rgb, dtype=np.uint8).reshape(1, 3))[0]
        self.ab = (float(lab[1]), float(lab[2]))
        self._last = rgb
        self.update()
        self.colour_picked.emit(rgb, self._gesture)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._gesture = next(self._gestures)
            self._pick(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._gesture and event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._gesture:
            self._gesture = 0
            if self._last is not None:
                self.pick_finished.emit(self._last)
                self._last = None


class ColourPanel(QWidget):
    """Choose a hint colour: model suggestions, the ab gamut, the colour dialog, recent colours.

    colour_chosen(rgb, gesture): gesture 0 for a single pick; the same non-zero number for
    picks of one drag across the gamut (the window merges those into one undo step).
    new_hint_mode_changed("suggested" | "current").
    """

    colour_chosen = Signal(object, int)
    new_hint_mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current: RGB = (180, 40, 35)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)

        row = QHBoxLayout()
        self.current_swatch = Swatch()
        self.current_swatch.setToolTip("The current colour (used for new hints when chosen below)")
        self.current_label = QLabel()
        row.addWidget(self.current_swatch)
        row.addWidget(self.current_label, 1)
        self.more_button = QPushButton("More…")
        self.more_button.setToolTip("Open the colour dialog (with a screen eyedropper) for the selected hint")
        self.more_button.clicked.connect(self._open_dialog)
        row.addWidget(self.more_button)
        lay.addLayout(row)

        self.new_hint_mode = QComboBox()
        self.new_hint_mode.addItem("New hints: model's colour", "suggested")
        self.new_hint_mode.addItem("New hints: current colour", "current")
        self.new_hint_mode.setToolTip("Colour of a hint added by a click: the model's most likely colour at "
                                      "that spot, or the current colour")
        self.new_hint_mode.currentIndexChanged.connect(
            lambda _i: self.new_hint_mode_changed.emit(self.new_hint_mode.currentData()))
        lay.addWidget(self.new_hint_mode)

        self.suggest_label = QLabel("Suggestions")
        self.suggest_label.setToolTip("The model's most likely colours at the selected hint")
        lay.addWidget(self.suggest_label)
        grid = QGridLayout()
        grid.setSpacing(3)
        self.suggestion_swatches = [Swatch() for _ in range(8)]
        for i, sw in enumerate(self.suggestion_swatches):
            sw.picked.connect(lambda rgb: self.choose(rgb))
            grid.addWidget(sw, i // 8, i % 8)
        lay.addLayout(grid)

        lay.addWidget(QLabel("Colours at this lightness"))
        self.gamut = GamutWidget()
        self.gamut.colour_picked.connect(self._gamut_picked)
        self.gamut.pick_finished.connect(self.remember)
        lay.addWidget(self.gamut, 1)

        lay.addWidget(QLabel("Recent"))
        grid = QGridLayout()
        grid.setSpacing(3)
        self.recent_swatches = [Swatch() for _ in range(RECENT_MAX)]
        for i, sw in enumerate(self.recent_swatches):
            sw.picked.connect(lambda rgb: self.choose(rgb))
            grid.addWidget(sw, i // 6, i % 6)
        lay.addLayout(grid)
        self._qsettings = QSettings()  # one instance: constructing QSettings re-reads the file
        self.recent: list[RGB] = self._load_recent()
        self._show_recent()
        self.set_current(self.current)
        self.set_suggestions([], "Select a hint to see the model's suggestions")

    # -- state from the window ----------------------------------------------------------------
    def set_current(self, rgb: RGB, lightness: float | None = None) -> None:
        self.current = tuple(int(c) for c in rgb)  # type: ignore[assignment]
        self.current_swatch.set_colour(self.current, f"Current colour {hex_of(self.current)}")
        self.current_label.setText(hex_of(self.current))
        lab = rgb_to_lab(np.asarray(self.current, dtype=np.uint8).reshape(1, 3))[0]
        self.gamut.set_lightness(float(lab[0]) if lightness is None else lightness, (float(lab[1]), float(lab[2])))

    def set_suggestions(self, colours: list[RGB], message: str = "") -> None:
        for i, sw in enumerate(self.suggestion_swatches):
            rgb = tuple(colours[i]) if i < len(colours) else None
            sw.set_colour(rgb, f"Suggestion {i + 1}: {hex_of(rgb)}" if rgb else "")  # type: ignore[arg-type]
        self.suggest_label.setText(message or "Model suggestions at the selected hint")

    def set_new_hint_mode(self, mode: str) -> None:
        i = self.new_hint_mode.findData(mode)
        if i >= 0:
            self.new_hint_mode.blockSignals(True)
            self.new_hint_mode.setCurrentIndex(i)
            self.new_hint_mode.blockSignals(False)

    # -- user choices -------------------------------------------------------------------------
    def choose(self, rgb: RGB, gesture: int = 0) -> None:
        rgb = (int(rgb[0]), int(rgb[1]), int(rgb[2]))
        self.current = rgb
        self.current_swatch.set_colour(rgb, f"Current colour {hex_of(rgb)}")
        self.current_label.setText(hex_of(rgb))
        lab = rgb_to_lab(np.asarray(rgb, dtype=np.uint8).reshape(1, 3))[0]
        self.gamut.set_lightness(self.gamut.lightness, (float(lab[1]), float(lab[2])))  # its marker on the colour
        if gesture == 0:
            self.remember(rgb)
        self.colour_chosen.emit(rgb, gesture)

    def _gamut_picked(self, rgb: RGB, gesture: int) -> None:
        self.choose(rgb, gesture)

    def _open_dialog(self) -> None:
        colour = QColorDialog.getColor(QColor(*self.current), self, "Hint colour")
        if colour.isValid():
            self.choose((colour.red(), colour.green(), colour.blue()))

    def remember(self, rgb: RGB) -> None:
        recent = [rgb] + [c for c in self.recent if c != rgb][: RECENT_MAX - 1]
        if recent != self.recent:
            self.recent = recent
            self._qsettings.setValue("colours/recent", [hex_of(c) for c in self.recent])
            self._show_recent()

    def _load_recent(self) -> list[RGB]:
        from ..core.hints import parse_color

        out: list[RGB] = []
        raw = self._qsettings.value("colours/recent", [])
        for item in raw if isinstance(raw, list) else [raw]:
            try:
                out.append(parse_color(item))
            except (TypeError, ValueError):
                continue
        return out[:RECENT_MAX]

    def _show_recent(self) -> None:
        for i, sw in enumerate(self.recent_swatches):
            rgb = self.recent[i] if i < len(self.recent) else None
            sw.set_colour(rgb, f"Recent colour {hex_of(rgb)}" if rgb else "")


class HintListPanel(QWidget):
    """The hints as a list: select, delete, clear."""

    select_requested = Signal(int)
    remove_requested = Signal(int)
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.list = QListWidget()
        self.list.setToolTip("The hints of this photo; select one to edit it")
        self.list.currentRowChanged.connect(self._row_changed)
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected hint (Delete)")
        self.delete_button.clicked.connect(lambda: self.list.currentRow() >= 0 and
                                           self.remove_requested.emit(self._first_of_row(self.list.currentRow())))
        self.clear_button = QPushButton("Clear all")
        self.clear_button.setToolTip("Delete every hint of this photo (undoable)")
        self.clear_button.clicked.connect(self.clear_requested)
        row.addWidget(self.delete_button)
        row.addWidget(self.clear_button)
        lay.addLayout(row)
        self._updating = False
        self._rows: list[list[int]] = []  # the hint indices each row stands for
        self.delete_button.setEnabled(False)  # nothing to delete until there are hints
        self.clear_button.setEnabled(False)

    def set_hints(self, hints: tuple[Hint, ...], selected: int) -> None:
        """One row per hint, and one per stroke (its hints are edited together)."""
        self._rows = rows = hint_rows(hints)  # the hint indices of each row
        self._updating = True
        try:
            while self.list.count() > len(rows):
                self.list.takeItem(self.list.count() - 1)
            while self.list.count() < len(rows):
                self.list.addItem(QListWidgetItem())
            current = -1
            for r, members in enumerate(rows):
                h = hints[members[0]]
                if selected in members:
                    current = r
                if stroke_of(h) is not None:
                    text = f"{r + 1}.  {h.hex}  stroke of {len(members)} hints"
                    tip = (f"A stroke of {len(members)} hints, colour {h.hex}, painted with Shift-drag; "
                           "they move, recolour, resize and delete together")
                else:
                    text = f"{r + 1}.  {h.hex}  at {h.x * 100:.0f} %, {h.y * 100:.0f} %"
                    tip = (f"Hint {r + 1}: colour {h.hex}, at x {h.x:.3f}, y {h.y:.3f} of the photo, "
                           f"size {h.size * 100:.1f} % of its long side")
                item = self.list.item(r)
                if item.text() != text or item.data(Qt.ItemDataRole.UserRole) != h.size:
                    item.setText(text)
                    item.setIcon(swatch_icon(h.rgb))
                    item.setData(Qt.ItemDataRole.UserRole, h.size)
                    item.setToolTip(tip)
            self.list.setCurrentRow(current)
            self.delete_button.setEnabled(current >= 0)
            self.clear_button.setEnabled(bool(hints))
        finally:
            self._updating = False

    def _first_of_row(self, row: int) -> int:
        return self._rows[row][0] if 0 <= row < len(self._rows) else -1

    def _row_changed(self, row: int) -> None:
        if not self._updating:
            self.select_requested.emit(self._first_of_row(row))
