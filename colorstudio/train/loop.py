"""The training loop: `colorstudio train`.

Single process on CPU by default, the GPU with mixed precision when there is one, and
several GPUs through `torchrun --nproc_per_node N -m colorstudio train ...` (DDP): the
same command, on a bigger machine.
"""
from __future__ import annotations

import argparse
import copy
import io
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..core.checkpoint import save_model
from ..core.fileio import atomic_write_bytes
from ..core.model import PRESETS, ColorNet, ModelConfig, ab_to_bin, count_parameters
from .data import BatchPlan, PhotoCache, build_cache, class_weights, draw_plan, realize_batch

DEFAULT_PRESET = "lite"  # the shipped default model's shape

TRAIN_FORMAT = "colorstudio.trainstate"


@dataclass
class TrainConfig:
    data: str = "../shared/data/train"
    out: str = "runs/model.pt"
    checkpoint: str = ""  # resumable state; default: <out>.state
    preset: str = ""  # "" = the --init model's architecture, else DEFAULT_PRESET
    cache_dir: str = ""
    cache_side: int = 144
    crop: int = 128
    # Photos are magnified by a random factor in this range before cropping. The training
    # photos have a 144 px short side; at the default 256 px working size objects appear
    # ~1.8x larger, so the range reaches that scale.
    scale_min: float = 1.0
    scale_max: float = 2.0
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    minutes: float = 0.0  # stop after this many minutes of this run (0: no limit)
    schedule_minutes: float = 0.0  # length of the cosine schedule (0: = minutes)
    steps: int = 0  # or a step-based schedule and limit
    ce_weight: float = 0.1
    # Regression loss: Huber with this threshold in Lab units, scaled so that errors beyond
    # it cost |error| / 10 whatever the threshold. 1 is nearly L1 (the per-pixel median);
    # a large threshold is nearly squared error (the mean), which is what PSNR rewards.
    huber_delta: float = 1.0
    # "huber" (above), or "log-mse": per photo, the log of its mean squared ab error, averaged
    # over the batch. The evaluation averages PSNR = -10 log10(MSE) over photos, so a nearly
    # gray photo spoiled by a confident wrong colour costs as much as a colourful photo
    # missed by far; the squared error of the whole batch would hardly see the former.
    reg_loss: str = "huber"
    # Share of the photos with hints whose colours get a random global look (saturation and
    # cast, see data.shift_colours) before their hints are drawn; 0: off.
    colour_shift: float = 0.0
    # Processes drawing batches (photos and their random crops, looks and hints) beside the
    # training loop; 0 draws them in the loop itself.
    workers: int = 0
    checkpoint_minutes: float = 5.0
    seed: int = 0
    resume: bool = False
    init: str = ""  # start from the weights of this model file (e.g. the shipped one)
    device: str = "auto"
    limit_photos: int = 0
    log_every: int = 10
    extra: dict[str, Any] = field(default_factory=dict)


def transfer_weights(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> int:
    """Copy the tensors of `state` into `model` by name; returns how many were used.

    With the same architecture this is a plain load. A tensor of the same shape is copied
    as is. A tensor from a narrower model (every dimension at most the new one's) goes
    into the leading channels, and the weights that read the new input channels start at
    zero, so the wider network computes at first exactly what the narrower one did and
    training only has to make use of the extra width. Anything else starts fresh.
    """
    own = model.state_dict()
    input_dim = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ConvTranspose2d):
            input_dim[f"{name}.weight"] = 0
        elif isinstance(module, torch.nn.Conv2d):
            input_dim[f"{name}.weight"] = 1

    def members(names: dict[str, torch.Tensor]) -> dict[str, set[str]]:
        """Module name -> the names of its tensors (a conv: weight, bias; a BatchNorm: more)."""
        out: dict[str, set[str]] = {}
        for n in names:
            module, _, leaf = n.rpartition(".")
            out.setdefault(module, set()).add(leaf)
        return out

    theirs, ours = members(state), members(own)
    loaded: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        target = own.get(key)
        if target is None or target.dim() != value.dim():
            continue
        module = key.rpartition(".")[0]
        if theirs[module] != ours.get(module):  # e.g. a BatchNorm where a conv is now
            continue
        if target.shape == value.shape:
            loaded[key] = value
            continue
        if any(v > t for v, t in zip(value.shape, target.shape)):
            continue
        grown = target.clone()
        dim = input_dim.get(key)
        if dim is not None:
            grown.narrow(dim, value.shape[dim], target.shape[dim] - value.shape[dim]).zero_()
        grown[tuple(slice(0, n) for n in value.shape)] = value.to(grown.dtype)
        loaded[key] = grown
    if not loaded:
        raise ValueError("the initial model shares no layer with this architecture")
    model.load_state_dict(loaded, strict=False)
    return len(loaded)


