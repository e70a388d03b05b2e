"""Undo commands over immutable hint sets and the photo's saturation.

Every hint edit (add, move, recolour, resize, delete, clear, restoring an autosave) is one
`HintsCommand` holding the hint tuple before and after. Hints painted in one stroke share
a "stroke" number (kept in the hints file as an extra key of each hint) and are moved,
recoloured, resized and deleted together; a saturation change is one
`SaturationCommand`. Continuous edits (a drag, a colour dragged across the gamut, a size
spin, the saturation slider) carry a `merge_key`; consecutive commands with the same key
fold into one undo step through `mergeWith`.
"""
from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from PySide6.QtGui import QUndoCommand

from ..core.hints import Hint
from .document import Document

MERGE_ID = 0x4853  # any constants: Qt only calls mergeWith for commands sharing an id
SATURATION_MERGE_ID = 0x5341


class _DocumentCommand(QUndoCommand):
    """Set one value of the document `before` -> `after` (redo) and back (undo)."""

    merge_id = -1

    def __init__(self, document: Document, before: Any, after: Any, text: str,
                 merge_key: Hashable | None = None) -> None:
        super().__init__(text)
        self.document = document
        self.photo = document.key
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def _set(self, value: Any) -> None:
        raise NotImplementedError

    def _apply(self, value: Any) -> None:
        # Stacks are per photo and only the open photo's stack is active; the check is a guard.
        if self.document.key == self.photo:
            self._set(value)

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)

    def id(self) -> int:
        return self.merge_id if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if type(other) is not type(self) or other.merge_key is None or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.setText(other.text())  # the step's name says where it ended ("Saturation 80 %")
        if self.after == self.before:
            self.setObsolete(True)
        return True


class HintsCommand(_DocumentCommand):
    """Replace the document's hints `before` -> `after` (redo) and back (undo)."""

    merge_id = MERGE_ID

    def __init__(self, document: Document, before: tuple[Hint, ...], after: tuple[Hint, ...], text: str,
                 merge_key: Hashable | None = None) -> None:
        super().__init__(document, tuple(before), tuple(after), text, merge_key)

    def _set(self, value: tuple[Hint, ...]) -> None:
        self.document.set_hints(value)


class SaturationCommand(_DocumentCommand):
    """Set the document's saturation `before` -> `after` (redo) and back (undo)."""

    merge_id = SATURATION_MERGE_ID

    def __init__(self, document: Document, after: float, merge_key: Hashable | None = None) -> None:
        super().__init__(document, document.saturation, float(after), f"Saturation {after * 100:.0f} %", merge_key)

    def _set(self, value: float) -> None:
        self.document.set_saturation(value)


def _snap(value: float) -> float:
    """Clamp to [0, 1] and round as the sidecar stores it, so a saved and reopened set is equal."""
    return round(min(1.0, max(0.0, float(value))), 6)


def snapped(hint: Hint) -> Hint:
    return Hint(_snap(hint.x), _snap(hint.y), hint.rgb, max(1e-6, _snap(hint.size)), hint.extra)


def _describe(hint: Hint) -> str:
    return f"{hint.hex} at ({hint.x:.2f}, {hint.y:.2f})"


def stroke_of(hint: Hint) -> int | None:
    """The number of the stroke a hint was painted in, or None for a hint of its own."""
    value = dict(hint.extra).get("stroke")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def group(hints: tuple[Hint, ...], index: int, alone: bool = False) -> list[int]:
    """The indices edited together with hint `index`: its stroke's, or itself alone (a hint
    of its own, or `alone`: one hint of a stroke edited by itself)."""
    stroke = stroke_of(hints[index])
    if stroke is None or alone:
        return [index]
    return [i for i, h in enumerate(hints) if stroke_of(h) == stroke]


def rows(hints: tuple[Hint, ...]) -> list[list[int]]:
    """The hint indices of each row of the hint list: one row per hint, one per stroke."""
    out: list[list[int]] = []
    strokes: dict[int, list[int]] = {}
    for i, h in enumerate(hints):
        stroke = stroke_of(h)
        if stroke is None:
            out.append([i])
        elif stroke in strokes:
            strokes[stroke].append(i)
        else:
            strokes[stroke] = [i]
            out.append(strokes[stroke])
    return out


