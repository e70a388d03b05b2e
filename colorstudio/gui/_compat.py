"""Work-arounds for binding bugs, each detected at run time and applied only where present."""
from __future__ import annotations

import ctypes
import gc
import sys

_GUARDED = False


def guard_none_refcount() -> bool:
    """Keep None alive under PySide6 builds that drop a reference to it on every void call.

    Seen with PySide6 6.12 on CPython 3.11: each call of a C++ method returning void
    (widget.update(), timer.start(), processEvents(), ...) decrements None's reference
    count once too often, so after some thousands of calls the interpreter aborts with
    "Fatal Python error: none_dealloc". CPython 3.12+ makes None immortal (a huge fixed
    reference count), which is why the bug is invisible there; this does the same for
    older interpreters, and only when a probe shows the leak. Returns True if applied.
    """
    global _GUARDED
    if _GUARDED:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):
        return False  # None is immortal there, or a debug build we should not poke at
    from PySide6.QtCore import QObject

    probe = QObject()
    calls = 64
    before = sys.getrefcount(None)
    for _ in range(calls):
        probe.setObjectName("probe")  # a void C++ method
    lost = before - sys.getrefcount(None)
    if lost < calls // 2:
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
    _GUARDED = True
    return True


_FROZEN = False


def freeze_startup_objects() -> None:
    """Move the objects alive after start-up (torch, numpy, Qt wrappers) out of the collector's sight.

    A full garbage collection walks every tracked object; with torch loaded that is
    hundreds of thousands and takes 100 ms or more: a visible stall of the GUI thread.
    Objects alive at start-up live for the whole session anyway, so after one collection
    they are frozen (gc.freeze) and later full collections only see newer objects.
    Done once per process.
    """
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.collect()
        gc.freeze()
