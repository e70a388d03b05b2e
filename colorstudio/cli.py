"""Command line: colorstudio [gui | colorize | batch | train | eval]."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__

PROG = "colorstudio"


class CliError(Exception):
    """A failure to report as one line on stderr (exit status 1)."""


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    # Each left out takes the app's Preferences (its settings file), which default to what is said here.
    p.add_argument("--model", default=None,
                   help="model file, or a shipped model: default, quality (default: the app's Preferences, else default)")
    p.add_argument("--device", default=None,
                   help="auto, cpu, cuda, cuda:N or mps (default: the app's Preferences, else auto)")
    p.add_argument("--size", type=int, default=None,
                   help="working size: long side, in pixels, of the image on which hints are spread and colour "
                        "is predicted (the network runs at most at the model's native size; default: the app's "
                        "Preferences, else 256)")
    p.add_argument("--max-megapixels", type=float, default=None,
                   help="refuse larger images (default: the app's Preferences, else 250)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Colorize black-and-white photos, guided by colour hints.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser("gui", help="open the app (optionally with a photo or folder)")
    g.add_argument("path", nargs="?", help="photo or folder to open")
    g.add_argument("--smoke-test", action="store_true", help=argparse.SUPPRESS)

    c = sub.add_parser("colorize", help="colorize one photo")
    c.add_argument("input", help="the photo to colorize")
    c.add_argument("-o", "--output", required=True, help="output file (.jpg, .png, .tif, .webp, .bmp)")
    c.add_argument("--hints", default=None, help="hints file (default: INPUT.colorstudio.json if present)")
    c.add_argument("--no-hints", action="store_true", help="ignore the sidecar: automatic colours only")
    c.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1..100 (default 95)")
    c.add_argument("--saturation", type=float, default=None,
                   help="scale the chroma (default: the hints file's saturation, else 1.0)")
    _add_engine_args(c)

    b = sub.add_parser("batch", help="colorize every photo in a folder (resumable)")
    b.add_argument("input_dir")
    b.add_argument("-o", "--output", required=True, dest="output_dir", help="output folder")
    b.add_argument("--recursive", action="store_true", help="include subfolders (mirrored under OUTPUT_DIR)")
    b.add_argument("--pattern", default="{stem}.{ext}", help="output name pattern, e.g. '{stem}_color.{ext}'")
    b.add_argument("--format", default="", help="output format: jpg, png, tif, webp (default: as the input)")
    b.add_argument("--quality", type=int, default=95)
    b.add_argument("--overwrite", action="store_true", help="redo photos whose output already exists")
    b.add_argument("--saturation", type=float, default=1.0,
                   help="scale the outputs' chroma where a photo's hints file sets none (default 1.0)")
    b.add_argument("--hints", default=None, metavar="HINTS.json",
                   help="hints (and saturation) for the photos that have no hints file of their own")
    b.add_argument("--report", default=None, help="JSON-lines report (default: OUTPUT_DIR/colorstudio-report.jsonl)")
    b.add_argument("--allow-inside", action="store_true", help="allow OUTPUT_DIR inside INPUT_DIR")
    _add_engine_args(b)

    _add_training_parser(sub, "train", "loop", "train a model on a folder of colour photos")
    _add_training_parser(sub, "eval", "evaluate", "PSNR / colourfulness table on a folder of colour photos")
    return parser


def _add_training_parser(sub: argparse._SubParsersAction, name: str, module: str, help_text: str) -> None:
    """Add a training subcommand; if its module cannot be imported, colorize/batch/gui still work."""
    try:
        mod = importlib.import_module(f"{__package__}.train.{module}")
        if name == "train" and not _has_module("torch._dynamo"):
            # torch's optimizers import its compiler (torch._dynamo) on their first step; the
            # packaged app leaves the compiler out (packaging/trim.py), so training cannot run there.
            raise ImportError("the packaged app leaves out torch's compiler, which training needs; "
                              "train from a Python installation (see the README)")
    except ImportError as exc:
        # Accept any arguments (no option prefix), so the user gets this message, not a usage error.
        p = sub.add_parser(name, help=help_text, prefix_chars="\0", add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        p.set_defaults(unavailable=f"'{name}' is not available in this installation ({exc})")
        return
    mod.add_arguments(sub.add_parser(name, help=help_text))


def _has_module(name: str) -> bool:
    """Whether `name` can be imported as a real module: a build that left it out may keep
    its folder (with data files only), which Python would import as an empty namespace."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin not in (None, "namespace")


def _settings_defaults(args: argparse.Namespace) -> None:
    from .core.settings import Settings, load_settings

    s = load_settings()
    if getattr(args, "model", "absent") is None:
        args.model = s.model
        # a model the user chose in the settings: a failure to load it names the settings file
        args.model_from_settings = s.model != Settings().model
    if getattr(args, "device", "absent") is None:
        args.device = s.device
        args.device_from_settings = s.device != Settings().device
    if getattr(args, "size", "absent") is None:
        args.size = s.working_size
    if getattr(args, "max_megapixels", "absent") is None:
        args.max_megapixels = s.max_megapixels


