"""The photos of a session: the open document, one undo history per photo, autosave.

`PhotoSession` decides which hints (and saturation) a photo opens with (those left in this
session, an autosave that differs from the sidecar, or the sidecar), keeps one QUndoStack per photo in a
QUndoGroup (the open photo's stack is the active one), writes the autosave a moment after
each change (and every few seconds while changes go on), and saves to the sidecar. It shows
no dialogs: failures are raised or returned for the window to show.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from ..core.errors import ColorStudioError
from ..core.fileio import file_stamp
from ..core.hints import Hint, PhotoHints, find_hints_file, load_photo_hints, save_hints_for
from ..core.images import LoadedImage
from . import commands
from .document import Document, photo_key, read_autosave, remove_autosave, set_autosave_aside, write_autosave

AUTOSAVE_DELAY_MS = 1000  # after the last change...
AUTOSAVE_MAX_WAIT_MS = 3000  # ...or at the latest this long after the first unsaved one (steady editing)


@dataclass
class PhotoState:
    """What the session remembers of a photo it has opened: its undo history, hints and saturation."""

    stack: QUndoStack
    hints: tuple[Hint, ...] = ()
    saved: tuple[Hint, ...] = ()
    saturation: float = 1.0
    saved_saturation: float = 1.0
    stamp: tuple[int, int] | None = None  # the hints file's (mtime, size) when last read or written


@dataclass
class OpenReport:
    """What happened while a photo's hints were chosen, for the status bar and dialogs."""

    notes: list[str] = field(default_factory=list)
    sidecar_error: str = ""
    restored: int = -1  # number of autosaved hints restored, -1 if no autosave was restored
    set_aside: bool = False  # an autosave for an earlier file of the photo's name was not applied


def _stamp(side: Path | None) -> tuple[int, int] | None:
    """(modification time, size) of a photo's hints file (find_hints_file); None if it has none."""
    return None if side is None else file_stamp(side)


def _saturation(hints: PhotoHints) -> float:
    """The saturation a photo shows with these hints: theirs, or 100 % if they set none."""
    return 1.0 if hints.saturation is None else hints.saturation


