"""The Help menu: the keyboard and mouse reference, and About.

The reference is built from the window's own actions, so it always shows the shortcuts
the app really has (on macOS, with its native key names).
"""
from __future__ import annotations

import html
import platform
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFrame, QMessageBox, QTextBrowser, QVBoxLayout

if TYPE_CHECKING:
    from .main_window import MainWindow

MOUSE = (
    ("Click an empty spot of the photo", "add a hint: the model's colour there, or the current colour (Preferences)"),
    ("Shift-drag on the photo", "paint a stroke: hints of one colour along the path, a hint size apart; "
                                "its hints move, recolour, resize and delete together"),
    ("Drag a hint", "move it (a stroke's: the whole stroke); the result follows live"),
    ("Right-click a hint", "delete it (a stroke's: the whole stroke)"),
    ("Ctrl-drag, Ctrl+right-click a stroke's hint", "move, delete that one hint alone (Cmd on a Mac)"),
    ("Enter or Insert (on the photo)", "add a hint in the middle of the part of the photo on screen"),
    ("Arrow keys (on the photo)", "nudge the selected hint or stroke a screen pixel; with Shift, ten; "
                                  "with no hint selected, pan the zoomed view"),
    ("Drag anywhere else, or middle-drag", "pan (once zoomed in)"),
    ("Mouse wheel", "zoom at the pointer"),
    ("Drag the before/after line", "move the split (split view)"),
    ("Click a suggestion or the gamut", "recolour the selected hint"),
    ("Double-click the saturation slider", "back to 100 %"),
    ("Click a photo in the strip, or Enter", "open it"),
    ("Ctrl/Shift-click in the strip (Cmd on a Mac)", "select several (for Colorize All and Paste Hints to Selected)"),
    ("Right-click the strip", "its menu"),
)


def shortcut_rows(win: MainWindow) -> list[tuple[str, str]]:
    """(action, its shortcuts) for every action of the window that has a shortcut."""
    rows = []
    for act in win.actions():
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts() if not k.isEmpty()]
        if keys:
            rows.append((act.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…"),
                         ", ".join(keys)))
    return rows


def _table(rows: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    cells = "".join(f"<tr><td>{html.escape(a)}</td><td>&nbsp;&nbsp;{html.escape(b)}</td></tr>" for a, b in rows)
    return f"<table>{cells}</table>"


def shortcuts_html(win: MainWindow) -> str:
    return f"<h3>Keyboard</h3>{_table(shortcut_rows(win))}<h3>Mouse, and keys on the photo</h3>{_table(MOUSE)}"


def about_html(win: MainWindow) -> str:
    from PySide6 import __version__ as pyside_version

    from .. import __version__

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:  # pragma: no cover - torch is a dependency
        torch_version = "not installed"
    engine = win.controller.engine
    model = "not loaded yet"
    if engine is not None:
        info = engine.info() if hasattr(engine, "info") else {}
        model = f"{info.get('name', '?')} on {info.get('device', '?')}"
    return (f"<h3>ColorStudio {html.escape(__version__)}</h3>"
            "<p>Brings black-and-white photographs into colour with a network you steer by clicking "
            "colour hints. It runs on this computer only: no photo leaves it.</p>"
            f"<p>Model: {html.escape(model)}<br>"
            f"Python {html.escape(platform.python_version())}, PySide6 {html.escape(pyside_version)}, "
            f"PyTorch {html.escape(torch_version)}, {html.escape(sys.platform)}</p>")


def _show(win: MainWindow, title: str, text: str, name: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.NoIcon, title, text, QMessageBox.StandardButton.Close, win)
    box.setObjectName(name)
    box.open()
    return box


def show_shortcuts(win: MainWindow) -> QDialog:
    """The reference in a dialog that scrolls: it is taller than a 1366 x 768 laptop screen,
    where a message box put its Close button below the screen's edge."""
    dlg = QDialog(win)
    dlg.setObjectName("shortcuts_help")
    dlg.setWindowTitle("Keyboard and mouse")
    text = QTextBrowser(dlg)
    text.setObjectName("shortcuts_text")
    text.setHtml(shortcuts_html(win))
    text.setFrameShape(QFrame.Shape.NoFrame)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
    buttons.rejected.connect(dlg.reject)
    layout = QVBoxLayout(dlg)
    layout.addWidget(text)
    layout.addWidget(buttons)
    doc = text.document()
    doc.setTextWidth(560)
    want = QSize(600, int(doc.size().height()) + buttons.sizeHint().height() + 48)
    screen = (win.screen() or QGuiApplication.primaryScreen()).availableGeometry()
    dlg.resize(min(want.width(), screen.width() - 40), min(want.height(), screen.height() - 80))
    dlg.open()
    return dlg


def show_about(win: MainWindow) -> QMessageBox:
    return _show(win, "About ColorStudio", about_html(win), "about_box")
