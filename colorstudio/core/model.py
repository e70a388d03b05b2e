"""The hint-conditioned colorization network.

The shape follows the user-guided colorization network of Zhang et al. 2017 ("Real-Time
User-Guided Image Colorization with Learned Deep Priors"): a U-Net whose encoder halves
the resolution three times, dilated middle blocks, transposed-convolution decoder with
skip connections, a regression head for ab and a classification head over quantised ab
bins. Widths and depths come from `ModelConfig`, so the published full-size network and
our small CPU models are the same code (and the same state-dict names).

Our own models add two inputs per pixel: an edge-aware propagation of the hints (see
`propagate.py`) and a hint-density map, and predict ab as a residual on top of that fill.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .propagate import Pyramid, edge_aware_fill

AB_BIN = 10.0
AB_GRID = 23  # 23 x 23 bins of 10 ab units, centres -110..110: 529 classes


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a ColorNet. Stored in every checkpoint."""

    widths: tuple[int, int, int, int] = (12, 24, 64, 128)
    depths: tuple[int, int, int, int, int, int, int] = (1, 1, 2, 2, 2, 2, 2)  # convs in model1..model7
    up_depths: tuple[int, int, int] = (1, 1, 1)  # convs in model8, model9, model10
    dilation: int = 2
    classes: int = AB_GRID * AB_GRID
    fill_inputs: bool = True  # extra inputs: edge-aware hint fill (ab) + hint density
    residual: bool = True  # predict ab as fill + correction
    # False: no full-resolution decoder level; the correction is predicted at half
    # resolution and upsampled onto the full-resolution fill (needs residual).
    full_res_decoder: bool = True
    l_cent: float = 50.0
    l_norm: float = 100.0
    ab_norm: float = 110.0
    name: str = "colorstudio"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        if not isinstance(d, dict):
            raise TypeError("model config must be a dict")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        cfg = cls(**kw)
        if len(cfg.widths) != 4 or len(cfg.depths) != 7 or len(cfg.up_depths) != 3:
            raise ValueError("model config needs 4 widths, 7 depths and 3 up_depths")
        if any(int(v) < 1 for v in (*cfg.widths, *cfg.depths, *cfg.up_depths, cfg.classes)):
            raise ValueError("model config values must be positive")
        if not cfg.full_res_decoder and not cfg.residual:
            raise ValueError("a model without the full-resolution decoder level must be residual")
        return cfg


SIGGRAPH17 = ModelConfig(
    widths=(64, 128, 256, 512), depths=(2, 2, 3, 3, 3, 3, 3), up_depths=(2, 1, 1),
    fill_inputs=False, residual=False, name="siggraph17",
)

PRESETS: dict[str, ModelConfig] = {
    # The previous default: narrow full-resolution levels and one conv per middle block
    # (256 px preview ~1/22 of the published network's time on a 2-core CPU).
    "fast": ModelConfig(widths=(8, 16, 64, 128), depths=(1, 1, 2, 2, 1, 1, 1), name="fast"),
    # The default model: `fast` without its full-resolution decoder level. The network's
    # correction to the (full-resolution) hint fill is smooth and predicted at half
    # resolution, and the first level is only computed where the encoder samples it
    # (256 px preview ~1/26 of the published network's time on a 2-core CPU).
    "lite": ModelConfig(widths=(8, 16, 64, 128), depths=(1, 1, 2, 2, 1, 1, 1), full_res_decoder=False, name="lite"),
    "small": ModelConfig(),
    "tiny": ModelConfig(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1, 1, 1, 1), up_depths=(1, 1, 1), name="tiny"),
    # The export model: the `small` shape with its 1/4- and 1/8-resolution levels widened
    # (3.2 M parameters); those levels carry the semantic prior that automatic colour needs,
    # and at low resolution the extra width costs little time.
    "quality": ModelConfig(widths=(12, 24, 96, 192), depths=(1, 1, 2, 2, 2, 2, 2), name="quality"),
    "siggraph17": SIGGRAPH17,
}


def _block(channels: list[int], dilation: int = 1, init_relu: bool = False, norm: bool = True,
           stride: int = 1) -> nn.Sequential:
    """Convs + ReLUs (+ BatchNorm); `stride` applies to the first conv."""
    layers: list[nn.Module] = [nn.ReLU(True)] if init_relu else []
    for i, (cin, cout) in enumerate(zip(channels[:-1], channels[1:])):
        layers.append(nn.Conv2d(cin, cout, 3, stride=stride if i == 0 else 1, padding=dilation, dilation=dilation))
        layers.append(nn.ReLU(True))
    if norm:
        layers.append(nn.BatchNorm2d(channels[-1]))
    return nn.Sequential(*layers)


