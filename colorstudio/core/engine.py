"""The colorization engine: image + hints -> colour image.

colorize() predicts chroma at a working size (long side 256 by default), upsamples the
predicted chroma to the full resolution with a guided filter that follows the photo's
own lightness, and joins it to the original L: the output keeps every detail of the scan
and changes chroma only.

A model file may name its native size: the long side of the whole photos it was trained
on (see `Engine.native_size`). A network's colour prior belongs to the scale at which it
saw objects, so the engine then runs it at that size; the hint fill at the working size,
which follows dense hints more closely, takes over as hints are added.
"""
from __future__ import annotations

import hashlib
import numbers
import os
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import load_model
from .color import lightness
from .color_torch import lab_to_srgb_keep_lightness
from .device import resolve_device
from .errors import ModelFileError
from .hints import Hint, encode_hints, validate_hints
from .model import ColorNet, ab_bin_centres
from .propagate import Pyramid, affinity_pyramid, edge_aware_fill
from .upsample import guided_coefficients

DEFAULT_WORKING_SIZE = 256
SHIPPED_MODELS = {"default": "default.pt", "quality": "quality.pt"}
_TILE_PIXELS = 1 << 21
_KEEP_FULL_PIXELS = 4_000_000  # the engine keeps a photo's full-resolution L up to this size


def resources_dir() -> Path:
    """The folder of shipped resources (models, icons), in a source tree or a packaged app."""
    env = os.environ.get("COLORSTUDIO_RESOURCES")
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    here = Path(__file__).resolve()
    for cand in (here.parents[2] / "resources", here.parents[1] / "resources"):
        if (cand / "models").is_dir():
            return cand
    return here.parents[2] / "resources"


def resolve_model_path(model: str | os.PathLike[str] | None) -> Path:
    """None or a shipped model name ("default", "quality") -> its file; else the path itself."""
    if model is None:
        model = "default"
    if isinstance(model, str) and model in SHIPPED_MODELS:
        path = resources_dir() / "models" / SHIPPED_MODELS[model]
        if not path.exists():
            raise ModelFileError(f"{path}: the shipped {model!r} model is missing from this installation")
        return path
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a path or one of {sorted(SHIPPED_MODELS)}, got {type(model).__name__}")
    return Path(model)


def check_image(image: Any) -> np.ndarray:
    """Validate an input image array: uint8/uint16, (H, W), (H, W, 3) or (H, W, 4)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype.kind == "u" and image.dtype.itemsize in (1, 2) and not image.dtype.isnative:
        image = image.astype(image.dtype.newbyteorder("="))  # big-endian 16-bit (raw scanner data, FITS)
    if image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"image must be uint8 or uint16, got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        pass
    elif image.ndim != 2:
        raise ValueError(f"image must be shaped (H, W), (H, W, 3) or (H, W, 4) (alpha is not used), "
                         f"got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image must have at least one pixel, got shape {image.shape}")
    return image


def working_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """Size at which chroma is predicted: long side `size`, never larger than the image."""
    long_side = max(height, width)
    if long_side <= size:
        return height, width
    s = size / long_side
    return max(1, round(height * s)), max(1, round(width * s))


@dataclass(frozen=True)
class Prediction:
    """Network output at the working size."""

    lum: np.ndarray  # (h, w) L, Lab units
    ab: np.ndarray  # (h, w, 2) Lab units
    features: np.ndarray  # (c, h4, w4) input of the class head (see ColorNet.forward_features)
    feature_shape: tuple[int, int]  # (h, w) of the network input the features came from
    fill: np.ndarray | None = None  # (h, w, 2) edge-aware propagation of the hints, Lab units
    density: np.ndarray | None = None  # (h, w) hint density in [0, 1]


@dataclass(frozen=True)
class _Photo:
    """What the engine derives from a photo alone, whatever the hints."""

    key: tuple[Any, ...]
    lum_full: np.ndarray | None  # (H, W) L at full resolution; None for big scans
    lum: np.ndarray  # (h, w) L at the working size
    tensor: torch.Tensor  # (1, 1, h', w') the same, padded to multiples of 8, on the device
    pyramid: Pyramid | None  # affinity_pyramid(tensor), for models that take the hint fill
    native: _Photo | None = None  # the same inputs at the model's native size, when smaller


@dataclass(frozen=True)
class _Pass:
    """One network pass, cropped to its input's size: float tensors on the device."""

    ab: torch.Tensor  # (2, h, w) before the engine's gain
    features: torch.Tensor  # (c, h4, w4)
    fill: torch.Tensor  # (2, h, w)
    density: torch.Tensor  # (h, w)

    def resized(self, h: int, w: int) -> _Pass:
        def up(x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x[None], size=(h, w), mode="bilinear", align_corners=False)[0]

        return _Pass(up(self.ab), self.features, up(self.fill), up(self.density[None])[0])


