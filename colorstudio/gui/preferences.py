"""The preferences dialog: device, working size, model file, new-hint colour, export format.

Values persist in the settings file the command line shares (colorstudio.core.settings).
"""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ..core.engine import SHIPPED_MODELS, resources_dir
from ..core.settings import MAX_WORKING_SIZE, MIN_WORKING_SIZE, Settings


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch, no GPU
        return False


def _mps_available() -> bool:
    try:
        import torch

        mps = getattr(torch.backends, "mps", None)
        return bool(mps is not None and mps.is_available())
    except Exception:  # noqa: BLE001
        return False


def _missing(name: str) -> Path | None:
    """The file of shipped model `name` when it is not installed; None otherwise (or not shipped)."""
    if name not in SHIPPED_MODELS:
        return None
    path = resources_dir() / "models" / SHIPPED_MODELS[name]
    return None if path.exists() else path


def _explain_missing(combo: QComboBox, name: str) -> None:
    """The tooltip of the item just added for shipped model `name`, if it is not installed:
    where its file would go."""
    missing = _missing(name)
    if missing is not None:
        combo.setItemData(combo.count() - 1, f"Not part of this installation: a {missing.name} placed in "
                          f"{missing.parent} is used (or choose it as Other weights file)", Qt.ItemDataRole.ToolTipRole)


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("preferences")
        self._base = settings
        form = QFormLayout(self)

        self.device = QComboBox()
        self.device.addItem("Automatic (GPU if available)", "auto")
        self.device.addItem("CPU", "cpu")
        self.device.addItem("NVIDIA GPU (CUDA)" + ("" if _cuda_available() else " – not available"), "cuda")
        if _mps_available():
            self.device.addItem("Apple GPU (MPS)", "mps")
        self._select(self.device, settings.device)
        if self.device.currentIndex() < 0 and settings.device:
            self.device.addItem(settings.device, settings.device)
            self._select(self.device, settings.device)
        self.device.setToolTip("Where the network runs. A GPU makes export and large photos faster.")
        form.addRow("Device:", self.device)

        self.working_size = QSpinBox()
        self.working_size.setRange(MIN_WORKING_SIZE, MAX_WORKING_SIZE)  # what the settings file allows
        self.working_size.setSingleStep(32)
        self.working_size.setSuffix(" px")
        self.working_size.setValue(settings.working_size)
        self.working_size.setToolTip("Long side of the image on which hints are spread and colour is predicted "
                                     "(a model with a native size runs its network at that size). Larger: finer "
                                     "colour detail, slower. The result always has the photo's full resolution.")
        form.addRow("Working size:", self.working_size)

        self.model = QComboBox()
        for name, label in (("default", "Default (fast)"), ("quality", "Quality (slower, finer)")):
            self.model.addItem(label + (" – not installed" if _missing(name) else ""), name)
            _explain_missing(self.model, name)
        self.model.addItem("Other weights file…", "file")
        self.model_file = QLineEdit()
        self.model_file.setPlaceholderText("a .pt file from colorstudio train")
        self.model_file.setToolTip("A weights file saved by colorstudio train (or the published SIGGRAPH 2017 "
                                   "user-guided colorization weights, .pth)")
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Choose a compatible weights file")
        self.browse.clicked.connect(self._browse)
        if settings.model in SHIPPED_MODELS:
            self._select(self.model, settings.model)
        else:
            self._select(self.model, "file")
            self.model_file.setText(settings.model)
        self.model.currentIndexChanged.connect(self._model_kind_changed)
        self.model.setToolTip("The network that colorizes: a shipped model or any compatible weights file")
        form.addRow("Model:", self.model)
        row = QHBoxLayout()
        row.addWidget(self.model_file, 1)
        row.addWidget(self.browse)
        form.addRow("", row)
        self._model_kind_changed()

        self.export_model = QComboBox()
        self.export_model.addItem("The model above", "")
        for name, label in (("quality", "Quality"), ("default", "Default (fast)")):
            self.export_model.addItem(label + (" – not installed" if _missing(name) else ""), name)
            _explain_missing(self.export_model, name)
        self._select(self.export_model, settings.export_model)
        self.export_model.setToolTip("The model that exports and batches use. Edit with the fast model and "
                                     "export with the quality model: the export then differs a little from "
                                     "the preview.")
        form.addRow("Export and batch with:", self.export_model)

        self.hint_colour = QComboBox()
        self.hint_colour.addItem("The model's most likely colour at that spot", "suggested")
        self.hint_colour.addItem("The current colour", "current")
        self._select(self.hint_colour, settings.hint_colour)
        self.hint_colour.setToolTip("Colour a hint gets when you click to add it")
        form.addRow("New hint colour:", self.hint_colour)

        self.on_leave = QComboBox()
        self.on_leave.addItem("Ask whether to save them", "ask")
        self.on_leave.addItem("Save them", "save")
        self._select(self.on_leave, settings.on_leave)
        self.on_leave.setToolTip("When another photo opens (Next Photo, the strip) while this one's hints are "
                                 "unsaved: ask each time, or save them (undo still works until the photo is left)")
        form.addRow("Unsaved hints on leaving a photo:", self.on_leave)

        self.export_format = QComboBox()
        for fmt, label in (("jpg", "JPEG"), ("png", "PNG (16-bit kept)"), ("tif", "TIFF (16-bit kept)")):
            self.export_format.addItem(label, fmt)
        self._select(self.export_format, settings.export_format)
        self.export_format.setToolTip("Default file type offered by Export "
                                      "(a 16-bit scan is offered TIFF instead of JPEG)")
        form.addRow("Export format:", self.export_format)

        self.jpeg_quality = QSpinBox()
        self.jpeg_quality.setRange(1, 100)
        self.jpeg_quality.setValue(settings.jpeg_quality)
        self.jpeg_quality.setToolTip("JPEG quality of exported photos (1–100)")
        form.addRow("JPEG quality:", self.jpeg_quality)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @staticmethod
    def _select(combo: QComboBox, data: str) -> None:
        i = combo.findData(data)
        if i >= 0:
            combo.setCurrentIndex(i)

    def _model_kind_changed(self, *_args: object) -> None:
        is_file = self.model.currentData() == "file"
        self.model_file.setEnabled(is_file)
        self.browse.setEnabled(is_file)

    def _browse(self) -> None:
        start = self.model_file.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose model weights", start,
                                              "Model weights (*.pt *.pth);;All files (*)")
        if path:
            self.model_file.setText(path)
            self._select(self.model, "file")

    def _accept(self) -> None:
        for combo in (self.model, self.export_model):
            missing = _missing(combo.currentData())
            if missing is not None:
                self.message.setText(f"<b>The {combo.currentData()} model is not installed</b> ({missing})")
                return
        if self.model.currentData() == "file":
            p = Path(self.model_file.text().strip()).expanduser()
            if not self.model_file.text().strip() or not p.is_file():
                self.message.setText(f"<b>No such model file:</b> {p}")
                return
            if str(p) != self._base.model:  # a new file is checked before it replaces the working model
                from ..core.checkpoint import load_model
                from ..core.errors import ColorStudioError

                try:
                    load_model(p)
                except (ColorStudioError, OSError) as exc:
                    self.message.setText(f"<b>Not a model this program can use:</b> {html.escape(str(exc))}")
                    return
        self.accept()

    def settings(self) -> Settings:
        """The settings as edited (unchanged fields kept)."""
        kind = self.model.currentData()
        model = str(Path(self.model_file.text().strip()).expanduser()) if kind == "file" else kind
        return self._base.updated(device=self.device.currentData(), working_size=self.working_size.value(),
                                  model=model, export_model=self.export_model.currentData(),
                                  hint_colour=self.hint_colour.currentData(), on_leave=self.on_leave.currentData(),
                                  export_format=self.export_format.currentData(),
                                  jpeg_quality=self.jpeg_quality.value())
