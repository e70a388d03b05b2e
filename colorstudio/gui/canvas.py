"""The photo views: paint the input with hint markers, or the result, or both split.

The canvas changes no document state. Mouse events become *intents* carrying normalised
image coordinates (x = (column + 0.5) / width for a pixel's centre, as in the hints file);
the window turns them into commands.
Zoom and pan live in a `ViewState` shared by the canvases, so both views move in step.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..core.hints import Hint
from ..core.images import to_8bit

MIN_SCALE, MAX_SCALE = 0.01, 32.0
CLICK_SLOP = 4.0  # logical px a press may wander and still count as a click
MIN_MARKER = 10.0  # logical px: markers stay clickable on small zoom levels
DISPLAY_LEVEL = 2048  # long side of the reduced copy painted when zoomed out
DETAIL_PIXELS = 2_500_000  # most pixels of a full-detail render of the view (3x the preview's)


def array_to_qimage(arr: np.ndarray) -> QImage:
    """(H, W) or (H, W, 3) uint8/uint16 -> an independent 8-bit QImage."""
    arr = to_8bit(arr)
    if arr.dtype != np.uint8:
        raise TypeError(f"expected a uint8 or uint16 image, got {arr.dtype}")
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_Grayscale8)
    elif arr.ndim == 3 and arr.shape[2] == 3:
        img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888)
    else:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {arr.shape}")
    return img.copy()  # own the pixels: `arr` may go away


class ViewState(QObject):
    """Zoom and pan shared by several canvases.

    fit: the whole photo fits each canvas, centred. Otherwise `scale` (logical px per
    image px) and `center` (image px at the canvas centre) define the view.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fit = True
        self.scale = 1.0
        self.center = QPointF(0.0, 0.0)

    def set_fit(self) -> None:
        self.fit = True
        self.changed.emit()

    def set_view(self, scale: float, center: QPointF) -> None:
        """A view at `scale` (the caller keeps it in bounds: zoom_at) around `center`. A pan
        keeps the scale it has, the fit's of a tiny or a very wide photo included."""
        self.fit = False
        self.scale = scale
        self.center = QPointF(center)
        self.changed.emit()