def _setting(name: str, value: Any, top: float, rule: str) -> float:
    """An engine setting from the model file or the caller: a real number in [0, top]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= top:
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return float(value)


def _pixel_size(name: str, value: Any, rule: str, zero_ok: bool = False) -> int:
    """A size in pixels from the model file or the caller: an integer >= 16 (or 0, where that means none)."""
    if isinstance(value, bool) or not isinstance(value, int) or not (value >= 16 or (zero_ok and value == 0)):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return value


def _check_saturation(saturation: Any) -> None:
    if not isinstance(saturation, (int, float)) or not np.isfinite(saturation) or saturation < 0:
        raise ValueError(f"saturation must be a finite number >= 0, got {saturation!r}")


def _lightness_of(image: np.ndarray) -> np.ndarray:
    """Full-resolution L of a checked image (gray, RGB or RGBA: alpha plays no part)."""
    return lightness(image[..., :3] if image.ndim == 3 else image)


class Engine:
    """A loaded model on a device, ready to colorize.

    Thread-safe: forward passes are serialised by a lock.
    """

    def __init__(self, model: ColorNet, device: torch.device | str = "cpu", working_size: int = DEFAULT_WORKING_SIZE,
                 meta: dict[str, Any] | None = None, name: str = "model", vividness: float | None = None,
                 trust_hints: float | None = None, hint_correction: float | None = None,
                 native_size: int | None = None) -> None:
        _pixel_size("working size", working_size, "an integer >= 16")
        self.device = resolve_device(device)
        # channels_last: oneDNN's (and cuDNN's) fast convolution layout, ~1.3x on a laptop CPU.
        self.model = model.to(self.device).eval().to(memory_format=torch.channels_last)
        self.working_size = working_size
        self.meta = dict(meta or {})
        self.name = name
        vivid = self.meta.get("vividness", 1.0) if vividness is None else vividness
        self.vividness = _setting("vividness", vivid, 4.0, "a number in [0, 4]")
        self.vividness_fade = _setting("vividness_fade", self.meta.get("vividness_fade", 0.5), 1.0,
                                       "a number in [0, 1]")
        trust = self.meta.get("trust_hints", 0.0) if trust_hints is None else trust_hints
        self.trust_hints = _setting("trust_hints", trust, 1e6, "a number >= 0 (0: off)")
        corr = self.meta.get("hint_correction", 1.0) if hint_correction is None else hint_correction
        self.hint_correction = _setting("hint_correction", corr, 1.0, "a number in [0, 1]")
        # native_size: the long side, in pixels, of the photos the network learnt from (0: none).
        # A larger working size shows it objects bigger than it knows them, and its colour
        # prior suffers: the network then runs at its native size, and with n hints the hint
        # fill at the working size makes up n / (n + scale_blend) of the fill under its correction.
        native = self.meta.get("native_size", 0) if native_size is None else native_size
        self.native_size = _pixel_size("native_size", native, "0 (none) or an integer >= 16", zero_ok=True)
        self.scale_blend = _setting("scale_blend", self.meta.get("scale_blend", 25.0), 1e6, "a number >= 0")
        self.device_note = ""  # why the engine runs elsewhere than asked (see load_engine), or ""
        self._lock = threading.Lock()
        self._cache_key: tuple[Any, ...] | None = None
        self._cache: Prediction | None = None
        self._photo_cache: _Photo | None = None
        self._centres = ab_bin_centres()

    # -- network ------------------------------------------------------------------------
    def _photo(self, image: np.ndarray, size: int, lum_full: np.ndarray | None = None) -> _Photo:
        """The hint-independent inputs for `image` at working size `size`, kept for the last
        photo: live editing re-runs the same photo with new hints."""
        # The whole image is hashed: a sampled digest would mistake two images that differ
        # only between the samples for one another (blake2b hashes ~1 GB/s).
        digest = hashlib.blake2b(memoryview(np.ascontiguousarray(image)).cast("B"), digest_size=16).hexdigest()
        key = (image.shape, image.dtype.str, digest, size, self.native_size)
        with self._lock:
            photo = self._photo_cache
            if photo is not None and photo.key == key:
                return photo
        if lum_full is None:
            lum_full = _lightness_of(image)
        lum, tensor, pyramid = self._inputs(lum_full, size)
        native = None
        if self.native_size and max(lum.shape) > self.native_size:
            native = _Photo(key, None, *self._inputs(lum_full, self.native_size))
        keep_full = lum_full.size <= _KEEP_FULL_PIXELS  # a preview-sized photo; big scans are not held
        photo = _Photo(key, lum_full if keep_full else None, lum, tensor, pyramid, native)
        with self._lock:
            self._photo_cache = photo
        return photo

    def _inputs(self, lum_full: np.ndarray, size: int) -> tuple[np.ndarray, torch.Tensor, Pyramid | None]:
        """L at long side `size` (read-only), as a padded tensor on the device, and its affinity pyramid."""
        h, w = working_shape(*lum_full.shape, size)
        lum = lum_full if (h, w) == lum_full.shape else cv2.resize(lum_full, (w, h), interpolation=cv2.INTER_AREA)
        lum = np.array(lum, dtype=np.float32)  # a copy: predictions share it, read-only
        t_l = torch.from_numpy(lum.copy())[None, None]
        lum.flags.writeable = False
        ph, pw = (-h) % 8, (-w) % 8
        if ph or pw:
            t_l = F.pad(t_l, (0, pw, 0, ph), mode="replicate")
        t_l = t_l.to(self.device)
        with torch.inference_mode():
            pyramid = affinity_pyramid(t_l) if self.model.config.fill_inputs else None
        return lum, t_l, pyramid

    def predict(self, image: np.ndarray, hints: Sequence[Hint] = (), working_size: int | None = None,
                lum_full: np.ndarray | None = None) -> Prediction:
        """Run the network on `image` with `hints` at the working size (cached for repeated calls)."""
        image = check_image(image)
        photo = self._photo(image, self._size_of_call(working_size), lum_full)
        return self._predict(photo, validate_hints(hints))

    def _size_of_call(self, working_size: Any) -> int:
        """A call's working size: the engine's, or one given (checked like the engine's own)."""
        if working_size is None:
            return self.working_size
        return _pixel_size("working_size", working_size, "an integer >= 16 (or None: the engine's)")

    def _hint_tensors(self, photo: _Photo, hints: tuple[Hint, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """Hint chroma (1, 2, h', w') and mask (1, 1, h', w') at one of a photo's sizes, padded, on the device."""
        h, w = photo.lum.shape
        hint_ab, mask = encode_hints(hints, h, w)
        ph, pw = photo.tensor.shape[-2] - h, photo.tensor.shape[-1] - w
        t_ab = torch.from_numpy(hint_ab)[None]
        t_m = torch.from_numpy(mask)[None]
        if ph or pw:
            t_ab = F.pad(t_ab, (0, pw, 0, ph))
            t_m = F.pad(t_m, (0, pw, 0, ph))
        return t_ab.to(self.device), t_m.to(self.device)

    def _forward(self, photo: _Photo, hints: tuple[Hint, ...]) -> _Pass:
        """The network on one of a photo's sizes; call with the lock held, in inference mode."""
        h, w = photo.lum.shape
        out, features, fill, density = self.model.forward_features(
            photo.tensor, *self._hint_tensors(photo, hints), pyramid=photo.pyramid)
        return _Pass(out[0, :, :h, :w].float(), features[0].float(), fill[0, :, :h, :w].float(),
                     density[0, 0, :h, :w].float())

    def _predict(self, photo: _Photo, hints: tuple[Hint, ...]) -> Prediction:
        key = (photo.key, hints, self.vividness, self.trust_hints, self.hint_correction, self.scale_blend)
        with self._lock:
            if key == self._cache_key and self._cache is not None:
                return self._cache
        h, w = photo.lum.shape
        n = len(hints)
        with self._lock, torch.inference_mode():
            if photo.native is None:
                res, feature_shape = self._forward(photo, hints), (h, w)
            else:
                res, feature_shape = self._forward(photo.native, hints).resized(h, w), photo.native.lum.shape
                if n and photo.pyramid is not None:
                    # The hint fill at the working size, sharper than the native pass's, takes
                    # over a share n / (n + scale_blend) of it; the network's correction stays.
                    fill, density = edge_aware_fill(photo.tensor, *self._hint_tensors(photo, hints),
                                                    pyramid=photo.pyramid)
                    share = n / (n + self.scale_blend)
                    base = torch.lerp(res.fill, fill[0, :, :h, :w].float(), share)
                    res = _Pass(res.ab - res.fill + base, res.features, base,
                                torch.lerp(res.density, density[0, 0, :h, :w].float(), share))
            out = res.fill + (res.ab - res.fill) * self._correction_gain(n, res.density)
            pred = Prediction(
                lum=photo.lum,
                ab=np.ascontiguousarray(out.permute(1, 2, 0).cpu().numpy()),
                features=np.ascontiguousarray(res.features.cpu().numpy()),
                feature_shape=tuple(feature_shape),
                fill=np.ascontiguousarray(res.fill.permute(1, 2, 0).cpu().numpy()),
                density=res.density.cpu().numpy(),
            )
            self._cache_key, self._cache = key, pred
        return pred

    # -- public API ---------------------------------------------------------------------
    def colorize(self, image: np.ndarray, hints: Sequence[Hint] = (), *, working_size: int | None = None,
                 saturation: float = 1.0) -> np.ndarray:
        """Colorize `image` following `hints`.

        image: (H, W) grayscale or (H, W, 3) RGB, uint8 or uint16; only its lightness is used.
        Returns (H, W, 3) sRGB of the input's dtype, with the input's lightness.
        saturation scales the predicted chroma (1.0: as predicted).
        """
        image = check_image(image)
        _check_saturation(saturation)
        hints = validate_hints(hints)
        big = image.shape[0] * image.shape[1] > _KEEP_FULL_PIXELS  # its full-resolution L is not kept
        lum_full = _lightness_of(image) if big else None
        photo = self._photo(image, self._size_of_call(working_size), lum_full)
        pred = self._predict(photo, hints)
        return compose(photo.lum_full if lum_full is None else lum_full, pred, image.dtype, saturation)

    def colorize_region(self, image: np.ndarray, hints: Sequence[Hint], region: tuple[int, int, int, int],
                        size: tuple[int, int] | None = None, *, full: np.ndarray | None = None,
                        saturation: float = 1.0) -> np.ndarray:
        """One part of a photo's colorization, e.g. the part a zoomed-in view shows.

        region: (left, top, width, height) in pixels of `full`, the full-resolution photo
        (default: `image`). The colours are those of colorize(image, hints) (so `image` may
        be a reduced copy of `full`, the one being edited live); the lightness, and with it
        every detail, is `full`'s. size: (width, height) at which to render the region
        (default: its own size; smaller for a view that shows it reduced).
        Returns (height, width, 3) sRGB of `full`'s dtype.
        """
        image = check_image(image)
        full = image if full is None else check_image(full)
        _check_saturation(saturation)
        full_h, full_w = full.shape[:2]
        if not (isinstance(region, (tuple, list)) and len(region) == 4
                and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in region)):
            raise TypeError(f"region must be 4 integers (left, top, width, height), got {region!r}")
        left, top, width, height = (int(v) for v in region)
        if width < 1 or height < 1 or left < 0 or top < 0 or left + width > full_w or top + height > full_h:
            raise ValueError(f"region {tuple(region)} is not inside the {full_w} x {full_h} photo")
        out_w, out_h = (width, height) if size is None else size
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in (out_w, out_h)):
            raise ValueError(f"size must be 2 positive integers (width, height), got {size!r}")
        pred = self.predict(image, hints)
        part = full[top:top + height, left:left + width]
        if (out_w, out_h) != (width, height):
            shrink = out_w * out_h < width * height
            part = cv2.resize(np.ascontiguousarray(part), (int(out_w), int(out_h)),
                              interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        fx, fy = out_w / width, out_h / height
        window = (round(top * fy), round(left * fx), max(1, round(full_h * fy)), max(1, round(full_w * fx)))
        return compose(_lightness_of(part), pred, full.dtype, float(saturation), window=window)

    def suggest(self, image: np.ndarray, hints: Sequence[Hint], x: float, y: float, k: int = 8) -> list[tuple[int, int, int]]:
        """The k most likely sRGB colours at normalised point (x, y), most likely first (at most k:
        colours too close to one already listed are left out, so a nearly white spot may give few)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"k must be a positive integer, got {k!r}")
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        k = int(k)
        for name, v in (("x", x), ("y", y)):
            if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.integer, np.floating)):
                raise TypeError(f"{name} must be a number in [0, 1], got {v!r}")
            if not 0.0 <= float(v) <= 1.0:  # also NaN
                raise ValueError(f"{name} must be a number in [0, 1], got {v!r}")
        x, y = float(x), float(y)
        pred = self.predict(image, hints)
        h, w = pred.lum.shape
        row, col = min(h - 1, int(y * h)), min(w - 1, int(x * w))
        _c, h4, w4 = pred.features.shape
        fh, fw = pred.feature_shape
        pr = min(h4 - 1, int(y * fh / 4)), min(w4 - 1, int(x * fw / 4))
        with self._lock, torch.inference_mode():
            f = torch.from_numpy(pred.features[:, pr[0], pr[1]].copy())[None].to(self.device)
            p = torch.softmax(self.model.class_logits_at(f).float()[0], dim=0).cpu().numpy()
        lum = float(pred.lum[row, col])
        from .color import ab_to_rgb

        # The regression output at the point first: the colour the photo shows there now.
        candidates = [tuple(pred.ab[row, col])] + [tuple(self._centres[i]) for i in np.argsort(-p)]
        return distinct_colours((ab_to_rgb(lum, float(a), float(b)) for a, b in candidates), k)

    def _correction_gain(self, n_hints: int, density: torch.Tensor) -> torch.Tensor | float:
        """How much of the network's correction to the hint fill is kept, per pixel.

        vividness boosts the network's own colour where the user gave none (regression to
        the mean leaves automatic colours pale); the boost shrinks by vividness_fade per
        hint added (stored in the model file, default 0.5) and fades near each hint.
        trust_hints (n0) scales the correction by n0 / (n0 + n): with dense hints the
        edge-aware propagation of the user's colours is trusted more. hint_correction
        scales it by a constant once there is a hint: where the network's correction and
        the propagation disagree, their blend is wrong less badly than either alone.
        """
        gain: torch.Tensor | float = 1.0
        if self.vividness != 1.0:
            gain = 1.0 + (self.vividness - 1.0) * self.vividness_fade ** n_hints * (1.0 - density)
        if self.trust_hints:
            gain = gain * (self.trust_hints / (self.trust_hints + n_hints))
        if n_hints and self.hint_correction != 1.0:
            gain = gain * self.hint_correction
        return gain

    def info(self) -> dict[str, Any]:
        extra = {"device_note": self.device_note} if self.device_note else {}
        return {"name": self.name, "device": str(self.device), "working_size": self.working_size, **extra, **self.meta}


def distinct_colours(colours: Iterable[Sequence[int]], k: int) -> list[tuple[int, int, int]]:
    """The first `k` of `colours` (sRGB) that differ from each one kept before by more than 12
    (|dR| + |dG| + |dB|): suggestions that look the same are listed once. Reads `colours` lazily."""
    out: list[tuple[int, int, int]] = []
    for rgb in colours:
        if len(out) >= k:
            break
        if all(sum(abs(u - v) for u, v in zip(rgb, q)) > 12 for q in out):
            out.append((int(rgb[0]), int(rgb[1]), int(rgb[2])))
    return out


def _bilinear_taps(n_out: int, n_in: int, start: int = 0, stop: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Indices and weights of pixel-centre-aligned bilinear resampling from n_in to n_out samples."""
    stop = n_out if stop is None else stop
    pos = ((torch.arange(start, stop, dtype=torch.float64) + 0.5) * (n_in / n_out) - 0.5).clamp(0, n_in - 1)
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp_max(n_in - 1)
    return i0, i1, (pos - i0).float()


def compose(lum_full: np.ndarray, pred: Prediction, dtype: np.dtype, saturation: float = 1.0,
            window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Full-resolution L + working-size chroma -> (H, W, 3) sRGB of `dtype`.

    The guided-filter coefficients are resampled tile by tile, so a large scan never
    needs more than a few full-resolution float planes at once. window: (top, left,
    full_height, full_width) when `lum_full` is only the part of a (full_height,
    full_width) photo whose top-left pixel is (top, left).
    """
    height, width = lum_full.shape
    top_row, left, full_h, full_w = (0, 0, height, width) if window is None else window
    coef = torch.from_numpy(guided_coefficients(pred.lum / 100.0, pred.ab)).permute(2, 0, 1).contiguous()
    h, w = coef.shape[1:]
    x0, x1, wx = _bilinear_taps(full_w, w, left, left + width)
    top = float(np.iinfo(dtype).max)
    out = np.empty((height, width, 3), dtype=dtype)
    rows = max(1, _TILE_PIXELS // max(1, width))
    with torch.inference_mode():
        for r0 in range(0, height, rows):
            r1 = min(height, r0 + rows)
            if window is None and (h, w) == (height, width):  # the network ran at full size: nothing to resample
                c = coef[:, r0:r1]
            else:
                y0, y1, wy = _bilinear_taps(full_h, h, top_row + r0, top_row + r1)
                c = coef[:, y0] * (1 - wy)[None, :, None] + coef[:, y1] * wy[None, :, None]
                c = c[:, :, x0] * (1 - wx) + c[:, :, x1] * wx
            lum = torch.from_numpy(lum_full[r0:r1])
            g = lum / 100.0
            a = c[0] * g + c[2]
            b = c[1] * g + c[3]
            if saturation != 1.0:
                a, b = a * saturation, b * saturation
            for ch, plane in enumerate(lab_to_srgb_keep_lightness(lum, a, b)):
                codes = plane.mul_(top).round_().clamp_(0, top)
                out[r0:r1, :, ch] = codes.to(torch.int32 if dtype == np.uint16 else torch.uint8).numpy()
    return out


def load_engine(model: str | os.PathLike[str] | None = None, device: str = "auto",
                working_size: int = DEFAULT_WORKING_SIZE, vividness: float | None = None,
                trust_hints: float | None = None, hint_correction: float | None = None,
                native_size: int | None = None) -> Engine:
    """Load a model file (default: the shipped model) onto a device ("auto", "cpu", "cuda", "cuda:N", "mps").

    With "auto", a GPU that fails a test run is passed over for the CPU; engine.device_note says why.
    """
    dev = resolve_device(device)
    path = resolve_model_path(model)
    name = model if isinstance(model, str) and model in SHIPPED_MODELS else (Path(path).stem if model else "default")

    def make(on: torch.device) -> Engine:
        net, meta = load_model(path)
        settings = dict(vividness=vividness, trust_hints=trust_hints, hint_correction=hint_correction,
                        native_size=native_size)
        try:
            return Engine(net, on, working_size, meta=meta, name=str(name), **settings)
        except ValueError as exc:
            Engine(net, on, working_size, meta={}, name=str(name), **settings)  # the caller's values: their error
            raise ModelFileError(f"{path}: invalid setting in the model file: {exc}") from None

    if dev.type == "cpu" or not (isinstance(device, str) and device.strip().lower() == "auto"):
        return make(dev)
    # "auto" picked a GPU: it must also work. A GPU the installed torch has no kernels for
    # (an older card), or one without free memory, fails its first pass; then use the CPU.
    try:
        engine = make(dev)
        engine.colorize(np.zeros((16, 16), np.uint8))
        return engine
    except Exception as exc:  # noqa: BLE001 - any failure of the GPU means: not this GPU
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        engine = make(torch.device("cpu"))
        engine.device_note = f"the GPU ({dev}) failed a test run, so the CPU is used: {reason}"
        return engine
