"""Error types of the project: each message says which file and what was wrong."""
from __future__ import annotations


class ColorStudioError(ValueError):
    """Base class for errors a user can act on (bad file, bad setting)."""


class ImageReadError(ColorStudioError):
    """An image file could not be read (missing, empty, corrupt, too large)."""


class ImageWriteError(ColorStudioError):
    """An output image could not be written."""


class HintsFileError(ColorStudioError):
    """A hints sidecar is not valid."""


class ModelFileError(ColorStudioError):
    """A model file is missing, corrupt, unsafe or of an unknown architecture."""


class DeviceError(ColorStudioError):
    """The requested compute device does not exist or is not available."""