class PhotoSession(QObject):
    autosave_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = Document(self)
        self.undo_group = QUndoGroup(self)
        self._idle_stack = QUndoStack(self)  # active while no photo is open
        self.undo_group.addStack(self._idle_stack)
        self.undo_group.setActiveStack(self._idle_stack)
        self._photos: dict[str, PhotoState] = {}
        self._keep_autosave = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self.autosave_now)
        # The first timer restarts at each change, so edits less than a second apart would
        # never be autosaved: this one is not restarted.
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.setInterval(AUTOSAVE_MAX_WAIT_MS)
        self._deadline.timeout.connect(self.autosave_now)
        self.document.hints_changed.connect(self._changed)
        self.document.saturation_changed.connect(self._changed)

    @property
    def stack(self) -> QUndoStack:
        """The undo stack of the open photo."""
        return self.undo_group.activeStack() or self._idle_stack

    def push(self, command: QUndoCommand) -> None:
        if self.document.is_open:
            self.stack.push(command)

    def open(self, path: Path, image: LoadedImage) -> OpenReport:
        """Make `image` (read from `path`) the open photo, with the hints it should show."""
        report = OpenReport(notes=list(image.notes))
        key = photo_key(path)
        state = self._photos.get(key)
        restore: PhotoHints | None = None
        if state is not None and not self._edited(state) and _stamp(find_hints_file(path)) != state.stamp:
            # its hints file was written by another program (or app) since: read it again
            self._forget(key)
            state = None
            report.notes.append("its hints file changed on disk; read again")
        if state is None:
            saved = PhotoHints()
            side = find_hints_file(path)  # the sidecar, or the hints kept for a read-only folder
            stamp = _stamp(side)  # before reading it: a change meanwhile is seen at the next visit
            if side is not None:
                try:
                    saved = load_photo_hints(side)
                except ColorStudioError as exc:
                    report.sidecar_error = str(exc)
            saved_saturation = _saturation(saved)
            auto = read_autosave(path)
            if auto is not None and not auto.same_photo:
                # a rescan saved under the same name, say: those hints were placed on another picture
                aside = set_autosave_aside(path)
                when = time.strftime('%H:%M on %d %b', time.localtime(auto.mtime))
                report.notes.append(f"unsaved hints autosaved at {when} for an earlier file of this name were not "
                                    "applied" + (f"; kept in {aside} (File > Load Hints… brings them in)"
                                                 if aside is not None else ""))
                report.set_aside = True
                auto = None
            if auto is not None:
                restore = auto[0]
                if not self._differs(restore, saved):
                    restore = None
                else:
                    report.notes.append(f"restored {self._describe(restore, saved)} autosaved at "
                                        f"{time.strftime('%H:%M on %d %b', time.localtime(auto[1]))} "
                                        "(Ctrl+Z goes back to the saved hints)")
                    report.restored = len(restore.hints)
            state = PhotoState(QUndoStack(self), saved.hints, saved.hints, saved_saturation, saved_saturation, stamp)
            self.undo_group.addStack(state.stack)
            self._photos[key] = state
        self.undo_group.setActiveStack(state.stack)
        # The autosave about to be restored stays on disk (the clean load would remove it):
        # it is the only copy of that work until it is written again.
        self._keep_autosave = restore is not None
        try:
            self.document.load(path, image, state.hints, state.saved, state.saturation, state.saved_saturation)
        finally:
            self._keep_autosave = False
        if restore is not None:
            self.replace(restore, "Restore autosaved hints")
        return report

    def replace(self, new: PhotoHints, text: str) -> bool:
        """Give the open photo `new`'s hints, and its saturation if it sets one: one undo step.
        False (and no step) if the photo has them already."""
        doc = self.document
        same_saturation = new.saturation is None or new.saturation == doc.saturation
        if not doc.is_open or (tuple(new.hints) == doc.hints and same_saturation):
            return False
        self.stack.beginMacro(text)
        self.push(commands.replace_hints(doc, new.hints, text))
        if new.saturation is not None and new.saturation != doc.saturation:
            self.push(commands.SaturationCommand(doc, new.saturation))
        self.stack.endMacro()
        return True

    @staticmethod
    def _new_saturation(restore: PhotoHints, saved: PhotoHints) -> bool:
        """An autosave sets a saturation other than the saved one (one written before
        saturation was saved sets none: it says nothing about it)."""
        return restore.saturation is not None and restore.saturation != _saturation(saved)

    @classmethod
    def _differs(cls, restore: PhotoHints, saved: PhotoHints) -> bool:
        return restore.hints != saved.hints or cls._new_saturation(restore, saved)

    @classmethod
    def _describe(cls, restore: PhotoHints, saved: PhotoHints) -> str:
        """What an autosave brings back, for the status bar."""
        n = len(restore.hints)
        parts = []
        if restore.hints != saved.hints:
            parts.append("1 unsaved hint" if n == 1 else f"{n} unsaved hints")
        if cls._new_saturation(restore, saved):
            parts.append(f"{'the ' if not parts else ''}unsaved saturation {restore.saturation * 100:.0f} %")
        return " and ".join(parts)

    def save(self) -> Path:
        """Write the hints to the photo's sidecar (its stored hints file where the photo's folder
        is read-only: core.hints.save_hints_for); raises ColorStudioError / OSError / ValueError."""
        doc = self.document
        target = save_hints_for(doc.path, doc.hints, saturation=doc.saturation)
        stamp = _stamp(target)
        doc.mark_saved()
        self.stack.setClean()  # QUndoStack merges no later edit (a nudge, a slider key) into the saved step
        state = self._photos.get(doc.key)
        if state is not None:
            state.saved, state.saved_saturation = doc.hints, doc.saturation
            state.stamp = stamp
        self._stop_timers()
        remove_autosave(doc.path)
        return target

    def has_own_hints(self, path: Path) -> bool:
        """Whether a photo has hints or a saturation of its own: a hints file, an autosave, or
        edits in this session."""
        state = self._photos.get(photo_key(path))
        if state is not None and (state.hints or state.saturation != 1.0):
            return True
        return find_hints_file(path) is not None or read_autosave(path) is not None

    def write_hints(self, path: Path, hints: PhotoHints) -> Path:
        """Save `hints` as a photo's hints file (not the open photo's: that one is edited
        through commands). What the session kept of the photo, its history and its autosave
        are dropped, so it next opens with these hints."""
        if photo_key(path) == self.document.key:
            raise ValueError("the open photo's hints are edited through its undo stack")
        target = save_hints_for(path, hints.hints, saturation=hints.saturation)
        self._forget(photo_key(path))
        remove_autosave(path)
        return target

    def _forget(self, key: str) -> None:
        """Drop what the session kept of a photo (not the open one): its hints and history."""
        state = self._photos.pop(key, None)
        if state is not None:
            self.undo_group.removeStack(state.stack)
            state.stack.deleteLater()

    @staticmethod
    def _edited(state: PhotoState) -> bool:
        return state.hints != state.saved or state.saturation != state.saved_saturation

    def changed_on_disk(self) -> bool:
        """Whether the open photo's hints file was written by someone else since it was read or saved."""
        doc = self.document
        state = self._photos.get(doc.key) if doc.is_open else None
        return state is not None and _stamp(find_hints_file(doc.path)) not in (state.stamp, None)

    def discard_changes(self) -> None:
        """Forget the open photo's unsaved hints (and their history) when it is left."""
        doc = self.document
        state = self._photos.get(doc.key)
        if state is not None:
            state.hints, state.saturation = doc.saved_hints, doc.saved_saturation
            state.stack.clear()
        self._stop_timers()
        if doc.path is not None:
            remove_autosave(doc.path)

    def autosave_now(self) -> bool:
        """Write the open photo's autosave file if it has unsaved hints (or saturation). False
        (and autosave_failed) if they could not be written: only then is unsaved work not kept."""
        doc = self.document
        self._stop_timers()
        if not doc.is_open or not doc.dirty:
            return True
        try:
            write_autosave(doc.path, doc.hints, doc.saturation, doc.photo_stamp)
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: a hint's absurdly nested extra
            self.autosave_failed.emit(f"Autosave failed: {getattr(exc, 'strerror', None) or exc}")
            return False
        return True

    def _changed(self, *_value: object) -> None:
        doc = self.document
        state = self._photos.get(doc.key)
        if state is not None:
            state.hints, state.saturation = doc.hints, doc.saturation
        if doc.dirty:
            self._timer.start()  # a moment after the last change
            if not self._deadline.isActive():
                self._deadline.start()
        else:
            self._stop_timers()
            if doc.path is not None and not self._keep_autosave:
                remove_autosave(doc.path)

    def _stop_timers(self) -> None:
        self._timer.stop()
        self._deadline.stop()
