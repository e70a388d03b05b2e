"""Colorize all (or the selected) photos of the open folder, through core.batch.run_batch.

The run happens in a BatchThread; a non-modal progress dialog shows the count, the
current file and the time left, and Cancel stops after the current photo. The report
(core.batch.REPORT_NAME) goes into the output folder. At the end the photos that failed
are listed with their reasons; the others are done.

The options of the last run are kept in QSettings ("batch/..."): the dialog starts from
them, and the window's "exported" badges ask core.batch.output_path where they put a photo.
The output folder, name pattern, format and quality are kept per photo folder: two rolls
from one camera share file names (IMG_0001), and one roll's outputs must never pass for the
other's; and going back to a roll finds its outputs where its own run put them. A folder never
batched starts from the last run's pattern, format and quality.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import SIGNAL, SLOT, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from ..core.batch import REPORT_NAME, BatchOptions, BatchResult, output_is_current, run_batch
from ..core.errors import ColorStudioError
from ..core.fileio import photo_digest
from .workers import BatchThread


def _output_key(input_root: Path, name: str = "output_dir") -> str:
    """The settings key of an option (output_dir, pattern, format, quality) last used for the photos of `input_root`."""
    return f"batch/{name}_of/{photo_digest(input_root)}"


def _remembered(s: QSettings, input_root: Path, name: str, default: Any) -> Any:
    """The option `name` of the last run of `input_root`'s photos, else of the last run (any folder's)."""
    key = _output_key(input_root, name)
    return s.value(key) if s.contains(key) else s.value(f"batch/{name}", default)


def _quality(value: Any) -> int:
    try:
        return min(100, max(1, int(value)))
    except (TypeError, ValueError):  # a hand-edited settings value
        return 95


def remember_options(options: BatchOptions) -> None:
    """Keep a run's output options: the next dialog starts from them, and badges follow them."""
    s = QSettings()
    for name, value in (("pattern", options.pattern), ("format", options.format), ("quality", options.quality)):
        s.setValue(f"batch/{name}", value)  # the defaults for a folder never batched
        if options.input_root is not None:
            s.setValue(_output_key(options.input_root, name), value)
    if options.input_root is not None:
        s.setValue(_output_key(options.input_root), str(options.output_dir))


def remembered_options(input_root: Path) -> BatchOptions | None:
    """The last run's output options for photos under `input_root`; None before any run of them."""
    s = QSettings()
    out = str(s.value(_output_key(input_root), "") or "")
    if not out:
        return None
    try:
        return BatchOptions(output_dir=Path(out), pattern=str(_remembered(s, input_root, "pattern", "{stem}.{ext}")),
                            format=str(_remembered(s, input_root, "format", "") or ""),
                            quality=_quality(_remembered(s, input_root, "quality", 95)), input_root=input_root)
    except ColorStudioError:  # a hand-edited or outdated settings value
        return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


