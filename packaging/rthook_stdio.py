"""PyInstaller runtime hook: make sure a windowed ColorStudio has somewhere to report errors.

A windowed (no console) build on Windows starts with sys.stdout and sys.stderr set to
None, so the command line's one-line error messages would vanish. Before the app's own
code runs, this hook
  1. on Windows, when the executable was given arguments (command-line use), attaches
     to the console of the program that started it (cmd.exe, PowerShell) and writes
     there;
  2. otherwise (double-clicked, or no parent console) sends anything written to
     stdout/stderr to a per-user log file, created only when something is written:
       Windows  %LOCALAPPDATA%\\ColorStudio\\Logs\\colorstudio.log
       macOS    ~/Library/Logs/ColorStudio/colorstudio.log
       Linux    $XDG_STATE_HOME/colorstudio/colorstudio.log (~/.local/state/...)
Never next to the executable: the install folder may be read-only. Streams that exist
(a Linux or macOS build started from a terminal) are left alone.
Standard library only: it runs before torch or Qt are imported, so their failures are
reported too.
"""
import io
import os
import sys
import time

_MAX_LOG_BYTES = 1 << 20


def _log_path():
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return os.path.join(base, "ColorStudio", "Logs", "colorstudio.log")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Logs", "ColorStudio", "colorstudio.log")
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "colorstudio", "colorstudio.log")


class _LazyLog(io.TextIOBase):
    """A text stream that opens (and, past 1 MiB, rotates) the log file on first write.

    It has no file descriptor: fileno() raises io.UnsupportedOperation, as for any
    stream without one.
    """

    encoding = "utf-8"
    errors = "backslashreplace"

    def __init__(self, path):
        super().__init__()
        self.path = path
        self._file = None
        self._failed = False

    def _open(self):
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            if os.path.exists(self.path) and os.path.getsize(self.path) > _MAX_LOG_BYTES:
                os.replace(self.path, self.path + ".1")
            self._file = open(self.path, "a", encoding="utf-8", errors="backslashreplace")
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            self._file.write(f"--- {stamp} {' '.join(sys.argv)}\n")
        except OSError:
            self._failed = True
        return self._file

    def write(self, text):
        if self._file is None and (self._failed or self._open() is None):
            return len(text)
        n = self._file.write(text)
        self._file.flush()
        return n

    def flush(self):
        if self._file is not None:
            self._file.flush()

    def writable(self):
        return True


def _attach_parent_console():
    """Windows: write to the console of the shell that started us. True on success."""
    try:
        import ctypes

        if not ctypes.windll.kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
            return False
        if sys.stdout is None:
            sys.stdout = open("CONOUT$", "w", encoding="utf-8", errors="backslashreplace", buffering=1)
        if sys.stderr is None:
            sys.stderr = open("CONOUT$", "w", encoding="utf-8", errors="backslashreplace", buffering=1)
        return True
    except Exception:  # noqa: BLE001 - any failure: fall back to the log file
        return False


def _ensure_stdio():
    if sys.stdout is not None and sys.stderr is not None:
        return
    if sys.platform == "win32" and len(sys.argv) > 1 and _attach_parent_console():
        return
    log = _LazyLog(_log_path())
    if sys.stdout is None:
        sys.stdout = log
    if sys.stderr is None:
        sys.stderr = log


_ensure_stdio()