class Canvas(QWidget):
    """One view of the photo. mode: "input" (photo + hint markers), "result", or "split".

    Intents (normalised image coordinates): add_requested(x, y), select_requested(i or -1),
    move_requested(i, x, y, alone) during a drag, drag_finished(i), remove_requested(i, alone).
    alone: Ctrl (Cmd on a Mac) was held, so the edit is of that hint alone, not of its stroke.
    """

    add_requested = Signal(float, float)
    select_requested = Signal(int)
    move_requested = Signal(int, float, float, bool)
    drag_finished = Signal(int)
    remove_requested = Signal(int, bool)
    stroke_started = Signal(float, float)  # Shift-drag on the photo: paint a stroke of hints
    stroke_extended = Signal(float, float)
    stroke_finished = Signal()
    nudge_requested = Signal(int, int)  # arrow keys: move the selected hint by (dx, dy) screen pixels
    split_changed = Signal(float)
    resized = Signal()

    def __init__(self, view: ViewState, mode: str = "input", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.mode = mode
        self._size = (0, 0)  # full-resolution (width, height)
        self._input: list[QPixmap] = []  # [full, reduced?]
        self._result: QPixmap | None = None
        self._detail: tuple[QPixmap, QRectF] | None = None  # part of the result at full detail, its photo px
        self._hints: tuple[Hint, ...] = ()
        self._selected = -1
        self.markers_visible = True
        self.split = 0.5
        self.placeholder = ""
        self._press: QPointF | None = None
        self._press_button = Qt.MouseButton.NoButton
        self._drag_index = -1
        self._alone = False  # Ctrl held at the press: the drag moves one hint of a stroke
        self._grab = QPointF()  # the press's offset from the dragged hint's centre, widget pixels
        self._dragging = False
        self._panning = False
        self._pan_origin: tuple[QPointF, float, QPointF] | None = None
        self._split_drag = False
        self._stroking = False
        view.changed.connect(self.update)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(640, 480)

    # -- content ----------------------------------------------------------------------------
    def set_photo(self, image: QImage | None, size: tuple[int, int] = (0, 0)) -> None:
        """The input picture (any resolution) and the photo's full-resolution (width, height).
        A gesture begun on the previous photo (a drag, a stroke, a pan) ends here."""
        self._press, self._press_button = None, Qt.MouseButton.NoButton
        self._drag_index = -1
        self._dragging = self._panning = self._split_drag = self._stroking = False
        self._input = []
        self._result = self._detail = None
        if image is not None and not image.isNull():
            self._size = size if size != (0, 0) else (image.width(), image.height())
            self._input.append(QPixmap.fromImage(image))
            if max(image.width(), image.height()) > DISPLAY_LEVEL * 1.5:
                small = image.scaled(DISPLAY_LEVEL, DISPLAY_LEVEL, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
                self._input.append(QPixmap.fromImage(small))
        else:
            self._size = (0, 0)
        self.update()

    def set_result(self, image: QImage | None) -> None:
        """The result preview (any resolution); the detail of the previous result goes."""
        self._result = QPixmap.fromImage(image) if image is not None and not image.isNull() else None
        self._detail = None
        self.update()

    def set_detail(self, image: QImage | None, region: tuple[int, int, int, int] = (0, 0, 0, 0)) -> None:
        """A part of the result rendered from the full-resolution photo, painted over the
        preview: region (left, top, width, height) in photo pixels; `image` may be smaller."""
        self._detail = None if image is None or image.isNull() else (QPixmap.fromImage(image), QRectF(*region))
        self.update()

    @property
    def detail_region(self) -> tuple[int, int, int, int] | None:
        """The photo pixels the shown detail covers, or None."""
        if self._detail is None:
            return None
        r = self._detail[1]
        return int(r.x()), int(r.y()), int(r.width()), int(r.height())

    def wanted_detail(self, preview_width: int) -> tuple[tuple[int, int, int, int], tuple[int, int]] | None:
        """What this view shows of the photo, (left, top, width, height) in photo pixels, and
        the (width, height) in screen pixels at which it shows it; None when a result
        preview `preview_width` pixels wide is sharp enough here (or nothing is shown)."""
        w, h = self._size
        if not w or not h or not self._input or not self.isVisible() or self.mode == "input" or preview_width >= w:
            return None  # nothing shown, or the preview is the photo itself
        s, ox, oy = self.transform()
        screen = s * self.devicePixelRatioF()  # screen px per photo px
        if screen <= preview_width / w * 1.1:
            return None
        left, top = max(0, math.floor(-ox / s)), max(0, math.floor(-oy / s))
        right, bottom = min(w, math.ceil((self.width() - ox) / s)), min(h, math.ceil((self.height() - oy) / s))
        if right <= left or bottom <= top:
            return None
        # At most the screen's pixels, and at most DETAIL_PIXELS: a whole 24 MP scan on a
        # hi-DPI screen would otherwise keep the inference thread from the next edit for long.
        f = min(1.0, screen, math.sqrt(DETAIL_PIXELS / ((right - left) * (bottom - top))))
        size = (max(1, math.ceil((right - left) * f)), max(1, math.ceil((bottom - top) * f)))
        return (left, top, right - left, bottom - top), size

    def has_result(self) -> bool:
        return self._result is not None

    def set_hints(self, hints: tuple[Hint, ...], selected: int = -1) -> None:
        self._hints = tuple(hints)
        self._selected = selected if 0 <= selected < len(self._hints) else -1
        self.update()

    def set_markers_visible(self, visible: bool) -> None:
        self.markers_visible = visible
        self.update()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.update()

    def set_split(self, fraction: float) -> None:
        self.split = min(1.0, max(0.0, fraction))
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    # -- geometry ---------------------------------------------------------------------------
    def transform(self) -> tuple[float, float, float]:
        """(scale, offset_x, offset_y): widget = offset + image_px * scale."""
        w, h = self._size
        if not w or not h:
            return 1.0, 0.0, 0.0
        if self.view.fit:
            s = min(self.width() / w, self.height() / h)
            return s, (self.width() - w * s) / 2, (self.height() - h * s) / 2
        s = self.view.scale
        return s, self.width() / 2 - self.view.center.x() * s, self.height() / 2 - self.view.center.y() * s

    def widget_to_image(self, pos: QPointF) -> tuple[float, float]:
        """Widget point -> normalised image coordinates (may lie outside [0, 1])."""
        s, ox, oy = self.transform()
        w, h = self._size
        if not w or not h:
            return -1.0, -1.0
        return (pos.x() - ox) / s / w, (pos.y() - oy) / s / h

    def image_to_widget(self, x: float, y: float) -> QPointF:
        s, ox, oy = self.transform()
        w, h = self._size
        return QPointF(ox + x * w * s, oy + y * h * s)

    def image_rect(self) -> QRectF:
        s, ox, oy = self.transform()
        return QRectF(ox, oy, self._size[0] * s, self._size[1] * s)

    def _marker_side(self, hint: Hint) -> float:
        s, _, _ = self.transform()
        return max(MIN_MARKER, hint.size * max(self._size) * s)

    def hint_at(self, pos: QPointF) -> int:
        """Index of the topmost hint marker under `pos`, or -1."""
        if not self.markers_visible or self.mode == "result":
            return -1
        for i in range(len(self._hints) - 1, -1, -1):
            hint = self._hints[i]
            c = self.image_to_widget(hint.x, hint.y)
            half = self._marker_side(hint) / 2 + 3
            if abs(pos.x() - c.x()) <= half and abs(pos.y() - c.y()) <= half:
                return i
        return -1

    def zoom_at(self, factor: float, pos: QPointF | None = None) -> None:
        """Zoom by `factor` keeping the image point under `pos` (default: the centre) still."""
        if not self._size[0]:
            return
        pos = QPointF(self.width() / 2, self.height() / 2) if pos is None else pos
        s0, ox, oy = self.transform()
        u = QPointF((pos.x() - ox) / s0, (pos.y() - oy) / s0)
        # Within MIN_SCALE..MAX_SCALE, widened to the scale it is at (the fit of a 4 x 4 photo is
        # beyond 3200 %, that of a 60000 px panorama below 1 %): zooming in never shrinks, out never grows.
        s = min(max(MAX_SCALE, s0), max(min(MIN_SCALE, s0), s0 * factor))
        center = QPointF(u.x() + (self.width() / 2 - pos.x()) / s, u.y() + (self.height() / 2 - pos.y()) / s)
        self.view.set_view(s, center)

    def actual_size(self) -> None:
        """100 %: one photo pixel per physical screen pixel (high-DPI aware)."""
        if not self._size[0]:
            return
        s0, ox, oy = self.transform()
        center = QPointF((self.width() / 2 - ox) / s0, (self.height() / 2 - oy) / s0)
        self.view.set_view(1.0 / self.devicePixelRatioF(), center)

    def _split_span(self) -> tuple[float, float]:
        """(left, width) of the part of the photo on screen: the split is a fraction of it, so
        zoomed in on a face, the before/after line is on that face, not somewhere off screen."""
        r = self.image_rect()
        left, right = max(r.left(), 0.0), min(r.right(), float(self.width()))
        return (left, right - left) if right > left else (r.left(), r.width())

    def _split_x(self) -> float:
        left, width = self._split_span()
        return left + self.split * width

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        try:
            self._paint(p)
            if self.hasFocus():  # where the keys go (Enter adds a hint, the arrows move or pan), as Tab shows
                p.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        finally:
            p.end()

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        self.update()

    def _paint(self, p: QPainter) -> None:
        p.fillRect(self.rect(), QColor(38, 38, 40))
        if not self._input:
            self._paint_text(p, self.placeholder or "Open a photo (Ctrl+O) or drop it here")
            return
        target = self.image_rect()
        s, _, _ = self.transform()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, s * self.devicePixelRatioF() < 3)
        if self.mode == "result":
            if self._result is not None:
                self._paint_result(p, target)
            else:
                self._paint_input(p, target)
                p.fillRect(target, QColor(0, 0, 0, 110))
                self._paint_text(p, self.placeholder or "Colorizing…")
            return
        self._paint_input(p, target)
        if self.mode == "split" and self._result is not None:
            x = self._split_x()
            p.save()
            p.setClipRect(QRectF(x, target.top(), max(0.0, target.right() - x), target.height()))
            self._paint_result(p, target)
            p.restore()
            p.setPen(QPen(QColor(255, 255, 255, 220), 2))
            p.drawLine(QPointF(x, max(0.0, target.top())), QPointF(x, min(float(self.height()), target.bottom())))
            self._paint_split_labels(p, x, target)
        if self.markers_visible:
            self._paint_markers(p)

    def _paint_result(self, p: QPainter, target: QRectF) -> None:
        assert self._result is not None
        p.drawPixmap(target, self._result, QRectF(self._result.rect()))
        if self._detail is not None:
            pixmap, region = self._detail
            s, ox, oy = self.transform()
            where = QRectF(ox + region.x() * s, oy + region.y() * s, region.width() * s, region.height() * s)
            p.drawPixmap(where, pixmap, QRectF(pixmap.rect()))

    def _paint_input(self, p: QPainter, target: QRectF) -> None:
        level = self._input[0]
        if len(self._input) > 1 and target.width() * self.devicePixelRatioF() <= self._input[1].width() * 1.2:
            level = self._input[1]
        p.drawPixmap(target, level, QRectF(level.rect()))

    def _paint_text(self, p: QPainter, text: str) -> None:
        p.setPen(QColor(220, 220, 220))
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    def _paint_split_labels(self, p: QPainter, x: float, target: QRectF) -> None:
        fm = p.fontMetrics()
        top = max(0.0, target.top()) + 8
        for text, left in (("Before", x - fm.horizontalAdvance("Before") - 18), ("After", x + 8)):
            box = QRectF(left, top, fm.horizontalAdvance(text) + 10, fm.height() + 4)
            p.fillRect(box, QColor(0, 0, 0, 150))
            p.setPen(QColor(255, 255, 255))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_markers(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for i, hint in enumerate(self._hints):
            c = self.image_to_widget(hint.x, hint.y)
            side = self._marker_side(hint)
            r = QRectF(c.x() - side / 2, c.y() - side / 2, side, side)
            p.fillRect(r, QColor(*hint.rgb))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0), 3))
            p.drawRect(r)
            p.setPen(QPen(QColor(255, 255, 255), 1.2))
            p.drawRect(r)
            if i == self._selected:
                ring = r.adjusted(-5, -5, 5, 5)
                p.setPen(QPen(QColor(0, 0, 0), 3))
                p.drawRect(ring)
                p.setPen(QPen(QColor(255, 214, 0), 2))
                p.drawRect(ring)

    @property
    def dragging(self) -> bool:
        """A hint is being dragged or a stroke painted (the mouse button is still down)."""
        return (self._drag_index >= 0 and self._dragging) or self._stroking

    # -- mouse: intents ---------------------------------------------------------------------
    def _inside(self, x: float, y: float) -> bool:
        return 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pos = event.position()
        self._press, self._press_button = pos, event.button()
        self._dragging = self._panning = self._split_drag = self._stroking = False
        self._drag_index = -1
        if not self._input:
            return
        self._alone = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if event.button() == Qt.MouseButton.RightButton:
            i = self.hint_at(pos)
            if i >= 0:
                self.remove_requested.emit(i, self._alone)
            return
        if event.button() == Qt.MouseButton.MiddleButton:
            self._begin_pan(pos)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self.mode == "split" and self._result is not None and abs(pos.x() - self._split_x()) <= 5 \
                and self.hint_at(pos) < 0:
            self._split_drag = True
            return
        i = self.hint_at(pos)
        x, y = self.widget_to_image(pos)
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and self.mode != "result" and self._inside(x, y):
            self._stroking = True
            self.stroke_started.emit(x, y)
            return
        if i >= 0:
            self._drag_index = i
            # where on the marker it was grabbed: the hint keeps that offset under the pointer
            self._grab = pos - self.image_to_widget(self._hints[i].x, self._hints[i].y)
            self.select_requested.emit(i)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def _begin_pan(self, pos: QPointF) -> None:
        s, ox, oy = self.transform()
        center = QPointF((self.width() / 2 - ox) / s, (self.height() / 2 - oy) / s)
        self._pan_origin = (pos, s, center)
        self._panning = True
        self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pos = event.position()
        if self._press is None:
            self._update_cursor(pos)
            return
        moved = math.hypot(pos.x() - self._press.x(), pos.y() - self._press.y()) > CLICK_SLOP
        if self._stroking:
            x, y = self.widget_to_image(pos)
            self.stroke_extended.emit(min(1.0, max(0.0, x)), min(1.0, max(0.0, y)))
        elif self._split_drag:
            left, width = self._split_span()
            if width > 0:
                self.set_split((pos.x() - left) / width)
                self.split_changed.emit(self.split)
        elif self._drag_index >= 0:
            if moved or self._dragging:
                self._dragging = True
                x, y = self.widget_to_image(pos - self._grab)
                self.move_requested.emit(self._drag_index, min(1.0, max(0.0, x)), min(1.0, max(0.0, y)), self._alone)
        elif self._panning or (moved and self._press_button == Qt.MouseButton.LeftButton):
            if not self._panning:
                self._begin_pan(self._press)
            origin, s, center = self._pan_origin  # type: ignore[misc]
            d = pos - origin
            self.view.set_view(s, QPointF(center.x() - d.x() / s, center.y() - d.y() / s))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pos = event.position()
        press, button = self._press, self._press_button
        self._press, self._press_button = None, Qt.MouseButton.NoButton
        if press is None or event.button() != button:
            return
        if self._stroking:
            self._stroking = False
            self.stroke_finished.emit()
        elif self._drag_index >= 0:
            if self._dragging:
                self.drag_finished.emit(self._drag_index)
        elif button == Qt.MouseButton.LeftButton and not self._panning and not self._split_drag:
            x, y = self.widget_to_image(pos)
            if self.mode == "result":
                pass  # the result view only zooms and pans
            elif self._inside(x, y):
                self.add_requested.emit(x, y)
            else:
                self.select_requested.emit(-1)
        self._drag_index = -1
        self._dragging = self._panning = self._split_drag = self._stroking = False
        self._update_cursor(pos)

    def _update_cursor(self, pos: QPointF) -> None:
        if not self._input:
            self.unsetCursor()
        elif self.hint_at(pos) >= 0:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif self.mode == "split" and self._result is not None and abs(pos.x() - self._split_x()) <= 5:
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif self.mode != "result" and self._inside(*self.widget_to_image(pos)):
            self.setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.unsetCursor()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Without a mouse: Enter (or Insert) adds a hint at the middle of the part of the photo
        on screen; the arrow keys then move it (a screen pixel; with Shift, ten) or, with no hint
        selected, pan the zoomed view (a tenth of it; with Shift, half)."""
        steps = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        key = Qt.Key(event.key())
        step = steps.get(key)
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Insert) and self._input and self.mode != "result":
            x, y = self._middle_on_screen()
            self.add_requested.emit(x, y)
        elif step is not None and self._input and self._selected >= 0:
            far = 10 if shift else 1
            self.nudge_requested.emit(step[0] * far, step[1] * far)
        elif step is not None and self._size[0] and not self.view.fit:
            s = self.view.scale
            part = 0.5 if shift else 0.1
            c = self.view.center
            self.view.set_view(s, QPointF(c.x() + step[0] * part * self.width() / s,
                                          c.y() + step[1] * part * self.height() / s))
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _middle_on_screen(self) -> tuple[float, float]:
        """The middle of the part of the photo on screen, normalised."""
        r = self.image_rect().intersected(QRectF(0, 0, self.width(), self.height()))
        if r.isEmpty():
            r = self.image_rect()
        x, y = self.widget_to_image(r.center())
        return min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120.0
        if steps and self._input:
            self.zoom_at(1.25 ** steps, event.position())
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.update()
        self.resized.emit()