class BatchDialog(QDialog):
    """Options of a batch run: output folder, name pattern, format, quality, scope, redo."""

    DONE_CHECK_MOST = 5000  # photos looked at for "done already" (a few file times each)

    def __init__(self, input_root: Path, n_all: int, n_selected: int, max_pixels: int,
                 parent: QWidget | None = None, photos: list[Path] | None = None,
                 selected: list[Path] | None = None) -> None:
        super().__init__(parent)
        self._photos, self._selected_photos = list(photos or []), list(selected or [])
        self.setWindowTitle("Colorize Photos")
        self.setObjectName("batch_dialog")
        self.input_root = input_root
        self.max_pixels = max_pixels  # the preferences' size limit, as for opening a photo
        s = QSettings()
        form = QFormLayout(self)
        self.all = QRadioButton(f"All {n_all} photos of the folder" if n_all != 1 else "The folder's one photo")
        self.selected = QRadioButton(f"The {n_selected} selected photos" if n_selected != 1 else "The selected photo")
        self.selected.setEnabled(n_selected > 0)
        (self.selected if n_selected > 1 else self.all).setChecked(True)
        form.addRow("Colorize:", self.all)
        form.addRow("", self.selected)
        self.output = QLineEdit(str(s.value(_output_key(input_root), "") or input_root.parent / f"{input_root.name}-color"))
        self.output.setToolTip("Where the colorized copies go (never the photos' own folder)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.output, 1)
        row.addWidget(browse)
        form.addRow("Output folder:", row)
        self.pattern = QLineEdit(str(_remembered(s, input_root, "pattern", "{stem}.{ext}")))
        self.pattern.setToolTip("File name of each output: {stem} is the photo's name without extension, "
                                "{ext} the format's extension, {name} the photo's whole file name; "
                                "e.g. {stem}_color.{ext}")
        form.addRow("File names:", self.pattern)
        self.format = QComboBox()
        for data, label in (("", "Same as the photo"), ("jpg", "JPEG"), ("png", "PNG"), ("tif", "TIFF"),
                            ("webp", "WebP")):
            self.format.addItem(label, data)
        i = self.format.findData(str(_remembered(s, input_root, "format", "") or ""))
        self.format.setCurrentIndex(max(0, i))
        form.addRow("Format:", self.format)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(_quality(_remembered(s, input_root, "quality", 95)))
        self.quality.setToolTip("JPEG / WebP quality")
        form.addRow("Quality:", self.quality)
        shown = QLabel("Each photo's own, as saved with its hints (100 % if none)")
        shown.setObjectName("batch_saturation")
        shown.setToolTip("Each output looks like its photo's preview: the saturation set in the window for "
                         "that photo is saved with its hints")
        form.addRow("Saturation:", shown)
        self.overwrite = QCheckBox("Redo photos that were already exported")
        self.overwrite.setToolTip("Off: photos whose output exists are skipped, so a cancelled run resumes; "
                                  "a photo hinted or changed since its output was written is redone")
        form.addRow("", self.overwrite)
        self.done_note = QLabel("")
        self.done_note.setObjectName("batch_done_note")
        self.done_note.setWordWrap(True)
        form.addRow(self.done_note)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        form.addRow(self.message)
        # How many of the photos are done already, for the options as they stand
        self._done_timer = QTimer(self)
        self._done_timer.setSingleShot(True)
        self._done_timer.setInterval(300)
        self._done_timer.timeout.connect(self._show_done)
        for signal in (self.output.textChanged, self.pattern.textChanged, self.format.currentIndexChanged,
                       self.overwrite.toggled, self.all.toggled):
            signal.connect(lambda *_a: self._done_timer.start())
        self._show_done()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Colorize")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _show_done(self) -> None:
        """'N of them are done already': they are skipped, unless Redo is ticked."""
        photos = self._photos if self.all.isChecked() else self._selected_photos
        text = ""
        if photos and not self.validate():
            options = self.options()
            looked = photos[:self.DONE_CHECK_MOST]
            done = sum(1 for p in looked if _output_current(p, options))
            if done:
                some = f" of the first {len(looked)}" if len(looked) < len(photos) else ""
                text = (f"{done}{some} are done already: they are redone (Redo is ticked)" if self.overwrite.isChecked()
                        else f"{done}{some} are done already and will be skipped (tick Redo to do them again)")
        self.done_note.setText(text)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Output folder", self.output.text())
        if d:
            self.output.setText(d)

    def validate(self) -> str:
        """Why the options cannot run ("" when they can)."""
        if not self.output.text().strip():
            return "Choose an output folder."
        out = Path(self.output.text().strip()).expanduser()
        if not out.is_absolute():  # it would be relative to wherever the app was started, not to the photos
            return (f"Give the output folder's full path (such as {self.input_root.parent / out}), "
                    "or choose it with Browse…")
        if _inside(out, self.input_root):
            return "Choose an output folder outside the photos' folder: the originals are never written to."
        try:
            self.options()
        except ColorStudioError as exc:  # the pattern, as core.batch checks it
            return str(exc)
        return ""

    def _accept(self) -> None:
        problem = self.validate()
        if problem:
            self.message.setText(f"<b>{escape(problem)}</b>")
            return
        self.accept()

    def options(self) -> BatchOptions:
        """The chosen options (ColorStudioError when they are invalid; see validate)."""
        return BatchOptions(output_dir=Path(self.output.text().strip()).expanduser(), pattern=self.pattern.text(),
                            format=self.format.currentData(), quality=self.quality.value(),
                            overwrite=self.overwrite.isChecked(), input_root=self.input_root,
                            max_pixels=self.max_pixels)


def _output_current(photo: Path, options: BatchOptions) -> bool:
    try:
        return output_is_current(photo, options)
    except (OSError, ValueError):
        return False


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class BatchRun(QObject):
    """One batch run: its thread and its progress dialog (non-modal: the app stays usable)."""

    finished = Signal(object)  # list of BatchResult (empty on a failure to start)
    photo_finished = Signal(object)  # one BatchResult, as each photo is done, skipped or failed

    def __init__(self, paths: list[Path], options: BatchOptions, engine_provider: Callable[[], Any],
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.total = len(paths)
        self.results: list[BatchResult] = []
        self.report_path = Path(options.output_dir) / REPORT_NAME
        self.failure_box: QMessageBox | None = None
        self.thread = BatchThread(paths, options, engine_provider, run_batch, report_path=self.report_path,
                                  parent=self)
        self.progress = QProgressDialog("Starting…", "Cancel", 0, max(1, self.total), parent)
        self.progress.setObjectName("batch_progress")
        self.progress.setWindowTitle("Colorizing photos")
        self.progress.setWindowModality(Qt.WindowModality.NonModal)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.setMinimumDuration(0)
        self.progress.setMinimumWidth(420)
        # QProgressDialog's own answer to Cancel hides it at once, while the current photo is still
        # being colorized: the dialog stays up saying it is stopping, and closes when the thread ends.
        QObject.disconnect(self.progress, SIGNAL("canceled()"), self.progress, SLOT("cancel()"))
        self.progress.canceled.connect(self.cancel)
        # Escape, once Cancel has gone, rejects the dialog (hides it) without canceled(): back it comes
        self.progress.rejected.connect(lambda: QTimer.singleShot(0, self, self._show_while_stopping))
        self.thread.progress.connect(self._progress)
        self.thread.finished_with.connect(self._done)
        self.thread.failed.connect(self._failed)
        self._worked = 0  # photos worked on (not skipped) ...
        self._busy = 0.0  # ... and the seconds they took, between progress reports
        self._last_report = time.monotonic()

    def start(self) -> None:
        self.progress.show()
        self.thread.start()

    def cancel(self) -> None:
        self.thread.cancel()
        self.progress.setLabelText("Stopping after the current photo…")
        self.progress.setCancelButton(None)
        QTimer.singleShot(0, self, self._show_while_stopping)  # its title bar's close button closes it after canceled()

    def _show_while_stopping(self) -> None:
        if self.running and not self.progress.isVisible():
            self.progress.show()

    @property
    def running(self) -> bool:
        return self.thread.isRunning()

    def _progress(self, done: int, total: int, current: str, last: BatchResult | None) -> None:
        now = time.monotonic()
        if last is not None:
            self.results.append(last)
            self.photo_finished.emit(last)  # the strip shows each result as it comes
            if last.status != "skipped":  # skipped photos take no time: they would skew the estimate (as the CLI's)
                self._worked += 1
                self._busy += now - self._last_report
        self._last_report = now
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)
        if self.thread.cancelled:
            return
        left = f" – about {_duration(self._busy / self._worked * (total - done))} left" if self._worked else ""
        self.progress.setLabelText(f"{done} of {total} done{left}\n{Path(current).name}")

    def _close_progress(self) -> None:
        # QProgressDialog emits canceled() when it closes: that is not the user's Cancel.
        self.progress.canceled.disconnect(self.cancel)
        self.progress.close()

    def _done(self, results: list[BatchResult]) -> None:
        self.thread.wait()
        self._close_progress()
        self.results = list(results)
        failed = [r for r in results if r.status == "failed"]
        done = sum(1 for r in results if r.status == "done")
        skipped = sum(1 for r in results if r.status == "skipped")
        parts = [f"{done} colorized", f"{skipped} skipped (already exported)", f"{len(failed)} failed"]
        if self.thread.cancelled:
            parts.append(f"{self.total - len(results)} not started")
        text = ", ".join(parts) + "."

        parent = self.parent() if isinstance(self.parent(), QWidget) else None
        if failed:
            box = QMessageBox(QMessageBox.Icon.Warning, "Colorize photos", text, QMessageBox.StandardButton.Ok, parent)
            box.setObjectName("batch_failures")
            shown = "\n".join(f"{r.input.name}: {r.error}" for r in failed[:5])
            more = f"\n… and {len(failed) - 5} more (see Show Details)" if len(failed) > 5 else ""
            others = "; the others were done" if done or skipped else ""
            box.setInformativeText(f"These photos failed{others}:\n{shown}{more}\n\n"
                                   f"Report: {self.report_path}")
            box.setDetailedText("\n".join(f"{r.input}: {r.error}" for r in failed))
            box.open()
            self.failure_box = box
        if parent is not None and hasattr(parent, "statusBar"):
            what = "Batch cancelled" if self.thread.cancelled else "Batch finished"
            parent.statusBar().showMessage(f"{what}: {text} Report: {self.report_path}", 15000)
        self.finished.emit(self.results)

    def _failed(self, message: str) -> None:
        self.thread.wait()
        self._close_progress()
        parent = self.parent() if isinstance(self.parent(), QWidget) else None
        QMessageBox.critical(parent, "Colorize photos", f"The batch could not run: {message}")
        self.finished.emit([])
