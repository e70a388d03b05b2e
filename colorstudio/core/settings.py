"""User preferences shared by the app and the command line, in one small JSON file.

Location: $COLORSTUDIO_SETTINGS if set, else the platform's per-user config folder
(~/.config/colorstudio/settings.json on Linux, %APPDATA%\\ColorStudio on Windows,
~/Library/Application Support/ColorStudio on macOS). A broken file never stops the
program: its values fall back to the defaults.

cache_dir() and log_dir() are the per-user folders for caches and logs (never the
install folder, which may be read-only): the same places QStandardPaths uses, without
importing Qt here.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .fileio import atomic_write_text


@dataclass(frozen=True)
class Settings:
    model: str = "default"
    device: str = "auto"
    working_size: int = 256
    max_megapixels: float = 250.0
    export_format: str = "jpg"
    jpeg_quality: int = 95
    hint_colour: str = "suggested"  # "suggested" (model's colour at the spot) or "current"
    export_model: str = ""  # model for export and batch; "" = same as `model`
    on_leave: str = "ask"  # unsaved hints when another photo opens: "ask" (Save / Discard / Cancel) or "save"

    def updated(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _user_dir(xdg: tuple[str, str], windows: tuple[str, str, str], mac: str) -> Path:
    """ColorStudio's folder of one kind in the user's profile, the platform's way.

    xdg (Linux and the rest): (environment variable, its default below the home folder);
    windows: (environment variable, its default below the home folder, subfolder below
    ColorStudio or ""); mac: the folder below ~/Library.
    """
    if sys.platform == "win32":
        var, default, sub = windows
        base = Path(os.environ.get(var) or Path.home().joinpath(*default.split("/"))) / "ColorStudio"
        return base / sub if sub else base
    if sys.platform == "darwin":
        return Path.home() / "Library" / mac / "ColorStudio"
    var, default = xdg
    return Path(os.environ.get(var) or Path.home().joinpath(*default.split("/"))) / "colorstudio"


def config_dir() -> Path:
    """Per-user config folder: ~/.config/colorstudio, %APPDATA%\\ColorStudio,
    ~/Library/Application Support/ColorStudio."""
    return _user_dir(("XDG_CONFIG_HOME", ".config"), ("APPDATA", "AppData/Roaming", ""), "Application Support")


def cache_dir() -> Path:
    """Per-user cache folder: ~/.cache/colorstudio, %LOCALAPPDATA%\\ColorStudio\\Cache, ~/Library/Caches/ColorStudio."""
    return _user_dir(("XDG_CACHE_HOME", ".cache"), ("LOCALAPPDATA", "AppData/Local", "Cache"), "Caches")


def data_dir() -> Path:
    """Per-user data folder: ~/.local/share/colorstudio, %LOCALAPPDATA%\\ColorStudio\\Data,
    ~/Library/Application Support/ColorStudio."""
    return _user_dir(("XDG_DATA_HOME", ".local/share"), ("LOCALAPPDATA", "AppData/Local", "Data"),
                     "Application Support")


def log_dir() -> Path:
    """Per-user log folder: ~/.local/state/colorstudio, %LOCALAPPDATA%\\ColorStudio\\Logs,
    ~/Library/Logs/ColorStudio."""
    return _user_dir(("XDG_STATE_HOME", ".local/state"), ("LOCALAPPDATA", "AppData/Local", "Logs"), "Logs")


def settings_path() -> Path:
    env = os.environ.get("COLORSTUDIO_SETTINGS")
    return Path(env) if env else config_dir() / "settings.json"


def _coerce(d: dict[str, Any]) -> Settings:
    base = Settings()
    kw: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name not in d:
            continue
        default = getattr(base, f.name)
        value = d[f.name]
        if isinstance(default, bool) or type(value) is bool:
            continue
        if isinstance(default, int) and isinstance(value, int):
            kw[f.name] = value
        elif isinstance(default, float) and isinstance(value, (int, float)):
            try:
                kw[f.name] = float(value)
            except OverflowError:  # an int too large for a float: keep the default
                continue
        elif isinstance(default, str) and isinstance(value, str):
            kw[f.name] = value
    s = replace(base, **kw)
    if s.working_size < MIN_WORKING_SIZE or s.working_size > MAX_WORKING_SIZE:
        s = replace(s, working_size=base.working_size)
    if not 0.01 <= s.max_megapixels <= 10_000:  # from 0.01 MP: a limit a message can state
        s = replace(s, max_megapixels=base.max_megapixels)
    if not 1 <= s.jpeg_quality <= 100:
        s = replace(s, jpeg_quality=base.jpeg_quality)
    # Values a hand edit (or a moved model file) can make unusable: each falls back on its own.
    if not DEVICE_NAMES.match(s.device.strip().lower()):
        s = replace(s, device=base.device)
    if s.hint_colour not in ("suggested", "current"):
        s = replace(s, hint_colour=base.hint_colour)
    if s.on_leave not in ("ask", "save"):
        s = replace(s, on_leave=base.on_leave)
    if s.export_format not in ("jpg", "png", "tif"):  # what Preferences offers
        s = replace(s, export_format=base.export_format)
    if not s.model.strip():  # a model file that went missing is kept: loading it says so, and where it was set
        s = replace(s, model=base.model)
    return s


MIN_WORKING_SIZE, MAX_WORKING_SIZE = 16, 4096
# The device names core.device.resolve_device takes (kept here, where no torch is imported).
DEVICE_NAMES = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def load_settings(path: Path | None = None) -> Settings:
    p = path or settings_path()
    try:
        data = json.loads(p.read_text("utf-8-sig"))  # a BOM, as Windows editors write one, is no error
    except (OSError, ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return Settings()
    return _coerce(data) if isinstance(data, dict) else Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings atomically. A link is followed (a settings file kept with one's
    dotfiles stays theirs), and keys this version does not know are kept for the one that does."""
    p = (path or settings_path()).resolve()
    p.parent.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {}
    try:
        old = json.loads(p.read_text("utf-8-sig"))
        if isinstance(old, dict):
            record = {k: v for k, v in old.items() if k not in {f.name for f in fields(Settings)}}
    except (OSError, ValueError, RecursionError):
        pass
    atomic_write_text(p, json.dumps({**asdict(settings), **record}, indent=2) + "\n")