def ab_bin_centres() -> np.ndarray:
    """(classes, 2) ab centres of the quantisation bins, Lab units."""
    g = (np.arange(AB_GRID) - AB_GRID // 2) * AB_BIN
    a, b = np.meshgrid(g, g, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=1).astype(np.float32)


def ab_to_bin(ab: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) ab -> (B, H, W) nearest bin index."""
    idx = torch.round(ab / AB_BIN).long().clamp(-(AB_GRID // 2), AB_GRID // 2) + AB_GRID // 2
    return idx[:, 0] * AB_GRID + idx[:, 1]


class ColorNet(nn.Module):
    """Hint-conditioned colorization network.

    forward(lum, hint_ab, mask) with lum (B, 1, H, W) L in [0, 100], hint_ab (B, 2, H, W)
    in Lab units, mask (B, 1, H, W) in {0, 1}; H and W multiples of 8.
    Returns (ab (B, 2, H, W) Lab units, class logits (B, classes, H/4, W/4)).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c1, c2, c3, c4 = config.widths
        d = config.depths
        dil = config.dilation
        cin = 4 + (3 if config.fill_inputs else 0)
        # Without the full-resolution decoder level only conv1[::2, ::2] is used: compute just that.
        self.model1 = _block([cin] + [c1] * d[0], stride=1 if config.full_res_decoder else 2)
        self.model2 = _block([c1] + [c2] * d[1])
        self.model3 = _block([c2] + [c3] * d[2])
        self.model4 = _block([c3] + [c4] * d[3])
        self.model5 = _block([c4] * (d[4] + 1), dilation=dil)
        self.model6 = _block([c4] * (d[5] + 1), dilation=dil)
        self.model7 = _block([c4] * (d[6] + 1))
        self.model8up = nn.Sequential(nn.ConvTranspose2d(c4, c3, 4, stride=2, padding=1))
        self.model3short8 = nn.Sequential(nn.Conv2d(c3, c3, 3, padding=1))
        self.model8 = _block([c3] * (config.up_depths[0] + 1), init_relu=True)
        self.model9up = nn.Sequential(nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1))
        self.model2short9 = nn.Sequential(nn.Conv2d(c2, c2, 3, padding=1))
        self.model9 = _block([c2] * (config.up_depths[1] + 1), init_relu=True)
        if config.full_res_decoder:
            self.model10up = nn.Sequential(nn.ConvTranspose2d(c2, c2, 4, stride=2, padding=1))
            self.model1short10 = nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1))
        layers10: list[nn.Module] = [nn.ReLU(True)]
        for i in range(config.up_depths[2]):
            layers10.append(nn.Conv2d(c2, c2, 3, padding=1))
            last = i == config.up_depths[2] - 1
            layers10.append(nn.LeakyReLU(0.2, True) if last else nn.ReLU(True))
        self.model10 = nn.Sequential(*layers10)  # at half resolution without the full-resolution level
        self.model_class = nn.Sequential(nn.Conv2d(c3, config.classes, 1))
        self.model_out = nn.Sequential(nn.Conv2d(c2, 2, 1), nn.Tanh())
        if config.residual:
            # Start as the propagation itself; training learns the correction.
            nn.init.zeros_(self.model_out[0].weight)
            nn.init.zeros_(self.model_out[0].bias)

    def network_inputs(self, lum: torch.Tensor, hint_ab: torch.Tensor, mask: torch.Tensor,
                       pyramid: Pyramid | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        parts = [(lum - cfg.l_cent) / cfg.l_norm, hint_ab / cfg.ab_norm, mask]
        fill = torch.zeros_like(hint_ab)
        if cfg.fill_inputs:
            fill, density = edge_aware_fill(lum, hint_ab, mask, pyramid=pyramid)
            parts += [fill / cfg.ab_norm, density]
        return torch.cat(parts, dim=1), fill

    def forward(self, lum: torch.Tensor, hint_ab: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, logits, _fill, _density = self.forward_parts(lum, hint_ab, mask)
        return out, logits

    def forward_parts(self, lum: torch.Tensor, hint_ab: torch.Tensor,
                      mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """forward() plus the hint fill (B, 2, H, W) and hint density (B, 1, H, W) it used."""
        out, features, fill, density = self.forward_features(lum, hint_ab, mask)
        return out, self.model_class(features), fill, density

    def forward_features(self, lum: torch.Tensor, hint_ab: torch.Tensor, mask: torch.Tensor,
                         pyramid: Pyramid | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Like forward_parts(), but returns the class head's input features (B, c3, H/4, W/4)
        instead of its logits: the head is a 1x1 convolution, so a caller that needs the
        distribution at a few points only (colour suggestions) applies it there, and the
        live preview does not pay for 529 output planes it never reads. pyramid: the
        photo's affinity_pyramid(lum), when the caller keeps it between calls."""
        cfg = self.config
        x, fill = self.network_inputs(lum, hint_ab, mask, pyramid)
        density = x[:, -1:] if cfg.fill_inputs else mask
        if self.model1[0].weight.is_contiguous(memory_format=torch.channels_last):
            x = x.contiguous(memory_format=torch.channels_last)
        conv1 = self.model1(x)
        conv2 = self.model2(conv1[:, :, ::2, ::2] if cfg.full_res_decoder else conv1)
        conv3 = self.model3(conv2[:, :, ::2, ::2])
        conv4 = self.model4(conv3[:, :, ::2, ::2])
        conv7 = self.model7(self.model6(self.model5(conv4)))
        # Skip connections are added in place into the fresh upsampled tensors (their
        # gradients do not need the values), saving a full-resolution temporary each.
        conv8 = self.model8(self.model8up(conv7).add_(self.model3short8(conv3)))
        conv9 = self.model9(self.model9up(conv8).add_(self.model2short9(conv2)))
        if cfg.full_res_decoder:
            conv10 = self.model10(self.model10up(conv9).add_(self.model1short10(conv1)))
            out = self.model_out(conv10) * cfg.ab_norm
        else:
            out = self.model_out(self.model10(conv9)) * cfg.ab_norm
            out = F.interpolate(out, size=fill.shape[-2:], mode="bilinear", align_corners=False)
        if cfg.residual:
            out = out + fill
        return out, conv8, fill, density

    def class_logits_at(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits (N, classes) from class-head features (N, c3) at N points."""
        head = self.model_class[0]
        return features.to(head.weight.dtype) @ head.weight[:, :, 0, 0].t() + head.bias


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
