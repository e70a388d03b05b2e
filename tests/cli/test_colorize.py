"""`colorstudio colorize`: end to end in a temp folder, and every bad input of the contract.

A few runs go through a real `python -m colorstudio` process (exit status, stderr, no traceback
at the process level); the many bad-input cases call the same `main()` in-process, with the
process's file descriptors captured (capfd), to keep the suite fast.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorstudio.cli import main
from colorstudio.core.color import lightness, rgb_to_ab, rgb_to_lab
from colorstudio.core.images import read_image
from tests.conftest import REPO


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its hash."""
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def gray_image(height: int = 48, width: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.clip(70 + 90 * (x > width // 2) + 25 * np.sin(y / 5.0), 0, 255).astype(np.uint8)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "photo.png"
    path.parent.mkdir()
    Image.fromarray(gray_image()).save(path)
    return path


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def write_hints(path: Path, hints: list[dict]) -> Path:
    path.write_text(json.dumps({"format": "colorstudio.hints", "version": 1, "hints": hints}), "utf-8")
    return path


def run_cli(args: list[str], settings: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLORSTUDIO_SETTINGS=str(settings), OMP_NUM_THREADS="1",
               PYTHONWARNINGS="default")
    env.pop("COLORSTUDIO_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "colorstudio", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=settings.parent)


# -- end to end in a real process ----------------------------------------------------------

def test_colorize_end_to_end(photo: Path, out_dir: Path, tiny_model_path: Path, tmp_path: Path) -> None:
    before = snapshot(photo.parent)
    out = out_dir / "photo_color.png"
    proc = run_cli(["colorize", str(photo), "-o", str(out), "--model", str(tiny_model_path), "--device", "cpu"],
                   tmp_path / "settings.json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    result = read_image(out)
    assert result.pixels.shape == (48, 64, 3) and result.pixels.dtype == np.uint8
    np.testing.assert_allclose(lightness(result.pixels), lightness(gray_image()), atol=0.8)
    assert snapshot(photo.parent) == before  # the original and its folder untouched
    assert sorted(p.name for p in out_dir.iterdir()) == ["photo_color.png"]


def test_hints_kept_for_a_read_only_folder_are_used(photo: Path, out_dir: Path, tiny_model_path: Path,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint, save_hints, stored_hints_path

    hints = (Hint(0.5, 0.5, (200, 40, 30)),)
    stored = stored_hints_path(photo)
    stored.parent.mkdir(parents=True)
    save_hints(stored, hints)
    code, err = colorize(capfd, str(photo), "-o", str(out_dir / "out.png"), "--model", str(tiny_model_path))
    assert code == 0, err
    expected = load_engine(tiny_model_path, device="cpu").colorize(read_image(photo).pixels, hints)
    np.testing.assert_array_equal(read_image(out_dir / "out.png").pixels, expected)


def test_hints_saved_for_a_read_only_folder_win_over_its_older_sidecar(photo: Path, out_dir: Path,
                                                                      tiny_model_path: Path,
                                                                      capfd: pytest.CaptureFixture[str]) -> None:
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint, save_hints, sidecar_path, stored_hints_path

    save_hints(sidecar_path(photo), (Hint(0.5, 0.5, (30, 40, 200)),))  # came with the archive, long ago
    os.utime(sidecar_path(photo), ns=(10**18, 10**18))
    hints = (Hint(0.5, 0.5, (200, 40, 30)),)  # then saved by the app in its hints folder, over that sidecar
    stored_hints_path(photo).parent.mkdir(parents=True)
    st = sidecar_path(photo).stat()
    save_hints(stored_hints_path(photo), hints, {"sidecar": [st.st_mtime_ns, st.st_size]})
    code, err = colorize(capfd, str(photo), "-o", str(out_dir / "out.png"), "--model", str(tiny_model_path))
    assert code == 0, err
    expected = load_engine(tiny_model_path, device="cpu").colorize(read_image(photo).pixels, hints)
    np.testing.assert_array_equal(read_image(out_dir / "out.png").pixels, expected)


@pytest.mark.parametrize("case", ["truncated image", "corrupt model", "invalid hints"])
def test_bad_input_in_a_real_process(photo: Path, out_dir: Path, tiny_model_path: Path, tmp_path: Path,
                                     case: str) -> None:
    args = ["colorize", str(photo), "-o", str(out_dir / "out.png"), "--model", str(tiny_model_path)]
    named = photo
    if case == "missing input":
        named = photo.with_name("absent.png")
        args[1] = str(named)
    elif case == "truncated image":
        photo.write_bytes(photo.read_bytes()[:100])  # the whole file is ~190 bytes
    elif case == "corrupt model":
        named = tmp_path / "model.pt"
        named.write_bytes(tiny_model_path.read_bytes()[:5000])
        args[5] = str(named)
    else:
        named = tmp_path / "hints.json"
        named.write_text('{"format": "colorstudio.hints", "version": 1, "hints": [{"x": NaN}]}', "utf-8")
        args += ["--hints", str(named)]
    before = snapshot(tmp_path / "in")
    proc = run_cli(args, tmp_path / "settings.json")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(named) in lines[0] and "Traceback" not in proc.stderr
    assert list(out_dir.iterdir()) == []
    assert snapshot(tmp_path / "in") == before


# -- behaviour, in-process -----------------------------------------------------------------

def colorize(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["colorize", *args])
    captured = capfd.readouterr()
    assert captured.out == ""
    return code, captured.err


def test_sidecar_is_used_and_hints_file_wins(photo: Path, out_dir: Path, tiny_model_path: Path,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    model = ["--model", str(tiny_model_path), "--device", "cpu"]
    red, blue = "#c02020", "#2040c0"
    sidecar = write_hints(photo.with_name(photo.name + ".colorstudio.json"),
                          [{"x": 0.25, "y": 0.5, "color": red, "size": 0.1}])
    other = write_hints(photo.parent / "other.json", [{"x": 0.25, "y": 0.5, "color": blue, "size": 0.1}])
    before = snapshot(photo.parent)

    assert colorize(capfd, str(photo), "-o", str(out_dir / "sidecar.png"), *model) == (0, "")
    assert colorize(capfd, str(photo), "-o", str(out_dir / "hints.png"), "--hints", str(other), *model) == (0, "")
    assert colorize(capfd, str(photo), "-o", str(out_dir / "none.png"), "--no-hints", *model) == (0, "")

    def chroma(name: str) -> np.ndarray:
        return rgb_to_lab(read_image(out_dir / name).pixels[24, 16])[1:]

    def closer(ab: np.ndarray, want: str, than: str) -> bool:
        a = np.array(rgb_to_ab(tuple(int(want[i:i + 2], 16) for i in (1, 3, 5))))
        b = np.array(rgb_to_ab(tuple(int(than[i:i + 2], 16) for i in (1, 3, 5))))
        return bool(np.linalg.norm(ab - a) < np.linalg.norm(ab - b))

    assert closer(chroma("sidecar.png"), red, blue)
    assert closer(chroma("hints.png"), blue, red)
    assert np.linalg.norm(chroma("none.png")) < np.linalg.norm(chroma("sidecar.png")) / 2
    assert snapshot(photo.parent) == before  # sidecar and hints files are read, never rewritten
    assert sidecar.exists()


def test_the_hints_file_saturation_applies_unless_the_command_line_sets_one(
        photo: Path, out_dir: Path, tiny_model_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint, save_hints, sidecar_path

    model = ["--model", str(tiny_model_path), "--device", "cpu"]
    hints = [Hint(0.25, 0.5, (192, 32, 32), size=0.1)]
    save_hints(sidecar_path(photo), hints, saturation=0.4)  # the photo's look, as saved by the app
    assert colorize(capfd, str(photo), "-o", str(out_dir / "own.png"), *model) == (0, "")
    assert colorize(capfd, str(photo), "-o", str(out_dir / "set.png"), "--saturation", "1.5", *model) == (0, "")
    assert colorize(capfd, str(photo), "-o", str(out_dir / "none.png"), "--no-hints", *model) == (0, "")
    engine = load_engine(tiny_model_path, device="cpu")
    pixels = np.asarray(Image.open(photo))
    for name, used, saturation in (("own", hints, 0.4), ("set", hints, 1.5), ("none", (), 1.0)):
        assert np.array_equal(read_image(out_dir / f"{name}.png").pixels,
                              engine.colorize(pixels, used, saturation=saturation)), name


def test_16bit_alpha_and_rotation_survive(tmp_path: Path, out_dir: Path, tiny_model_path: Path,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    model = ["--model", str(tiny_model_path), "--device", "cpu"]
    import cv2

    scan16 = tmp_path / "scan16.png"
    cv2.imwrite(str(scan16), (gray_image().astype(np.uint16) * 257))
    assert colorize(capfd, str(scan16), "-o", str(out_dir / "scan16.tif"), *model) == (0, "")
    out16 = read_image(out_dir / "scan16.tif").pixels
    assert out16.dtype == np.uint16 and out16.shape == (48, 64, 3)

    rgba = tmp_path / "rgba.png"
    alpha = np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))
    Image.fromarray(np.dstack([gray_image()] * 3 + [alpha])).save(rgba)
    assert colorize(capfd, str(rgba), "-o", str(out_dir / "rgba.png"), *model) == (0, "")
    np.testing.assert_array_equal(read_image(out_dir / "rgba.png").alpha, alpha)

    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(gray_image()).save(rotated, exif=exif.tobytes(), quality=95)
    assert colorize(capfd, str(rotated), "-o", str(out_dir / "rotated.jpg"), *model) == (0, "")
    assert read_image(out_dir / "rotated.jpg").pixels.shape == (64, 48, 3)  # turned once, and only once


def test_scan_resolution_and_camera_metadata_survive(tmp_path: Path, out_dir: Path, tiny_model_path: Path,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    model = ["--model", str(tiny_model_path), "--device", "cpu"]
    scan = tmp_path / "scan600.tif"
    Image.fromarray(gray_image()).save(scan, dpi=(600, 600))
    for ext in ("png", "jpg", "tif"):
        assert colorize(capfd, str(scan), "-o", str(out_dir / f"scan.{ext}"), *model) == (0, "")
        assert read_image(out_dir / f"scan.{ext}").dpi == (600.0, 600.0)  # prints at the scan's size

    camera = tmp_path / "camera.jpg"  # EXIF with a sub-directory, as every camera writes it
    exif = Image.Exif()
    exif[0x010F] = "Nikon"
    exif.get_ifd(0x8769)[0x9003] = "1962:07:01 10:00:00"
    Image.fromarray(gray_image()).convert("RGB").save(camera, exif=exif.tobytes())
    assert colorize(capfd, str(camera), "-o", str(out_dir / "camera.tif"), *model) == (0, "")
    with Image.open(out_dir / "camera.tif") as im:
        assert im.getexif()[0x010F] == "Nikon" and im.getexif()[0x0132] == "1962:07:01 10:00:00"


def test_non_ascii_names_and_tiny_images(tmp_path: Path, tiny_model_path: Path,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "Фото 1950 — été"
    folder.mkdir()
    for shape in ((1, 1), (1, 9), (9, 1)):
        src = folder / f"grand-mère {shape[0]}x{shape[1]}.png"
        Image.fromarray(np.full(shape, 120, np.uint8)).save(src)
        write_hints(src.with_name(src.name + ".colorstudio.json"), [{"x": 0.5, "y": 0.5, "color": "#c02020"}])
        out = folder / f"couleur {shape[0]}x{shape[1]} 照片.jpg"
        assert colorize(capfd, str(src), "-o", str(out), "--model", str(tiny_model_path)) == (0, "")
        result = read_image(out).pixels
        assert result.shape == shape + (3,)
        assert int(result[..., 0].max()) > int(result[..., 2].max())  # the red hint was applied


def test_animated_input_is_colorized_with_a_note(tmp_path: Path, out_dir: Path, tiny_model_path: Path,
                                                 capfd: pytest.CaptureFixture[str]) -> None:
    frames = [Image.fromarray(gray_image()), Image.fromarray(255 - gray_image())]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    code, err = colorize(capfd, str(gif), "-o", str(out_dir / "anim.png"), "--model", str(tiny_model_path))
    assert code == 0
    assert err.strip().splitlines() == [f"{gif}: animated image: only the first of 2 frames is used"]


# -- every bad input: one line naming the file, non-zero status, no output, input untouched --

PNG_BOMB = (b"\x89PNG\r\n\x1a\n"
            + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
            + struct.pack(">I", zlib.crc32(b"IHDR" + struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)))
            + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))


def prepare(case: str, photo: Path, out_dir: Path, tiny_model_path: Path, tmp_path: Path) -> tuple[list[str], str]:
    """Arguments for a bad-input case and the text the error line must contain."""
    out = out_dir / "out.png"
    args = [str(photo), "-o", str(out), "--model", str(tiny_model_path), "--device", "cpu"]
    model_file = tmp_path / "bad_model.pt"
    hints_file = tmp_path / "bad_hints.json"
    if case == "missing input":
        args[0] = str(photo.with_name("absent.png"))
        return args, f"{args[0]}: no such file"
    if case == "input is a folder":
        args[0] = str(photo.parent)
        return args, f"{photo.parent}: is a folder"
    if case == "empty input":
        photo.write_bytes(b"")
        return args, f"{photo}: file is empty"
    if case == "truncated png":
        photo.write_bytes(photo.read_bytes()[: len(photo.read_bytes()) // 2])
        return args, f"{photo}: cannot decode image: the file is truncated"
    if case == "truncated jpeg":
        jpg = photo.with_suffix(".jpg")
        Image.fromarray(gray_image()).save(jpg, quality=90)
        jpg.write_bytes(jpg.read_bytes()[:-300])
        args[0] = str(jpg)
        return args, f"{jpg}: cannot decode image: the file is truncated"
    if case == "text named .jpg":
        txt = photo.with_name("notes.jpg")
        txt.write_text("not a photo\n" * 50, "utf-8")
        args[0] = str(txt)
        return args, f"{txt}: not an image file"
    if case == "over --max-megapixels":
        return args + ["--max-megapixels", "0.001"], f"{photo}: image is 64 x 48"
    if case == "header claims 100k x 100k":
        photo.write_bytes(PNG_BOMB)
        return args, f"{photo}: image is 100000 x 100000"
    if case == "invalid sidecar":
        side = photo.with_name(photo.name + ".colorstudio.json")
        write_hints(side, [{"x": 2, "y": 0, "color": "#000000"}])
        return args, f"{side}: hint 0: Hint coordinates must lie in [0, 1]"
    if case == "hints not JSON":
        hints_file.write_text("{hints: oops", "utf-8")
        return args + ["--hints", str(hints_file)], f"{hints_file}: not valid JSON"
    if case == "hints wrong version":
        hints_file.write_text('{"format": "colorstudio.hints", "version": 7, "hints": []}', "utf-8")
        return args + ["--hints", str(hints_file)], f"{hints_file}: unsupported 'version' 7"
    if case == "hints bad colour":
        write_hints(hints_file, [{"x": 0.5, "y": 0.5, "color": "red"}])
        return args + ["--hints", str(hints_file)], f"{hints_file}: hint 0: colour must be"
    if case == "hints file missing":
        return args + ["--hints", str(hints_file)], f"{hints_file}: no such hints file"
    if case == "unknown device":
        args[-1] = "tpu"
        return args, "unknown device 'tpu'"
    if case == "model missing":
        args[4] = str(model_file)
        return args, f"{model_file}: no such model file"
    if case == "model empty":
        model_file.write_bytes(b"")
        args[4] = str(model_file)
        return args, f"{model_file}: model file is empty"
    if case == "model truncated":
        model_file.write_bytes(tiny_model_path.read_bytes()[:3000])
        args[4] = str(model_file)
        return args, f"{model_file}: not a readable model file"
    if case == "model of another network":
        torch.save({"conv1.weight": torch.zeros(8, 3, 3, 3), "fc.bias": torch.zeros(10)}, model_file)
        args[4] = str(model_file)
        return args, f"{model_file}: not a ColorStudio model file"
    if case == "model weights do not fit":
        data = torch.load(tiny_model_path, weights_only=True)
        data["model"]["model1.0.weight"] = torch.zeros(3, 3, 3, 3)
        torch.save(data, model_file)
        args[4] = str(model_file)
        return args, f"{model_file}: weights do not fit"
    if case == "model that would run code":
        marker = tmp_path / "CODE_RAN"

        class RunsCode:
            def __reduce__(self) -> tuple:
                return (open, (str(marker), "w"))

        torch.save({"format": "colorstudio.model", "meta": RunsCode()}, model_file)
        args[4] = str(model_file)
        return args, f"{model_file}: refused"
    if case == "output folder missing":
        args[2] = str(out_dir / "no" / "such" / "out.png")
        return args, "does not exist"
    if case == "output is a folder":
        folder = out_dir / "taken.png"
        folder.mkdir()
        args[2] = str(folder)
        return args, f"{folder}: cannot write over a folder; name the output file, e.g. {folder / photo.name}"
    if case == "output is a folder without a suffix":
        args[2] = str(out_dir)
        return args, f"{out_dir}: cannot write over a folder; name the output file, e.g. {out_dir / photo.name}"
    if case == "output type unsupported":
        args[2] = str(out_dir / "out.gif")
        return args, f"{out_dir / 'out.gif'}: unsupported output type"
    if case == "output is the input":
        args[2] = str(photo)
        return args, f"{photo}: refusing to overwrite the input photo"
    if case == "negative saturation":
        return args + ["--saturation", "-1"], "saturation"
    if case == "empty --hints":
        return args + ["--hints", ""], "--hints: an empty file name"
    if case == "saturation past the most":
        return args + ["--saturation", "1e9"], "--saturation must be a number from 0 to 4"
    if case == "max-megapixels not a number":
        return args + ["--max-megapixels", "nan"], "--max-megapixels must be a positive number"
    if case == "quality out of range":
        return args + ["--quality", "0"], "--quality must be 1..100"
    if case == "size too small":
        return args + ["--size", "8"], "--size must be at least 16"
    raise AssertionError(case)


BAD_CASES = ["missing input", "input is a folder", "empty input", "truncated png", "truncated jpeg", "text named .jpg",
             "over --max-megapixels", "header claims 100k x 100k", "saturation past the most", "empty --hints", "invalid sidecar", "hints not JSON",
             "hints wrong version", "hints bad colour", "hints file missing", "unknown device", "model missing",
             "model empty", "model truncated", "model of another network", "model weights do not fit",
             "model that would run code", "output folder missing", "output is a folder", "output is a folder without a suffix",
             "output type unsupported",
             "output is the input",
             "negative saturation", "max-megapixels not a number", "quality out of range", "size too small"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_gives_one_line_and_no_output(case: str, photo: Path, out_dir: Path, tiny_model_path: Path,
                                                tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    args, expected = prepare(case, photo, out_dir, tiny_model_path, tmp_path)
    inputs_before = snapshot(photo.parent)
    code, err = colorize(capfd, *args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("colorstudio: error: "), lines[0]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in err and "weights_only" not in err
    left = [p.name for p in out_dir.iterdir()]
    assert left == (["taken.png"] if case == "output is a folder" else [])  # no output, no temporary file
    assert snapshot(photo.parent) == inputs_before  # the input (and its folder) never modified
    assert not (tmp_path / "CODE_RAN").exists()


def test_unavailable_cuda_is_one_line(photo: Path, out_dir: Path, tiny_model_path: Path,
                                      capfd: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    code, err = colorize(capfd, str(photo), "-o", str(out_dir / "o.png"), "--model", str(tiny_model_path),
                         "--device", "cuda")
    assert code != 0 and len(err.strip().splitlines()) == 1 and "no CUDA GPU" in err
    assert list(out_dir.iterdir()) == []


def test_failed_write_keeps_an_existing_output(photo: Path, out_dir: Path, tiny_model_path: Path,
                                               capfd: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = out_dir / "result.png"
    assert colorize(capfd, str(photo), "-o", str(out), "--model", str(tiny_model_path))[0] == 0
    before = digest(out)

    def disk_full(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        Path(str(fp)).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    code, err = colorize(capfd, str(photo), "-o", str(out), "--model", str(tiny_model_path), "--saturation", "2")
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert f"{out}: cannot write (No space left on device)" in err
    assert digest(out) == before
    assert sorted(p.name for p in out_dir.iterdir()) == ["result.png"]


def test_unexpected_errors_are_one_line_too(photo: Path, out_dir: Path, tiny_model_path: Path,
                                            capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from colorstudio.core import engine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("CUDA out of memory.\nTried to allocate 2 GiB")

    monkeypatch.setattr(engine.Engine, "colorize", broken)
    code, err = colorize(capfd, str(photo), "-o", str(out_dir / "o.png"), "--model", str(tiny_model_path))
    assert code != 0
    assert err.strip().splitlines() == [
        "colorstudio: error: unexpected RuntimeError: CUDA out of memory. Tried to allocate 2 GiB "
        "(set COLORSTUDIO_DEBUG=1 for details)"]
    assert list(out_dir.iterdir()) == []


def test_broken_settings_file_does_not_stop_the_cli(photo: Path, out_dir: Path, tiny_model_path: Path,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    Path(os.environ["COLORSTUDIO_SETTINGS"]).write_text('{"device": 5, "working_size": "huge"', "utf-8")
    assert colorize(capfd, str(photo), "-o", str(out_dir / "o.png"), "--model", str(tiny_model_path)) == (0, "")


def test_a_model_set_in_the_settings_that_is_gone_names_the_settings_file(photo: Path, out_dir: Path,
                                                                           capfd: pytest.CaptureFixture[str]) -> None:
    settings = Path(os.environ["COLORSTUDIO_SETTINGS"])
    settings.write_text(json.dumps({"model": str(out_dir / "moved.pt"), "device": "banana"}), "utf-8")
    code, err = colorize(capfd, str(photo), "-o", str(out_dir / "o.png"))  # the device falls back to auto
    assert code != 0 and "moved.pt: no such model file" in err and f"the model chosen in {settings}" in err


def test_a_device_set_in_the_settings_that_is_missing_here_falls_back(photo: Path, out_dir: Path, tiny_model_path: Path,
                                                                     capfd: pytest.CaptureFixture[str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    settings = Path(os.environ["COLORSTUDIO_SETTINGS"])
    settings.write_text(json.dumps({"device": "cuda"}), "utf-8")  # chosen in the app on a machine with a GPU
    code, err = colorize(capfd, str(photo), "-o", str(out_dir / "o.png"), "--model", str(tiny_model_path))
    assert code == 0 and (out_dir / "o.png").exists()
    assert "no CUDA GPU is available" in err and f"the device chosen in {settings}" in err and "using auto" in err
    code, err = colorize(capfd, str(photo), "-o", str(out_dir / "p.png"), "--model", str(tiny_model_path),
                         "--device", "cuda")  # asked for on the command line: an error, as before
    assert code == 1 and "no CUDA GPU is available" in err


def test_colorize_works_when_training_modules_cannot_be_imported(
        photo: Path, out_dir: Path, tiny_model_path: Path, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import colorstudio.cli as cli

    real_import = cli.importlib.import_module

    def no_training(name: str, *args: object) -> object:
        if ".train." in name:
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args)

    monkeypatch.setattr(cli.importlib, "import_module", no_training)
    assert colorize(capfd, str(photo), "-o", str(out_dir / "o.png"), "--model", str(tiny_model_path)) == (0, "")
    assert main(["eval", "--anything", "x"]) == 1
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'eval' is not available in this installation" in err[0]


def test_train_says_it_is_unavailable_where_torchs_compiler_was_left_out(
        tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The packaged app leaves torch._dynamo out; torch's optimizers import it on their first
    step, so `train` there crashed after caching the photos. It now says so at once."""
    import colorstudio.cli as cli

    (tmp_path / "leftover").mkdir()  # what a build that left a package out keeps: its folder, data only
    (tmp_path / "leftover" / "config.json").write_text("{}")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cli._has_module("json") and not cli._has_module("leftover") and not cli._has_module("no_such_module")
    real = cli._has_module
    monkeypatch.setattr(cli, "_has_module", lambda name: False if name == "torch._dynamo" else real(name))
    assert main(["train", "--data", str(tmp_path), "--steps", "1"]) == 1
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'train' is not available in this installation" in err[0] and "Python" in err[0]


def test_the_default_model_missing_is_not_blamed_on_the_settings(photo: Path, out_dir: Path, tmp_path: Path,
                                                                 capfd: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLORSTUDIO_RESOURCES", str(tmp_path / "no-resources"))
    code, err = colorize(capfd, str(photo), "-o", str(out_dir / "o.png"))
    assert code != 0 and "the shipped 'default' model is missing" in err and "chosen in" not in err
