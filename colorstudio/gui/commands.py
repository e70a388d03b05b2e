"""Undo commands over immutable hint sets and the photo's saturation.

Every hint edit (add, move, recolour, resize, delete, clear, restoring an autosave) is one
`HintsCommand` holding the hint tuple before and after; a saturation change is one
`SaturationCommand`. Continuous edits (a drag, a colour dragged across the gamut, a size
spin, the saturation slider) carry a `merge_key`; consecutive commands with the same key
fold into one undo step through `mergeWith`.
"""
from __future__ import annotations

from collections.abc import Hashable

from PySide6.QtGui import QUndoCommand

from ..core.hints import Hint
from .document import Document

MERGE_ID = 0x4853  # any constants: Qt only calls mergeWith for commands sharing an id
SATURATION_MERGE_ID = 0x5341


class HintsCommand(QUndoCommand):
    """Replace the document's hints `before` -> `after` (redo) and back (undo)."""

    def __init__(self, document: Document, before: tuple[Hint, ...], after: tuple[Hint, ...], text: str,
                 merge_key: Hashable | None = None) -> None:
        super().__init__(text)
        self.document = document
        self.photo = document.key
        self.before = tuple(before)
        self.after = tuple(after)
        self.merge_key = merge_key

    def _apply(self, hints: tuple[Hint, ...]) -> None:
        # Stacks are per photo and only the open photo's stack is active; the check is a guard.
        if self.document.key == self.photo:
            self.document.set_hints(hints)

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)

    def id(self) -> int:
        return MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, HintsCommand) or other.merge_key is None or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        if self.after == self.before:
            self.setObsolete(True)
        return True


class SaturationCommand(QUndoCommand):
    """Set the document's saturation `before` -> `after` (redo) and back (undo)."""

    def __init__(self, document: Document, after: float, merge_key: Hashable | None = None) -> None:
        super().__init__(f"Saturation {after * 100:.0f} %")
        self.document = document
        self.photo = document.key
        self.before = document.saturation
        self.after = float(after)
        self.merge_key = merge_key

    def _apply(self, value: float) -> None:
        if self.document.key == self.photo:
            self.document.set_saturation(value)

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)

    def id(self) -> int:
        return SATURATION_MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SaturationCommand) or other.merge_key is None or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.setText(other.text())
        if self.after == self.before:
            self.setObsolete(True)
        return True


def _snap(value: float) -> float:
    """Clamp to [0, 1] and round as the sidecar stores it, so a saved and reopened set is equal."""
    return round(min(1.0, max(0.0, float(value))), 6)


def snapped(hint: Hint) -> Hint:
    return Hint(_snap(hint.x), _snap(hint.y), hint.rgb, max(1e-6, _snap(hint.size)), hint.extra)


def _describe(hint: Hint) -> str:
    return f"{hint.hex} at ({hint.x:.2f}, {hint.y:.2f})"


def add_hint(doc: Document, hint: Hint) -> HintsCommand:
    hint = snapped(hint)
    return HintsCommand(doc, doc.hints, doc.hints + (hint,), f"Add hint {_describe(hint)}")


def move_hint(doc: Document, index: int, x: float, y: float, drag: Hashable) -> HintsCommand:
    hints = list(doc.hints)
    hints[index] = hints[index].moved(_snap(x), _snap(y))
    return HintsCommand(doc, doc.hints, tuple(hints), f"Move hint {index + 1}", merge_key=("move", index, drag))


def recolour_hint(doc: Document, index: int, rgb: tuple[int, int, int],
                  gesture: Hashable | None = None) -> HintsCommand:
    hints = list(doc.hints)
    hints[index] = hints[index].recoloured(rgb)
    key = ("recolour", index, gesture) if gesture is not None else None
    return HintsCommand(doc, doc.hints, tuple(hints), f"Recolour hint {index + 1} to {hints[index].hex}", key)


def resize_hint(doc: Document, index: int, size: float, gesture: Hashable | None = None) -> HintsCommand:
    hints = list(doc.hints)
    hints[index] = hints[index].resized(max(1e-6, _snap(size)))
    key = ("resize", index, gesture) if gesture is not None else None
    return HintsCommand(doc, doc.hints, tuple(hints), f"Resize hint {index + 1} to {size * 100:.1f} %", key)


def remove_hint(doc: Document, index: int) -> HintsCommand:
    hint = doc.hints[index]
    after = doc.hints[:index] + doc.hints[index + 1:]
    return HintsCommand(doc, doc.hints, after, f"Delete hint {_describe(hint)}")


def clear_hints(doc: Document) -> HintsCommand:
    return HintsCommand(doc, doc.hints, (), f"Clear all hints ({len(doc.hints)})")


def replace_hints(doc: Document, hints: tuple[Hint, ...], text: str) -> HintsCommand:
    return HintsCommand(doc, doc.hints, tuple(hints), text)