def _load_engine(args: argparse.Namespace):  # noqa: ANN202 - Engine, imported lazily
    from .core.device import resolve_device
    from .core.engine import load_engine
    from .core.errors import DeviceError, ModelFileError
    from .core.settings import settings_path

    if args.size is not None and args.size < 16:
        raise CliError(f"--size must be at least 16, got {args.size}")
    if getattr(args, "device_from_settings", False):
        try:
            resolve_device(args.device)
        except DeviceError as exc:  # chosen in the app for another machine, or a GPU gone: not asked for here
            print(f"colorstudio: note: {exc} (the device chosen in {settings_path()}); using auto", file=sys.stderr)
            args.device = "auto"
    try:
        engine = load_engine(args.model, device=args.device or "auto", working_size=int(args.size))
    except ModelFileError as exc:
        if not getattr(args, "model_from_settings", False):
            raise
        raise CliError(f"{exc} (the model chosen in {settings_path()}; choose another in the app's "
                       "Preferences, or pass --model)") from None
    if engine.device_note:
        print(f"colorstudio: note: {engine.device_note}", file=sys.stderr)
    return engine


def cmd_colorize(args: argparse.Namespace) -> int:
    from .core.hints import MAX_SATURATION, PhotoHints, find_hints_file, load_photo_hints
    from .core.images import WRITE_FORMATS, output_format, read_image, write_image

    src, dst = Path(args.input), Path(args.output)
    if dst.is_dir():
        example = dst / (src.stem + (src.suffix if src.suffix.lower() in WRITE_FORMATS else ".png"))
        raise CliError(f"{dst}: cannot write over a folder; name the output file, e.g. {example}")
    output_format(dst)
    if not 1 <= args.quality <= 100:
        raise CliError(f"--quality must be 1..100, got {args.quality}")
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise CliError(f"{dst}: refusing to overwrite the input photo; choose another output file")
    if not dst.parent.exists() and str(dst.parent):
        raise CliError(f"{dst}: output folder {dst.parent} does not exist")
    if not (math.isfinite(args.max_megapixels) and args.max_megapixels > 0):
        raise CliError(f"--max-megapixels must be a positive number, got {args.max_megapixels}")
    if args.saturation is not None and not (math.isfinite(args.saturation) and 0 <= args.saturation <= MAX_SATURATION):
        raise CliError(f"--saturation must be a number from 0 to {MAX_SATURATION:g}, got {args.saturation}")
    max_px = max(1, int(args.max_megapixels * 1e6))
    image = read_image(src, max_pixels=max_px)
    stored = PhotoHints()
    if args.hints is not None and not str(args.hints).strip():
        raise CliError("--hints: an empty file name; give the hints file, or leave --hints out for the sidecar")
    if args.hints:
        stored = load_photo_hints(args.hints)
    elif not args.no_hints and (side := find_hints_file(src)) is not None:
        stored = load_photo_hints(side)
    hints = stored.hints
    saturation = next(s for s in (args.saturation, stored.saturation, 1.0) if s is not None)
    engine = _load_engine(args)
    rgb = engine.colorize(image.pixels, hints, saturation=saturation)
    note = f"Colorized by ColorStudio {__version__} (model: {engine.name}, {len(hints)} hints); not the original scan"
    write_image(dst, rgb, alpha=image.alpha, exif=image.exif, icc_profile=image.icc_profile, quality=args.quality,
                description=note, dpi=image.dpi, xmp=image.xmp, iptc=image.iptc)
    for n in image.notes:
        print(f"{src}: {n}", file=sys.stderr)
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from .gui.app import run_app

    return run_app(args.path, smoke_test=args.smoke_test)


def cmd_batch(args: argparse.Namespace) -> int:
    from .core.batch import run_batch_cli

    return run_batch_cli(args, _load_engine)


def cmd_train(args: argparse.Namespace) -> int:
    from .train.loop import run_from_args

    return run_from_args(args)


def cmd_eval(args: argparse.Namespace) -> int:
    from .train.evaluate import run_from_args

    return run_from_args(args)


COMMANDS = {"gui": cmd_gui, "colorize": cmd_colorize, "batch": cmd_batch, "train": cmd_train, "eval": cmd_eval}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui"])
    from .core.errors import ColorStudioError

    try:
        if getattr(args, "unavailable", None):
            raise CliError(args.unavailable)
        _settings_defaults(args)
        return COMMANDS[args.command](args)
    except (ColorStudioError, CliError, FileNotFoundError, TypeError, ValueError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"{PROG}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract: one line per failure, never a traceback
        if os.environ.get("COLORSTUDIO_DEBUG"):
            raise
        print(f"{PROG}: error: unexpected {type(exc).__name__}: {_one_line(exc)} "
              "(set COLORSTUDIO_DEBUG=1 for details)", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500] if text else type(exc).__name__
