"""Model files: weights saved together with the config that built them, loaded safely.

A checkpoint is `{"format": "colorstudio.model", "version": 1, "config": {...},
"model": state_dict, "meta": {...}}` written with torch.save and read with
`torch.load(weights_only=True)`: a model file can hold tensors and plain values only,
never code. The published SIGGRAPH 2017 weights (a bare state dict of the original
network) are recognised by their key set and loaded into the same network class.
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from .errors import ModelFileError
from .fileio import atomic_write_bytes
from .model import SIGGRAPH17, ColorNet, ModelConfig

FORMAT = "colorstudio.model"
VERSION = 1


def save_model(path: str | os.PathLike[str], model: ColorNet, meta: dict[str, Any] | None = None,
               half: bool = False, extra: dict[str, Any] | None = None) -> None:
    """Write a model file atomically. `half` stores float weights as fp16 (half the size)."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
             for k, v in model.state_dict().items()}
    payload: dict[str, Any] = {"format": FORMAT, "version": VERSION, "config": model.config.to_dict(),
                               "model": state, "meta": dict(meta or {})}
    if extra:
        payload.update(extra)
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


def read_model_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a model file's contents without running any code from it."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such model file")
    if p.stat().st_size == 0:
        raise ModelFileError(f"{p}: model file is empty")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsupported content"
        raise ModelFileError(f"{p}: refused: the file holds more than plain weights ({first[:200]})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError, TypeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{p}: not a readable model file (corrupt or truncated: {msg[:200]})") from None
    if not isinstance(data, dict):
        raise ModelFileError(f"{p}: not a model file (expected a dictionary of weights)")
    return data


def _siggraph17_keys() -> set[str]:
    return set(ColorNet(SIGGRAPH17).state_dict().keys())


def model_from_data(data: dict[str, Any], source: str) -> tuple[ColorNet, dict[str, Any]]:
    """Build the network a loaded model file describes."""
    if data.get("format") == FORMAT:
        if data.get("version") != VERSION:
            raise ModelFileError(f"{source}: unsupported model file version {data.get('version')!r}")
        try:
            config = ModelConfig.from_dict(data["config"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{source}: invalid model config ({exc})") from None
        state = data.get("model")
        meta = dict(data.get("meta") or {})
    elif all(isinstance(k, str) for k in data) and "model1.0.weight" in data and "model_out.0.weight" in data:
        config, state, meta = SIGGRAPH17, data, {"source": "published SIGGRAPH 2017 weights"}
        expected = _siggraph17_keys()
        got = set(data.keys())
        if got != expected:
            missing = sorted(expected - got)[:5]
            unexpected = sorted(got - expected)[:5]
            raise ModelFileError(
                f"{source}: not the SIGGRAPH 2017 user-guided colorization network "
                f"(missing keys {missing}, unexpected keys {unexpected})"
            )
    else:
        raise ModelFileError(f"{source}: not a ColorStudio model file nor the published SIGGRAPH 2017 weights")
    if not isinstance(state, dict):
        raise ModelFileError(f"{source}: model file has no weights")
    model = ColorNet(config)
    own = model.state_dict()
    try:
        cast = {k: v.to(own[k].dtype) if k in own and isinstance(v, torch.Tensor) else v for k, v in state.items()}
        model.load_state_dict(cast, strict=True)
    except (RuntimeError, KeyError, AttributeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelFileError(f"{source}: weights do not fit the network they describe ({first[:200]})") from None
    model.eval()
    return model, meta


def load_model(path: str | os.PathLike[str]) -> tuple[ColorNet, dict[str, Any]]:
    """Load a ColorStudio model file or the published SIGGRAPH 2017 weights (.pth state dict)."""
    data = read_model_file(path)
    return model_from_data(data, str(path))