def _what(hints: tuple[Hint, ...], members: list[int], index: int) -> str:
    """"hint 3", "stroke of 12 hints" or "hint 2 of stroke 1", numbered as the hint list
    numbers its rows (a stroke is one row) and, within a stroke, in painting order."""
    if len(members) > 1:
        return f"stroke of {len(members)} hints"
    row, indices = next(((r, m) for r, m in enumerate(rows(hints)) if index in m), (index, [index]))
    if len(indices) > 1:
        return f"hint {indices.index(index) + 1} of stroke {row + 1}"
    return f"hint {row + 1}"


def new_stroke_number(hints: tuple[Hint, ...]) -> int:
    return max((s for h in hints if (s := stroke_of(h)) is not None), default=0) + 1


def add_hint(doc: Document, hint: Hint) -> HintsCommand:
    hint = snapped(hint)
    return HintsCommand(doc, doc.hints, doc.hints + (hint,), f"Add hint {_describe(hint)}")


def paint_hint(doc: Document, hint: Hint, stroke: int, gesture: Hashable) -> HintsCommand:
    """Add a hint of stroke number `stroke`; one gesture's hints fold into one undo step."""
    hint = snapped(Hint(hint.x, hint.y, hint.rgb, hint.size, (("stroke", stroke),)))
    return HintsCommand(doc, doc.hints, doc.hints + (hint,), f"Paint a {hint.hex} stroke",
                        merge_key=("paint", gesture))


def move_hint(doc: Document, index: int, x: float, y: float, drag: Hashable, alone: bool = False) -> HintsCommand:
    """Move hint `index` to (x, y), and the rest of its stroke by as much (unless `alone`).

    A stroke moves as one rigid shape: it stops where its first hint reaches the photo's
    edge, rather than piling its hints up there (and then keeping that piled-up shape).
    """
    hints = list(doc.hints)
    members = group(doc.hints, index, alone)
    xs, ys = [hints[i].x for i in members], [hints[i].y for i in members]
    dx = min(1.0 - max(xs), max(-min(xs), _snap(x) - hints[index].x))
    dy = min(1.0 - max(ys), max(-min(ys), _snap(y) - hints[index].y))
    for i in members:
        h = hints[i]
        hints[i] = h.moved(_snap(h.x + dx), _snap(h.y + dy))
    return HintsCommand(doc, doc.hints, tuple(hints), f"Move {_what(doc.hints, members, index)}",
                        merge_key=("move", index, drag))


def recolour_hint(doc: Document, index: int, rgb: tuple[int, int, int],
                  gesture: Hashable | None = None) -> HintsCommand:
    hints = list(doc.hints)
    members = group(doc.hints, index)
    for i in members:
        hints[i] = hints[i].recoloured(rgb)
    key = ("recolour", index, gesture) if gesture is not None else None
    return HintsCommand(doc, doc.hints, tuple(hints),
                        f"Recolour {_what(doc.hints, members, index)} to {hints[index].hex}", key)


def resize_hint(doc: Document, index: int, size: float, gesture: Hashable | None = None) -> HintsCommand:
    hints = list(doc.hints)
    members = group(doc.hints, index)
    for i in members:
        hints[i] = hints[i].resized(max(1e-6, _snap(size)))
    key = ("resize", index, gesture) if gesture is not None else None
    return HintsCommand(doc, doc.hints, tuple(hints),
                        f"Resize {_what(doc.hints, members, index)} to {size * 100:.1f} %", key)


def remove_hint(doc: Document, index: int, alone: bool = False) -> HintsCommand:
    """Delete hint `index` with its stroke, or (`alone`) that one hint of its stroke."""
    members = group(doc.hints, index, alone)
    after = tuple(h for i, h in enumerate(doc.hints) if i not in members)
    if len(members) > 1:
        what = f"stroke of {len(members)} hints"
    elif len(group(doc.hints, index)) > 1:
        what = f"{_what(doc.hints, members, index)}, {_describe(doc.hints[index])}"
    else:
        what = f"hint {_describe(doc.hints[index])}"
    return HintsCommand(doc, doc.hints, after, f"Delete {what}")


def clear_hints(doc: Document) -> HintsCommand:
    return HintsCommand(doc, doc.hints, (), f"Clear all hints ({len(doc.hints)})")


def replace_hints(doc: Document, hints: tuple[Hint, ...], text: str) -> HintsCommand:
    return HintsCommand(doc, doc.hints, tuple(hints), text)