def get_lr(progress: float, base: float, step: int, warmup: int) -> float:
    """Cosine decay to 2% of `base` over progress in [0, 1], after a linear warm-up."""
    warm = min(1.0, (step + 1) / max(1, warmup))
    p = min(max(progress, 0.0), 1.0)
    return base * warm * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * p)))


REG_LOSSES = ("huber", "log-mse")
_LOG_MSE_FLOOR = 1.0  # Lab units squared: errors this small are below what 8-bit output shows


def _check_reg_loss(kind: str) -> None:
    if kind not in REG_LOSSES:
        raise ValueError(f"unknown regression loss {kind!r} (expected one of {', '.join(REG_LOSSES)})")


def regression_loss(out: torch.Tensor, ab: torch.Tensor, kind: str = "huber", huber_delta: float = 1.0) -> torch.Tensor:
    """The chroma regression term (see TrainConfig.huber_delta and reg_loss)."""
    _check_reg_loss(kind)
    if kind == "huber":
        return F.huber_loss(out, ab, delta=huber_delta) / (10.0 * huber_delta)
    per_photo = ((out - ab) ** 2).mean(dim=(1, 2, 3))  # log-mse
    return 0.1 * torch.log(per_photo + _LOG_MSE_FLOOR).mean()


def loss_terms(model: torch.nn.Module, lab: torch.Tensor, hint_ab: torch.Tensor, mask: torch.Tensor,
               weights: torch.Tensor, ce_weight: float, huber_delta: float = 1.0,
               reg_loss: str = "huber") -> tuple[torch.Tensor, torch.Tensor]:
    """The training loss and its detached terms (loss, regression, cross-entropy) as one tensor,
    left on the device: reading them waits for the device, so the loop reads them in bulk."""
    lum, ab = lab[:, :1], lab[:, 1:]
    out, logits = model(lum, hint_ab, mask)
    reg = regression_loss(out.float(), ab, reg_loss, huber_delta)
    target = ab_to_bin(F.avg_pool2d(ab, 4))
    ce = F.cross_entropy(logits.float(), target, weight=weights)
    loss = reg + ce_weight * ce
    return loss, torch.stack([loss, reg, ce]).detach()


def _draw_sources(cache: PhotoCache, cfg: TrainConfig, rng: np.random.Generator) -> tuple[torch.Tensor, BatchPlan]:
    """A batch's photos (uint8) and plan, for `realize_batch` on the training device."""
    idx, plan = draw_plan(len(cache), cache.side, cfg.batch, cfg.crop, rng, (cfg.scale_min, cfg.scale_max),
                          cfg.colour_shift)
    return torch.from_numpy(np.ascontiguousarray(cache.images[idx])), plan


class _BatchStream(torch.utils.data.IterableDataset):
    """Endless training batches (photos and plans, see `_draw_sources`), drawn in DataLoader worker processes.

    Each worker has its own generator, seeded from (seed, step, rank, worker), and opens the
    photo cache's memmap itself, so a worker started by spawn instead of fork does not get
    a pickled copy of the whole cache.
    """

    def __init__(self, cache: PhotoCache, cfg: TrainConfig, seed_key: tuple[int, ...]) -> None:
        self.path, self.shape = cache.path, cache.images.shape
        self.images = cache.images if cache.path is None else None
        self.cfg, self.seed_key = cfg, seed_key

    def __iter__(self):  # noqa: ANN204
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([*self.seed_key, info.id if info is not None else 0])
        images = self.images if self.images is not None else np.memmap(self.path, np.uint8, "r", shape=self.shape)
        cache = PhotoCache(images, self.path)
        while True:
            yield _draw_sources(cache, self.cfg, rng)


