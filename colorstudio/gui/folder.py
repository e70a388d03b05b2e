"""Folder browsing: the thumbnail strip, with thumbnails made off the GUI thread and cached.

Thumbnails are decoded in a QThreadPool (JPEG draft mode, so a large scan is cheap),
cached on disk in the per-user cache folder (keyed by path, size and modification time)
and in memory (LRU). Only the rows the view asks for are loaded, so a folder of
thousands of scans opens at once. Badges show which photos have hints and which were
exported. The window lists a folder with core.batch.find_photos, so the strip shows
exactly the photos a batch would colorize. A photo whose batch output is current shows
that output's thumbnail: the archivist sees the roll's results at a glance.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QFileSystemWatcher,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRunnable,
    QSize,
    QStandardPaths,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QKeyEvent, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ..core.fileio import file_stamp
from ..core.hints import find_hints_file

THUMB = 112
HAS_HINTS_ROLE = Qt.ItemDataRole.UserRole + 1
EXPORTED_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
MEMORY_CACHE = 1500


def thumbnail_cache_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    return Path(base or Path.home() / ".cache" / "colorstudio") / "thumbnails"


CACHE_LIMIT = 256 * 1024 * 1024  # the disk cache of thumbnails is trimmed to 3/4 of this when it grows past it


def trim_thumbnail_cache(limit: int = CACHE_LIMIT, folder: Path | None = None) -> int:
    """Delete the least recently used cached thumbnails while the cache is over `limit` bytes,
    down to 3/4 of it (a collection of 100k scans would otherwise leave ~1 GB behind).
    Returns the number of files deleted. Any thread; errors are ignored (it is a cache)."""
    folder = thumbnail_cache_dir() if folder is None else folder
    entries = []
    with contextlib.suppress(OSError), os.scandir(folder) as it:
        for e in it:
            with contextlib.suppress(OSError):
                if e.is_file() and e.name.endswith(".jpg"):
                    st = e.stat()
                    entries.append((st.st_mtime_ns, st.st_size, e.path))
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return 0
    deleted = 0
    for _, size, path in sorted(entries):  # oldest use first
        if total <= limit * 3 // 4:
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
            total -= size
            deleted += 1
    return deleted


def _cache_file(path: Path, size: int) -> Path | None:
    try:
        st = path.stat()
    except OSError:
        return None
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{size}"
    return thumbnail_cache_dir() / (hashlib.sha1(key.encode("utf-8")).hexdigest() + ".jpg")


def strip_thumb_size(screen_height: int) -> int:
    """The strip's thumbnail size for a screen of `screen_height` logical px: on a 768 px laptop
    screen, a strip of 112 px thumbnails leaves the photo and the colour panel too little room."""
    return THUMB if screen_height >= 900 else 76


def square(img: QImage, size: int = THUMB) -> QImage:
    """`img` centred on a transparent size x size square, so every item has the same shape."""
    out = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    out.fill(Qt.GlobalColor.transparent)
    p = QPainter(out)
    p.drawImage((size - img.width()) // 2, (size - img.height()) // 2, img)
    p.end()
    return out


def make_thumbnail(path: Path, size: int = THUMB) -> QImage:
    """Decode a small, correctly oriented copy of a photo (any thread). Raises on failure."""
    from PIL import Image, ImageOps

    cached = _cache_file(path, size)
    if cached is not None and cached.exists():
        img = QImage(str(cached))
        if not img.isNull():
            with contextlib.suppress(OSError):
                os.utime(cached)  # used now: the last to go when the cache is trimmed
            return img
    with Image.open(path) as im:
        im.draft("RGB", (size * 2, size * 2))  # JPEG: decode at reduced scale
        im = ImageOps.exif_transpose(im)
        im.thumbnail((size, size))
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        if im.mode == "L":
            im = im.convert("RGB")
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    img = QImage.fromData(data, "JPG")
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.part")
            tmp.write_bytes(data)
            os.replace(tmp, cached)
        except OSError:
            pass  # the cache is an optimisation only
    return img


class _ThumbTask(QRunnable):
    def __init__(self, loader: ThumbnailLoader, path: Path, generation: int) -> None:
        super().__init__()
        self.loader, self.path, self.generation = loader, path, generation

    def run(self) -> None:  # noqa: D102 - pool thread
        if self.generation != self.loader.generation:
            return
        try:
            img = square(make_thumbnail(self.path, self.loader.pixels), self.loader.pixels)
            img.setDevicePixelRatio(self.loader.ratio)  # shown at `size` logical px, sharp on a high-DPI screen
            self.loader.ready.emit(str(self.path), img, "", self.generation)
        except Exception as exc:  # noqa: BLE001 - a broken file gets a broken thumbnail
            self.loader.ready.emit(str(self.path), QImage(), str(exc) or type(exc).__name__, self.generation)


class ThumbnailLoader(QObject):
    """Makes thumbnails in a small thread pool; `ready` arrives on the GUI thread."""

    ready = Signal(str, QImage, str, int)  # path, image (null on failure), error, generation

    def __init__(self, size: int = THUMB, parent: QObject | None = None, ratio: float | None = None) -> None:
        super().__init__(parent)
        self.size = size  # logical px
        # device px per logical px: the screens' highest (a window moved to the other screen stays sharp)
        app = QGuiApplication.instance()
        self.ratio = max(1.0, float(ratio if ratio is not None else app.devicePixelRatio() if app else 1.0))
        self.pixels = round(size * self.ratio)
        self.generation = 0
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, min(2, (os.cpu_count() or 2) - 1)))
        self._pending: set[str] = set()

    def request(self, path: Path) -> None:
        key = str(path)
        if key not in self._pending:
            self._pending.add(key)
            self.pool.start(_ThumbTask(self, path, self.generation))

    def done(self, path: str) -> None:
        self._pending.discard(path)

    def reset(self) -> None:
        self.generation += 1
        self.pool.clear()
        self._pending.clear()

    def shutdown(self) -> None:
        self.reset()
        self.pool.waitForDone(5000)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as runs [start, stop)."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and out[-1][1] == r:
            out[-1] = (out[-1][0], r + 1)
        else:
            out.append((r, r + 1))
    return out


class PhotoListModel(QAbstractListModel):
    """The photos of a folder; thumbnails load lazily as rows are shown."""

    def __init__(self, is_exported: Callable[[Path], bool] | None = None, parent: QObject | None = None,
                 exported_file: Callable[[Path], Path | None] | None = None, thumb: int = THUMB) -> None:
        super().__init__(parent)
        self.thumb = thumb  # logical px of a thumbnail's long side
        self.paths: list[Path] = []
        self.root: Path | None = None
        self.is_exported = is_exported or (lambda p: False)  # exported other than by the batch (exported_file)
        self.exported_file = exported_file or (lambda p: None)  # the current batch output, shown as the thumbnail
        self.loader = ThumbnailLoader(thumb, parent=self)
        self.loader.ready.connect(self._thumbnail_ready)
        self._thumbs: OrderedDict[str, QImage] = OrderedDict()
        self._errors: dict[str, str] = {}
        self._flags: dict[str, tuple[bool, bool, str]] = {}  # has hints, exported, thumbnail's file
        self._row: dict[str, int] = {}  # photo or the output shown for it -> row
        self._stamps: dict[str, int] = {}  # output shown -> its modification time when loaded
        self._thumb_stamps: dict[str, tuple[int, int] | None] = {}  # thumbnail's file -> its time and size then
        self._trimmed = False
        grey = QImage(thumb - thumb // 7, thumb * 3 // 4, QImage.Format.Format_RGB32)
        grey.fill(QColor(70, 70, 74))
        self._placeholder = square(grey, thumb)

    def set_photos(self, root: Path | None, paths: list[Path]) -> None:
        if not self._trimmed:  # once per session, off the GUI thread
            self._trimmed = True
            self.loader.pool.start(trim_thumbnail_cache)
        self.beginResetModel()
        self.loader.reset()
        self.root = root
        self.paths = list(paths)
        self._renumber()
        self._errors.clear()
        # Thumbnails come again from the disk cache, which knows each file's size and time: a
        # photo rescanned (or an output redone) since shows as it is now.
        self._thumbs.clear()
        self._thumb_stamps.clear()
        self.endResetModel()

    ROW_UPDATES = 50  # more runs of rows come and gone than this: the list is set anew (each run costs O(n))

    def update_photos(self, paths: list[Path]) -> str:
        """Bring the list to `paths` (the same folder listed again, sorted as find_photos sorts):
        "rows" when it was done run by run of rows removed or inserted, so that the selection,
        the scroll position and the thumbnails of the photos still there stay; "reset" when
        there were so many runs that the list was set anew (the caller selects again); "" when
        nothing changed."""
        new = list(paths)
        if new == self.paths:
            return ""
        old_keys, new_keys = set(self.paths), set(new)
        removed = _runs([i for i, p in enumerate(self.paths) if p not in new_keys])
        kept = [p for p in self.paths if p in new_keys]
        if kept != [p for p in new if p in old_keys]:  # not one sorted listing of the other: set anew
            removed = [(0, len(self.paths))] * (self.ROW_UPDATES + 1)
        inserted = _runs([j for j, p in enumerate(new) if p not in old_keys])
        if len(removed) + len(inserted) > self.ROW_UPDATES:
            self.beginResetModel()
            self.paths = new
            self._renumber()
            self.endResetModel()
            return "reset"
        for i, j in reversed(removed):  # from the end, so that earlier rows keep their numbers
            self.beginRemoveRows(QModelIndex(), i, j - 1)
            del self.paths[i:j]
            self._renumber()
            self.endRemoveRows()
        for i, j in inserted:  # in order: each goes where it is in the new list
            self.beginInsertRows(QModelIndex(), i, j - 1)
            self.paths[i:i] = new[i:j]
            self._renumber()
            self.endInsertRows()
        return "rows"

    def _renumber(self) -> None:
        self._row = {str(p): i for i, p in enumerate(self.paths)}
        self._flags.clear()  # outputs shown for photos map to their rows again on demand

    def shown_name(self, path: Path) -> str:
        """A photo's name as the strip shows it: with its subfolder below the open folder
        ("box A/IMG_0001.jpg"), as two rolls in subfolders repeat their names."""
        root = self.root
        if root is not None and path.parent != root and path.is_relative_to(root):
            return path.relative_to(root).as_posix()
        return path.name

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.paths)

    def row_of(self, path: Path | str) -> int:
        return self._row.get(str(path), -1)

    def _status(self, key: str, path: Path) -> tuple[bool, bool, str]:
        if key not in self._flags:
            shown = self.exported_file(path)
            source = key if shown is None else str(shown)
            if source != key:
                self._row[source] = self._row[key]
                with contextlib.suppress(OSError):
                    stamp = shown.stat().st_mtime_ns
                    if self._stamps.setdefault(source, stamp) != stamp:  # a batch rewrote it
                        self._stamps[source] = stamp
                        self._thumbs.pop(source, None)
                        self._errors.pop(source, None)
            exported = shown is not None or bool(self.is_exported(path))
            self._flags[key] = (find_hints_file(path) is not None, exported, source)
        return self._flags[key]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.paths):
            return None
        path = self.paths[index.row()]
        key = str(path)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.shown_name(path)
        if role == Qt.ItemDataRole.DecorationRole:
            source = self._status(key, path)[2]
            if source in self._errors:  # an output that cannot be shown: the photo itself
                source = key
            img = self._thumbs.get(source)
            if img is not None:
                self._thumbs.move_to_end(source)
                return img
            if source not in self._errors:
                self.loader.request(Path(source))
            return self._thumbs.get(key, self._placeholder)  # the photo's, until its output's arrives
        if role == Qt.ItemDataRole.ToolTipRole:
            hints, exported, _ = self._status(key, path)
            shown = str(path.relative_to(self.root)) if self.root and path.is_relative_to(self.root) else str(path)
            notes = [n for n, on in (("has hints", hints), ("exported", exported)) if on]
            err = self._errors.get(key)
            return shown + (f"\n{', '.join(notes)}" if notes else "") + (f"\ncannot read: {err}" if err else "")
        if role == HAS_HINTS_ROLE:
            return self._status(key, path)[0]
        if role == EXPORTED_ROLE:
            return self._status(key, path)[1]
        if role == PATH_ROLE:
            return key
        return None

    def _thumbnail_ready(self, path: str, img: QImage, error: str, generation: int) -> None:
        self.loader.done(path)
        if generation != self.loader.generation:
            return
        if img.isNull():
            self._errors[path] = error or "unreadable"
            broken = QImage(self._placeholder)
            p = QPainter(broken)
            p.setPen(QPen(QColor(220, 80, 80), 3))
            m = broken.width() // 6
            p.drawLine(m, m, broken.width() - m, broken.height() - m)
            p.drawLine(broken.width() - m, m, m, broken.height() - m)
            p.end()
            img = broken
        self._thumbs[path] = img
        self._thumb_stamps[path] = file_stamp(path)
        while len(self._thumbs) > MEMORY_CACHE:
            self._thumb_stamps.pop(self._thumbs.popitem(last=False)[0], None)
        row = self._row.get(path, -1)
        if row >= 0:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def drop_changed_thumbnails(self, rows: range | None = None) -> None:
        """Thumbnails of files rewritten since they were made (a photo scanned again under its
        name) are made again; the disk cache knows the new file by its time and size. `rows`:
        only those (the ones on screen), else every thumbnail held."""
        if rows is None:
            sources = list(self._thumb_stamps)
        else:
            shown = [self._status(str(self.paths[r]), self.paths[r])[2] for r in rows if 0 <= r < len(self.paths)]
            sources = [s for s in shown if s in self._thumb_stamps]
        for source in [s for s in sources if file_stamp(s) != self._thumb_stamps[s]]:
            self._thumbs.pop(source, None)
            self._thumb_stamps.pop(source, None)
            self._errors.pop(source, None)
            row = self._row.get(source, -1)
            if row >= 0:
                self.dataChanged.emit(self.index(row), self.index(row), [Qt.ItemDataRole.DecorationRole])

    def refresh(self, path: Path | str | None = None) -> None:
        """Re-check the badges of one photo (or all)."""
        if path is None:
            self._flags.clear()
            if self.paths:
                self.dataChanged.emit(self.index(0), self.index(len(self.paths) - 1))
            return
        key = str(path)
        row = self._row.get(key, -1)
        if row < 0:  # the same file under another spelling (symlinks, relative paths)
            target = Path(path).resolve()
            row = next((i for i, p in enumerate(self.paths) if p.resolve() == target), -1)
        if row >= 0:
            self._flags.pop(str(self.paths[row]), None)
            self.dataChanged.emit(self.index(row), self.index(row))


def _folders(root: Path, recursive: bool, most: int) -> list[str]:
    """`root`, and if `recursive` its subfolders as find_photos goes through them (no hidden
    ones, no links to folders), breadth first, at most `most` in all."""
    out, queue = [str(root)], [str(root)] if recursive else []
    while queue and len(out) < most:
        folder = queue.pop(0)
        try:
            with os.scandir(folder) as it:
                subs = sorted(e.path for e in it if not e.name.startswith(".") and e.is_dir(follow_symlinks=False))
        except OSError:
            continue
        subs = subs[:most - len(out)]
        out += subs
        queue += subs
    return out


class FolderWatcher(QObject):
    """Says when photos may have come or gone in a folder (and, when the strip lists
    subfolders, in its subfolders): `changed` once things have been quiet for `delay_ms`, so
    that a scanner or a copy writing many files makes one re-listing. Files rewritten in
    place are not seen (no folder changes): see PhotoListModel.drop_changed_thumbnails."""

    changed = Signal()
    MAX_FOLDERS = 512  # inotify watches are a per-user resource; past this, the open folder alone

    def __init__(self, delay_ms: int = 700, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._watcher = QFileSystemWatcher(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._watcher.directoryChanged.connect(lambda _path: self._timer.start())
        self._timer.timeout.connect(self.changed)

    def watch(self, root: Path | None, recursive: bool = False) -> None:
        """Watch `root` (and, if `recursive`, its subfolders, photos in them or not yet: a
        scanner makes a roll's folder before its first scan) from now on; None: nothing."""
        want = [] if root is None else _folders(root, recursive, self.MAX_FOLDERS)
        have = set(self._watcher.directories())
        wanted = set(want)
        gone = [f for f in have if f not in wanted]
        if gone:
            self._watcher.removePaths(gone)
        new = [f for f in want if f not in have]
        if new:
            self._watcher.addPaths(new)  # a folder that cannot be watched is skipped

    def folders(self) -> list[str]:
        return self._watcher.directories()


class BadgeDelegate(QStyledItemDelegate):
    """Paints the thumbnail, then small badges: "H" has hints, "✓" exported."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802 - Qt override
        # Every item as wide as the strip's grid allows: with uniform item sizes the first item's
        # size is everyone's, and a short first name cut longer ones ("phot....png")
        view = self.parent()
        if isinstance(view, QListView) and view.gridSize().isValid():
            return QSize(view.gridSize().width() - 2 * view.spacing(), view.gridSize().height() - view.spacing())
        return super().sizeHint(option, index)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        badges = []
        if index.data(HAS_HINTS_ROLE):
            badges.append(("H", QColor(40, 110, 220)))
        if index.data(EXPORTED_ROLE):
            badges.append(("✓", QColor(30, 150, 70)))
        if not badges:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        f = QFont(painter.font())
        f.setBold(True)
        f.setPointSizeF(max(6.0, f.pointSizeF() * 0.8))
        painter.setFont(f)
        d = 18
        view = self.parent()
        icon = view.iconSize().width() if isinstance(view, QListView) else option.rect.width() - 12
        x = min(option.rect.right() - d - 2, option.rect.center().x() + icon // 2 - d + 6)  # the thumbnail's corner
        for text, colour in badges:
            r = QRect(x, option.rect.top() + 4, d, d)
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.setBrush(colour)
            painter.drawEllipse(r)
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
            x -= d + 3
        painter.restore()


class PhotoStrip(QListView):
    """A horizontal strip of thumbnails (icon mode, lazily laid out). A plain click (or
    Enter) asks to open a photo; Ctrl-, Shift- and Cmd-clicks only select."""

    open_requested = Signal(int)  # row

    def __init__(self, model: PhotoListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._selecting = False  # the last mouse press had a selection modifier
        self.clicked.connect(self._clicked)
        self.activated.connect(self._clicked)
        self.setModel(model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        t = model.thumb
        self.setIconSize(QSize(t, t))
        self.setGridSize(QSize(max(t + 20, 128), t + 26))  # room for a name under a small thumbnail
        self.setSpacing(4)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setItemDelegate(BadgeDelegate(self))
        self.setToolTip("Photos of the open folder: click (or Enter) to open; "
                        f"{'Cmd' if sys.platform == 'darwin' else 'Ctrl'}/Shift-click to select several "
                        "for Colorize All (the selected photos) or Paste Hints to Selected (right-click). "
                        "Badges: H has hints, ✓ exported.")
        # the grid's row, the scroll bar below it (when the photos do not fit) and the frame
        self.setMinimumHeight(t + 26 + self.horizontalScrollBar().sizeHint().height() + 2 * self.frameWidth() + 2)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(800, self.minimumHeight())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        mods = Qt.KeyboardModifier
        self._selecting = bool(event.modifiers() & (mods.ControlModifier | mods.ShiftModifier | mods.MetaModifier))
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        self._selecting = False
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            # Enter opens the current photo; on a Mac, Qt's list views do not activate on it
            self.open_requested.emit(self.currentIndex().row())
            event.accept()
            return
        super().keyPressEvent(event)

    def _clicked(self, index: QModelIndex) -> None:
        if index.isValid() and not self._selecting:
            self.open_requested.emit(index.row())

    def visible_rows(self) -> range:
        """The rows on screen (and one either side)."""
        step = max(1, self.gridSize().width())
        first = max(0, self.horizontalScrollBar().value() // step - 1)
        return range(first, first + self.viewport().width() // step + 3)

    def selected_paths(self) -> list[Path]:
        model = self.model()
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [model.paths[r] for r in rows] if isinstance(model, PhotoListModel) else []
