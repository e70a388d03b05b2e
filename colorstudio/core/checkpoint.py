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
import re
import warnings
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
    if p.is_dir():
        raise ModelFileError(f"{p}: is a folder, not a model file")
    if not p.is_file():
        raise ModelFileError(f"{p}: no such model file")
    if p.stat().st_size == 0:
        raise ModelFileError(f"{p}: model file is empty")
    _check_zip(p)
    try:
        with warnings.catch_warnings():  # torch warns on odd pickle protocols: the error below says enough
            warnings.simplefilter("ignore")
            data = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own text advises re-running with weights_only=False: never pass that on to a user.
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:
            raise ModelFileError(
                f"{p}: refused: the file holds code or objects, not just weights (it refers to {found.group(1)}); "
                "it was not loaded"
            ) from None
        raise ModelFileError(f"{p}: not a readable model file (corrupt, or not a model file)") from None
    except Exception as exc:  # noqa: BLE001 - the safe unpickler fails in many ways on junk (IndexError, KeyError...)
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{p}: not a readable model file (corrupt or truncated: {msg[:200]})") from None
    if not isinstance(data, dict):
        raise ModelFileError(f"{p}: not a model file (expected a dictionary of weights)")
    return data


def _check_zip(p: Path) -> None:
    """A model file is a zip archive (torch.save's format); torch reads its members without checking
    their checksums, so a damaged file (a bad download, a failing disk) would load and colour
    wrongly. Every member's CRC is checked first: milliseconds for a few MB."""
    if not zipfile.is_zipfile(p):
        return  # the legacy format: torch.load says what is wrong with it
    try:
        with zipfile.ZipFile(p) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelFileError(f"{p}: not a readable model file (corrupt or truncated: {_first_line(exc)})") from None
    if bad is not None:
        raise ModelFileError(f"{p}: corrupt model file (a checksum does not match, in {bad}); "
                             "download or copy it again") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _expected_state(config: ModelConfig, source: str) -> dict[str, torch.Tensor]:
    """Names and shapes of the weights of a network of `config`, built on the meta device.

    Nothing is allocated, so a config claiming absurd widths cannot exhaust memory
    before the weights are checked against it.
    """
    try:
        with torch.device("meta"):
            return ColorNet(config).state_dict()
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        raise ModelFileError(f"{source}: invalid model config ({_first_line(exc)})") from None


def _checked_state(state: dict[Any, Any], expected: dict[str, torch.Tensor], source: str,
                   what: str) -> dict[str, torch.Tensor]:
    """`state` if it has exactly the names and shapes of `expected`, else ModelFileError.

    BatchNorm batch counters missing from files of older PyTorch versions are filled in
    (as torch itself does for old checkpoints); they play no part in inference.
    """
    state = dict(state)
    for key in expected:
        if key not in state and key.endswith(".num_batches_tracked"):
            state[key] = torch.zeros((), dtype=torch.long)
    missing = sorted(str(k) for k in set(expected) - set(state))
    unexpected = sorted(str(k) for k in set(state) - set(expected))
    if missing or unexpected:
        raise ModelFileError(f"{source}: {what} (missing keys {missing[:5]}, unexpected keys {unexpected[:5]})")
    for key, ref in expected.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise ModelFileError(f"{source}: {what} (weight {key!r} is not a tensor)")
        if tuple(value.shape) != tuple(ref.shape):
            raise ModelFileError(
                f"{source}: {what} (weight {key!r} has shape {tuple(value.shape)}, expected {tuple(ref.shape)})"
            )
    return state


def _check_runs(model: ColorNet, source: str) -> None:
    """One tiny forward pass: a file that loads but cannot run, or gives NaN, is refused now, not mid-export."""
    lum = torch.linspace(0.0, 100.0, 256).reshape(1, 1, 16, 16)
    ab = torch.zeros(1, 2, 16, 16)
    mask = torch.zeros(1, 1, 16, 16)
    ab[:, 0, 4:8, 4:8] = 40.0
    mask[:, :, 4:8, 4:8] = 1.0
    try:
        with torch.inference_mode():
            out, logits = model(lum, ab, mask)
    except (RuntimeError, ValueError, TypeError, ZeroDivisionError) as exc:
        raise ModelFileError(f"{source}: the network this file describes cannot run ({_first_line(exc)})") from None
    if not (bool(torch.isfinite(out).all()) and bool(torch.isfinite(logits).all())):
        raise ModelFileError(f"{source}: the network gives non-finite output (corrupt weights or config)")


def model_from_data(data: dict[str, Any], source: str) -> tuple[ColorNet, dict[str, Any]]:
    """Build the network a loaded model file describes."""
    if data.get("format") == FORMAT:
        if data.get("version") != VERSION:
            raise ModelFileError(f"{source}: unsupported model file version {data.get('version')!r}")
        try:
            config = ModelConfig.from_dict(data["config"])
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ModelFileError(f"{source}: invalid model config ({exc})") from None
        state = data.get("model")
        meta = dict(data.get("meta") or {}) if isinstance(data.get("meta") or {}, dict) else {}
        what = "weights do not fit the network they describe"
    elif all(isinstance(k, str) for k in data) and "model1.0.weight" in data and "model_out.0.weight" in data:
        config, state, meta = SIGGRAPH17, data, {"source": "published SIGGRAPH 2017 weights"}
        what = "not the SIGGRAPH 2017 user-guided colorization network"
    else:
        raise ModelFileError(f"{source}: not a ColorStudio model file nor the published SIGGRAPH 2017 weights")
    if not isinstance(state, dict):
        raise ModelFileError(f"{source}: model file has no weights")
    expected = _expected_state(config, source)
    state = _checked_state(state, expected, source, what)
    try:
        model = ColorNet(config)
        cast = {k: v.to(expected[k].dtype) for k, v in state.items()}
        model.load_state_dict(cast, strict=True)
    except (RuntimeError, KeyError, AttributeError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{source}: {what} ({_first_line(exc)})") from None
    model.eval()
    _check_runs(model, source)
    return model, meta


def load_model(path: str | os.PathLike[str]) -> tuple[ColorNet, dict[str, Any]]:
    """Load a ColorStudio model file or the published SIGGRAPH 2017 weights (.pth state dict)."""
    data = read_model_file(path)
    return model_from_data(data, str(path))
