"""Hundreds of rapid edits while inference runs: the final shown result is the final hints' result."""
from __future__ import annotations

import random

import numpy as np
from PySide6.QtWidgets import QApplication


def test_rapid_random_edits_end_in_the_right_result(make_window, tiny_engine, photo, qtbot) -> None:  # noqa: ANN001
    win = make_window(tiny_engine)
    with qtbot.waitSignal(win.result_ready, timeout=20000):
        win.open_image(photo)
    rng = random.Random(7)
    drag = 0
    for step in range(250):
        hints = win.document.hints
        r = rng.random()
        if r < 0.3 or not hints:
            win.canvas.add_requested.emit(rng.random(), rng.random())
        elif r < 0.6:
            drag += 1
            i = rng.randrange(len(hints))
            win.canvas.select_requested.emit(i)
            for _ in range(rng.randint(1, 5)):
                win.canvas.move_requested.emit(i, rng.random(), rng.random(), False)
            win.canvas.drag_finished.emit(i)
        elif r < 0.7:
            win.select_hint(rng.randrange(len(hints)))
            win.colour_panel.choose((rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        elif r < 0.8:
            win.canvas.remove_requested.emit(rng.randrange(len(hints)), False)
        elif r < 0.9:
            win.act_undo.trigger()
        else:
            win.act_redo.trigger()
        if step % 10 == 0:
            QApplication.processEvents()  # let some results arrive mid-way, as a user would
    final = win.document.hints
    qtbot.waitUntil(lambda: win.shown_hints == final and not win.controller.busy, timeout=30000)
    fresh = tiny_engine.colorize(win.document.preview, final)
    assert np.array_equal(win._result, fresh)
    assert win.controller.pending_previews == 0
    # Undo all the way is exact, and redoing as many steps comes back.
    at = win.undo_stack.index()
    while win.undo_stack.canUndo():
        win.undo_stack.undo()
    assert win.document.hints == ()
    win.undo_stack.setIndex(at)
    assert win.document.hints == final
