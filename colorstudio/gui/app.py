"""STAND-IN for the real GUI (issue 4), so the packaged app can be built and smoke-tested
end to end (Qt + torch + the bundled model). Drop this file in favour of the real
colorstudio/gui/app.py when merging; keep its contract:

    run_app(path, smoke_test=False) -> exit status
    smoke_test=True: open the window and the photo, wait for the first colorized result,
    print "smoke test ok", return 0. A missing or corrupt model: a dialog
    (QMessageBox.critical) normally; in smoke-test mode one line on stderr, return 1.
"""
from __future__ import annotations

import sys

import numpy as np


def run_app(path: str | None = None, smoke_test: bool = False) -> int:
    from PySide6.QtGui import QIcon, QImage, QPixmap
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox

    from ..core.engine import load_engine, resources_dir
    from ..core.errors import ColorStudioError
    from ..core.images import read_image

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ColorStudio")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "colorstudio.png")))
    win = QMainWindow()
    win.setWindowTitle("ColorStudio (packaging stand-in)")
    label = QLabel("Open a photo: colorstudio gui PHOTO")
    win.setCentralWidget(label)
    try:
        engine = load_engine()
        if path:
            rgb = np.ascontiguousarray(engine.colorize(read_image(path).pixels))
            if rgb.dtype != np.uint8:
                rgb = (rgb >> 8).astype(np.uint8)
            h, w, _ = rgb.shape
            label.setPixmap(QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()))
    except ColorStudioError as exc:
        if smoke_test:
            print(f"colorstudio: error: {exc}", file=sys.stderr)
        else:
            QMessageBox.critical(None, "ColorStudio", f"ColorStudio cannot start.\n\n{exc}")
        return 1
    win.show()
    if smoke_test:
        app.processEvents()
        win.close()
        print("smoke test ok", flush=True)
        return 0
    return app.exec()
