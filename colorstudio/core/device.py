"""Choosing the compute device: "auto" (CUDA, then Apple MPS, then CPU), "cpu", "cuda", "cuda:N", "mps"."""
from __future__ import annotations

import torch

from .errors import DeviceError
from .settings import DEVICE_NAMES


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    if isinstance(name, torch.device):  # checked as its name is: "cuda" without a GPU says so
        name = str(name)
    if name is None:
        name = "auto"
    if not isinstance(name, str):
        raise TypeError(f"device must be a string such as 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps', got {type(name).__name__}")
    key = name.strip().lower()
    if not DEVICE_NAMES.match(key):
        raise DeviceError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps")
    if key == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if key.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} requested but no CUDA GPU is available (try --device cpu)")
        if ":" in key and int(key.split(":")[1]) >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} does not exist: {torch.cuda.device_count()} CUDA GPU(s) found")
        return torch.device(key)
    if key == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("device 'mps' requested but Apple MPS is not available (try --device cpu)")
    return torch.device(key)