def _worker_batches(cache: PhotoCache, cfg: TrainConfig, seed_key: tuple[int, ...], pin: bool
                    ) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(_BatchStream(cache, cfg, seed_key), batch_size=None, num_workers=cfg.workers,
                                       pin_memory=pin, prefetch_factor=2)


def _select_device(name: str) -> torch.device:
    from ..core.device import resolve_device

    return resolve_device(name)


def _distributed() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    import torch.distributed as dist

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
    return dist.get_rank(), world, local


def _save_state(path: Path, model: ColorNet, opt: torch.optim.Optimizer, step: int, elapsed: float,
                schedule_s: float, cfg: TrainConfig, weights: torch.Tensor, log: list[dict[str, float]]) -> None:
    payload = {
        "format": TRAIN_FORMAT, "model": model.state_dict(), "optimizer": opt.state_dict(),
        "config": model.config.to_dict(), "step": step, "elapsed": elapsed, "schedule_s": schedule_s,
        "train": {k: v for k, v in asdict(cfg).items() if k != "extra"}, "class_weights": weights,
        "log": log[-2000:],
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def _check_out(out: Path) -> None:
    """The model file can be written, checked before any photo is read: a run must not fail at
    its first save, its training lost."""
    if out.is_dir():
        raise ValueError(f"--out {out}: is a folder; name the model file (e.g. {out / 'model.pt'})")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot create the folder {out.parent} ({exc.strerror or exc})") from None
    if not os.access(out.parent, os.W_OK):
        raise ValueError(f"--out {out}: the folder {out.parent} is not writable")


def train(cfg: TrainConfig, cache: PhotoCache | None = None, model_config: ModelConfig | None = None) -> dict[str, Any]:
    """Train (or resume) a model; returns a summary with the final step and losses."""
    if not 0 < cfg.scale_min <= cfg.scale_max <= 8:
        raise ValueError(f"scale range must satisfy 0 < MIN <= MAX <= 8, got {cfg.scale_min} {cfg.scale_max}")
    _check_reg_loss(cfg.reg_loss)
    if not cfg.huber_delta > 0:
        raise ValueError(f"the Huber threshold must be > 0, got {cfg.huber_delta}")
    if not 0.0 <= cfg.colour_shift <= 1.0:
        raise ValueError(f"the colour-shift share must be in [0, 1], got {cfg.colour_shift}")
    if cfg.workers < 0:
        raise ValueError(f"the number of batch workers must be >= 0, got {cfg.workers}")
    for name, value, least in (("--batch", cfg.batch, 1), ("--crop", cfg.crop, 16), ("--steps", cfg.steps, 0),
                               ("--limit-photos", cfg.limit_photos, 0)):
        if value < least:
            raise ValueError(f"{name} must be at least {least}, got {value}")
    for name, value in (("--minutes", cfg.minutes), ("--schedule-minutes", cfg.schedule_minutes)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be 0 or more, got {value}")
    if not cfg.minutes and not cfg.steps:
        raise ValueError("give --minutes N or --steps N")
    _check_out(Path(cfg.out))
    rank, world, _local = _distributed()
    device = _select_device(cfg.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())
    main = rank == 0
    out = Path(cfg.out)
    state_path = Path(cfg.checkpoint) if cfg.checkpoint else out.with_name(out.name + ".state")
    if cache is None:
        def load() -> PhotoCache:
            return build_cache(cfg.data, cfg.cache_dir or None, cfg.cache_side, limit=cfg.limit_photos or None,
                               progress=main)

        if world > 1:  # rank 0 decodes the photos once; the others then open its cache
            import torch.distributed as dist

            if main:
                cache = load()
            dist.barrier()
            if not main:
                cache = load()
        else:
            cache = load()
    rng = np.random.default_rng(cfg.seed)

    state: dict[str, Any] | None = None
    if cfg.resume and state_path.exists():
        try:
            state = torch.load(state_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch's reader fails in many ways on a damaged file
            raise ValueError(f"{state_path}: cannot resume from this training state file (damaged or "
                             f"truncated: {str(exc).strip().splitlines()[0][:160] if str(exc).strip() else exc!r})") from None
        if not isinstance(state, dict) or state.get("format") != TRAIN_FORMAT:
            raise ValueError(f"{state_path}: not a training state file")
        model_config = ModelConfig.from_dict(state["config"])
    elif cfg.resume:
        raise FileNotFoundError(f"{state_path}: nothing to resume (no training state file)")
    if cfg.preset and cfg.preset not in PRESETS:
        raise ValueError(f"unknown preset {cfg.preset!r}; choose from {sorted(PRESETS)}")
    init_state = None
    if cfg.init and state is None:
        from ..core.checkpoint import load_model

        init_model, _ = load_model(cfg.init)
        init_state = init_model.float().state_dict()
        if model_config is None and not cfg.preset:
            model_config = init_model.config
    if model_config is None:
        model_config = PRESETS[cfg.preset or DEFAULT_PRESET]
    torch.manual_seed(cfg.seed)
    model = ColorNet(model_config).to(device)
    if init_state is not None:
        copied = transfer_weights(model, init_state)
        if main:
            print(f"initialised {copied} of {len(model.state_dict())} tensors from {cfg.init}", flush=True)
    # channels_last: ~1.3x faster convolutions on CPU (oneDNN) and on tensor-core GPUs.
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, prior_elapsed = 0, 0.0
    log: list[dict[str, float]] = []
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, prior_elapsed = int(state["step"]), float(state["elapsed"])
        weights = state["class_weights"].float()
        log = list(state.get("log", []))
        schedule_s = float(state["schedule_s"])
        if cfg.schedule_minutes:
            schedule_s = cfg.schedule_minutes * 60
        rng = np.random.default_rng([cfg.seed, step, rank])
        if main:
            print(f"resuming {state_path} at step {step} ({prior_elapsed / 60:.1f} min of training)", flush=True)
    else:
        weights = class_weights(cache, rng)
        schedule_s = (cfg.schedule_minutes or cfg.minutes) * 60
        rng = np.random.default_rng([cfg.seed, 0, rank])
    weights = weights.to(device)
    net: torch.nn.Module = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    amp = device.type == "cuda"
    if amp:
        torch.backends.cudnn.benchmark = True  # every batch has the same shape: pick the fastest convolutions once
    if main:
        print(f"training {model_config.name}: {count_parameters(model) / 1e6:.2f} M parameters on {device}"
              f" x{world}, {len(cache)} photos, batch {cfg.batch} x {cfg.crop} px", flush=True)

    # Batches are drawn as photos (uint8) plus their plan, on the CPU, and realized on the
    # training device (resize, Lab, hint colours), where a GPU does that work in passing.
    if cfg.workers > 0:
        sources = iter(_worker_batches(cache, cfg, seed_key=(cfg.seed, step, rank), pin=device.type == "cuda"))
    else:
        sources = (_draw_sources(cache, cfg, rng) for _ in iter(int, 1))
    start = time.perf_counter()
    last_ckpt = start
    seen = 0
    tty = sys.stdout.isatty()
    pending: list[torch.Tensor] = []  # loss terms of the steps since the last read

    def read_losses() -> None:
        if pending:
            first = step - len(pending) + 1
            for k, (total, reg, ce) in enumerate(torch.stack(pending).tolist()):
                log.append({"loss": total, "reg": reg, "ce": ce, "step": first + k})
            pending.clear()

    model.train()
    while True:
        elapsed = time.perf_counter() - start
        if cfg.minutes and elapsed >= cfg.minutes * 60:
            break
        if cfg.steps and step >= cfg.steps:
            break
        if cfg.steps:
            progress = step / cfg.steps
        elif schedule_s:
            progress = (prior_elapsed + elapsed) / schedule_s
        else:
            progress = 0.0
        lr = get_lr(progress, cfg.lr, step, cfg.warmup_steps)
        for g in opt.param_groups:
            g["lr"] = lr
        photos, plan = next(sources)
        lab, hint_ab, mask = realize_batch(photos.to(device, non_blocking=True), plan.to(device))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss, terms = loss_terms(net, lab, hint_ab, mask, weights, cfg.ce_weight, cfg.huber_delta, cfg.reg_loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        seen += cfg.batch * world
        pending.append(terms)
        if step % cfg.log_every == 0:
            read_losses()
            if main:
                el = time.perf_counter() - start
                recent = log[-cfg.log_every:]
                msg = (f"step {step}  loss {np.mean([r['loss'] for r in recent]):.4f}"
                       f"  reg {np.mean([r['reg'] for r in recent]):.4f}  ce {np.mean([r['ce'] for r in recent]):.3f}"
                       f"  lr {lr:.2e}  {seen / max(el, 1e-6):.1f} img/s  {el / 60:.1f} min")
                print(("\r" + msg) if tty else msg, end="" if tty else "\n", flush=True)
        if main and time.perf_counter() - last_ckpt >= cfg.checkpoint_minutes * 60:
            read_losses()
            _save_state(state_path, model, opt, step, prior_elapsed + time.perf_counter() - start, schedule_s,
                        cfg, weights.cpu(), log)
            save_model(out, model, meta=_meta(cfg, model, step, prior_elapsed + time.perf_counter() - start, device), half=True)
            last_ckpt = time.perf_counter()
    read_losses()
    total = prior_elapsed + time.perf_counter() - start
    if main:
        if tty:
            print()
        _save_state(state_path, model, opt, step, total, schedule_s, cfg, weights.cpu(), log)
        save_model(out, model, meta=_meta(cfg, model, step, total, device), half=True)
        print(f"saved {out} (step {step}, {total / 60:.1f} min of training)", flush=True)
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    tail = log[-50:]
    return {"step": step, "elapsed": total, "loss": float(np.mean([r["loss"] for r in tail])) if tail else float("nan"),
            "first_loss": log[0]["loss"] if log else float("nan")}


def _meta(cfg: TrainConfig, model: ColorNet, step: int, elapsed: float, device: torch.device) -> dict[str, Any]:
    return {"steps": step, "train_minutes": round(elapsed / 60, 1), "batch": cfg.batch, "crop": cfg.crop,
            "data": str(cfg.data), "device": str(device), "preset": model.config.name or cfg.preset,
            "reg_loss": cfg.reg_loss if cfg.reg_loss != "huber" else f"huber {cfg.huber_delta:g}",
            **({"colour_shift": cfg.colour_shift} if cfg.colour_shift else {})}


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--data", default=d.data, help="folder of colour photos (default: %(default)s)")
    p.add_argument("--out", default=d.out, help="model file to write (default: %(default)s)")
    p.add_argument("--checkpoint", default="", help="resumable training state (default: OUT.state)")
    p.add_argument("--preset", default=d.preset, choices=sorted(PRESETS),
                   help=f"network size (default: the --init model's, else {DEFAULT_PRESET})")
    p.add_argument("--cache-dir", default="", help="where the decoded photo cache lives")
    p.add_argument("--crop", type=int, default=d.crop)
    p.add_argument("--scale", type=float, nargs=2, default=(d.scale_min, d.scale_max), metavar=("MIN", "MAX"),
                   help="random magnification range of the training photos (default: %(default)s)")
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--minutes", type=float, default=0.0, help="stop this run after N minutes")
    p.add_argument("--schedule-minutes", type=float, default=0.0, help="cosine schedule length (default: --minutes)")
    p.add_argument("--steps", type=int, default=0, help="step-based schedule and limit instead of minutes")
    p.add_argument("--ce-weight", type=float, default=d.ce_weight)
    p.add_argument("--huber-delta", type=float, default=d.huber_delta,
                   help="Huber threshold of the regression loss in Lab units "
                        "(1: ~L1, large: ~squared error; default %(default)s)")
    p.add_argument("--reg-loss", default=d.reg_loss, choices=REG_LOSSES,
                   help="chroma regression loss: huber, or log-mse (per-photo log of the mean squared error, "
                        "what the photo-averaged PSNR rewards; default %(default)s)")
    p.add_argument("--colour-shift", type=float, default=d.colour_shift, metavar="P",
                   help="share of the hinted training photos given a random global saturation and colour cast "
                        "that their hints reveal, so hints override the network's colour priors (default 0)")
    p.add_argument("--workers", type=int, default=d.workers,
                   help="processes drawing training batches beside the loop (default 0: in the loop); "
                        "a GPU needs several to be kept busy")
    p.add_argument("--checkpoint-minutes", type=float, default=d.checkpoint_minutes)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from the training state file")
    p.add_argument("--device", default="auto")
    p.add_argument("--init", default="", metavar="MODEL",
                   help="start from this model's weights (e.g. resources/models/default.pt) with a fresh schedule; "
                        "layers narrower than the --preset's are widened into it")
    p.add_argument("--limit-photos", type=int, default=0, help="use only the first N photos")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's choice)")
    p.add_argument("--pack", default="", metavar="DIR",
                   help="no training: write a random subset of --data to the new folder DIR, each photo reduced to "
                        "what training uses (a 144 px square, WebP), up to --pack-mib; for a machine reached by upload")
    p.add_argument("--pack-mib", type=float, default=42.0, help="with --pack: size budget in MiB (default %(default)s)")
    p.add_argument("--finalize", default="", metavar="MODEL",
                   help="no training: copy MODEL to --out as fp16 with updated metadata (e.g. --vividness)")
    p.add_argument("--vividness-fade", type=float, default=None,
                   help="with --finalize: factor by which the vividness boost shrinks per hint (default 0.5)")
    p.add_argument("--vividness", type=float, default=None,
                   help="with --finalize: the automatic-colour gain the engine applies by default")
    p.add_argument("--trust-hints", type=float, default=None,
                   help="with --finalize: hint count at which the network's correction of the fill is halved")
    p.add_argument("--hint-correction", type=float, default=None,
                   help="with --finalize: share of the network's correction of the fill kept once there are hints")
    p.add_argument("--native-size", type=int, default=None,
                   help="with --finalize: long side of the photos the network learnt from; the engine runs it "
                        "at this size (0: at the working size)")
    p.add_argument("--scale-blend", type=float, default=None,
                   help="with --finalize and --native-size: hint count at which the hint fill computed at the "
                        "working size makes up half of the fill under the network's correction")


def finalize_model(src: str | Path, dst: str | Path, **meta: Any) -> None:
    """Copy a trained model file to `dst` (fp16) with extra metadata, e.g. the calibrated vividness."""
    from ..core.checkpoint import load_model
    from ..core.engine import Engine

    model, old = load_model(src)
    merged = {**old, **meta}
    Engine(copy.deepcopy(model), "cpu", meta=merged)  # the settings must load: refuses bad values before writing
    save_model(dst, model, meta=merged, half=True)


def run_from_args(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.pack:
        from .pack import pack_photos

        count, size = pack_photos(args.data, args.pack, int(args.pack_mib * 2**20), seed=args.seed)
        print(f"wrote {count} photos ({size / 2**20:.1f} MiB) to {args.pack}")
        return 0
    if args.finalize:
        names = ("vividness", "vividness_fade", "trust_hints", "hint_correction", "native_size", "scale_blend")
        meta: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
        _check_out(Path(args.out))
        finalize_model(args.finalize, args.out, **meta)
        print(f"wrote {args.out}")
        return 0
    cfg = TrainConfig(
        data=args.data, out=args.out, checkpoint=args.checkpoint, preset=args.preset, cache_dir=args.cache_dir,
        crop=args.crop, scale_min=args.scale[0], scale_max=args.scale[1], batch=args.batch, lr=args.lr,
        minutes=args.minutes, schedule_minutes=args.schedule_minutes,
        steps=args.steps, ce_weight=args.ce_weight, huber_delta=args.huber_delta, reg_loss=args.reg_loss,
        colour_shift=args.colour_shift, workers=args.workers,
        checkpoint_minutes=args.checkpoint_minutes, seed=args.seed,
        resume=args.resume, device=args.device, limit_photos=args.limit_photos, init=args.init,
    )
    train(cfg)
    return 0
