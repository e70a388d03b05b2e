"""Reading and writing photos: formats, bit depth, EXIF orientation, odd modes, broken and hostile files."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from colorstudio.core import images
from colorstudio.core.errors import ImageReadError, ImageWriteError
from colorstudio.core.images import read_image, to_8bit, write_image


def smooth_rgb(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth colour image (compresses well, so lossy formats stay close)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    phase = rng.uniform(0, 6, 3)
    chans = [127 + 100 * np.sin(x / 9.0 + phase[i]) * np.cos(y / 7.0 + phase[i]) for i in range(3)]
    return np.stack(chans, -1).astype(np.uint8)


def noise(shape: tuple[int, ...], dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max + 1, size=shape).astype(dtype)


def expect_read_error(path: Path, match: str, **kwargs: Any) -> str:
    with pytest.raises(ImageReadError, match=match) as info:
        read_image(path, **kwargs)
    message = str(info.value)
    assert message.startswith(str(path) + ": "), message
    assert "\n" not in message and len(message) < 400, message
    return message


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- formats -------------------------------------------------------------------------------

@pytest.mark.parametrize("ext", ["jpg", "jpeg", "png", "tif", "tiff", "bmp", "webp"])
def test_write_then_read_each_format(tmp_path: Path, ext: str) -> None:
    rgb = smooth_rgb()
    path = tmp_path / f"photo.{ext}"
    write_image(path, rgb, quality=95)
    loaded = read_image(path)
    assert loaded.pixels.shape == rgb.shape and loaded.pixels.dtype == np.uint8
    assert loaded.alpha is None and loaded.frames == 1 and loaded.notes == []
    diff = np.abs(loaded.pixels.astype(int) - rgb.astype(int))
    if ext in ("png", "tif", "tiff", "bmp"):
        assert diff.max() == 0
    else:
        assert diff.mean() < 2.5
    # An independent decoder agrees.
    np.testing.assert_array_equal(loaded.pixels, np.asarray(Image.open(path).convert("RGB")))


@pytest.mark.parametrize("ext", ["jpg", "png", "tif", "bmp", "webp", "gif"])
def test_files_written_by_other_programs(tmp_path: Path, ext: str) -> None:
    rgb = smooth_rgb(seed=1)
    path = tmp_path / f"other.{ext}"
    Image.fromarray(rgb).save(path)
    loaded = read_image(path)
    np.testing.assert_array_equal(loaded.pixels, np.asarray(Image.open(path).convert("RGB")))
    assert loaded.format == {"jpg": "JPEG", "tif": "TIFF"}.get(ext, ext.upper())


def test_file_type_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    path = tmp_path / "really_a_png.jpg"
    Image.fromarray(smooth_rgb()).save(path, format="PNG")
    loaded = read_image(path)
    assert loaded.format == "PNG"
    np.testing.assert_array_equal(loaded.pixels, smooth_rgb())


@pytest.mark.parametrize("ext", ["txt", "gif", ""])
def test_unsupported_output_types_are_refused_before_writing(tmp_path: Path, ext: str) -> None:
    path = tmp_path / (f"out.{ext}" if ext else "out")
    with pytest.raises(ImageWriteError, match="unsupported output type"):
        write_image(path, smooth_rgb())
    assert listing(tmp_path) == []


# -- bit depth -----------------------------------------------------------------------------

@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_rgb_files_read_as_16bit(tmp_path: Path, ext: str) -> None:
    rgb16 = noise((30, 40, 3), np.uint16, seed=2)
    path = tmp_path / f"scan16.{ext}"
    assert cv2.imwrite(str(path), rgb16[..., ::-1])
    loaded = read_image(path)
    assert loaded.pixels.dtype == np.uint16
    np.testing.assert_array_equal(loaded.pixels, rgb16)


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_gray_files_read_as_16bit(tmp_path: Path, ext: str) -> None:
    gray16 = noise((30, 40), np.uint16, seed=3)
    path = tmp_path / f"gray16.{ext}"
    Image.fromarray(gray16).save(path)
    loaded = read_image(path)
    assert loaded.pixels.dtype == np.uint16 and loaded.pixels.ndim == 2
    np.testing.assert_array_equal(loaded.pixels, gray16)


@pytest.mark.parametrize("ext", ["png", "tif", "tiff"])
def test_16bit_output_keeps_16_bits(tmp_path: Path, ext: str) -> None:
    rgb16 = noise((30, 40, 3), np.uint16, seed=4)
    path = tmp_path / f"out16.{ext}"
    write_image(path, rgb16)
    back = read_image(path)
    assert back.pixels.dtype == np.uint16
    np.testing.assert_array_equal(back.pixels, rgb16)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16  # really 16 bits in the file


@pytest.mark.parametrize("ext", ["jpg", "webp", "bmp"])
def test_16bit_to_8bit_formats_rounds_correctly(tmp_path: Path, ext: str) -> None:
    rgb8 = smooth_rgb()
    rgb16 = rgb8.astype(np.uint16) * 257
    rgb16[0, 0] = (128, 127 * 257 + 129, 65535)  # rounding edges: 128 -> 0.498 -> 0, 32768 -> 127.502 -> 128
    path = tmp_path / f"out.{ext}"
    write_image(path, rgb16, quality=100)
    back = read_image(path).pixels
    assert back.dtype == np.uint8
    if ext == "bmp":
        np.testing.assert_array_equal(back[1:], rgb8[1:])
        assert tuple(back[0, 0]) == (0, 128, 255)
    else:
        assert np.abs(back.astype(int) - rgb8.astype(int))[1:].mean() < 2.5


# -- EXIF orientation ----------------------------------------------------------------------

def with_orientation(path: Path, pixels: np.ndarray, orientation: int, **save: Any) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif.tobytes(), **save)
    return path


def upright(a: np.ndarray, orientation: int) -> np.ndarray:
    """What a viewer shows for stored pixels `a` with this EXIF orientation (TIFF 6.0 / EXIF 2.3)."""
    return {1: a, 2: a[:, ::-1], 3: a[::-1, ::-1], 4: a[::-1], 5: np.swapaxes(a, 0, 1), 6: np.rot90(a, -1),
            7: np.swapaxes(a[::-1, ::-1], 0, 1), 8: np.rot90(a, 1)}[orientation]


@pytest.mark.parametrize(("ext", "kind"), [("jpg", "RGB"), ("png", "RGB"), ("webp", "RGB"), ("tif", "RGB"),
                                           ("tif", "L"), ("tif", "I;16"), ("png", "L")])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path: Path, ext: str, kind: str, orientation: int) -> None:
    rgb = smooth_rgb(30, 44, seed=orientation)
    rgb[:3, :5] = (255, 0, 0)  # a marker in a corner makes every orientation distinguishable
    stored = {"RGB": rgb, "L": np.asarray(Image.fromarray(rgb).convert("L")),
              "I;16": noise((30, 44), np.uint16, seed=orientation)}[kind]
    lossless = {"webp": {"lossless": True}, "tif": {"compression": "tiff_deflate"}}.get(ext, {})
    path = with_orientation(tmp_path / f"o{orientation}.{ext}", stored, orientation, **lossless)
    loaded = read_image(path)
    if ext == "jpg":  # lossy: compare with the decoded stored pixels, turned
        stored = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(loaded.pixels, upright(stored, orientation))
    # Written back with its metadata, the photo is not turned a second time.
    out = tmp_path / f"back.{ext}"
    pixels = loaded.pixels if loaded.pixels.ndim == 3 else np.dstack([loaded.pixels] * 3)
    write_image(out, pixels, exif=loaded.exif, quality=100)
    again = read_image(out)
    assert again.pixels.shape == pixels.shape
    assert Image.open(out).getexif().get(0x0112, 1) == 1


def test_exif_orientation_rotates_alpha_too(tmp_path: Path) -> None:
    rgba = np.dstack([smooth_rgb(20, 30), noise((20, 30), seed=5)])
    path = with_orientation(tmp_path / "o6.png", rgba, 6)
    loaded = read_image(path)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    np.testing.assert_array_equal(loaded.pixels, expected[..., :3])
    np.testing.assert_array_equal(loaded.alpha, expected[..., 3])


def test_exif_orientation_of_a_16bit_png(tmp_path: Path) -> None:
    gray16 = noise((20, 30), np.uint16, seed=6)
    path = with_orientation(tmp_path / "o8.png", gray16, 8)
    loaded = read_image(path)
    assert loaded.pixels.dtype == np.uint16
    np.testing.assert_array_equal(loaded.pixels, np.rot90(gray16, 1))


def test_broken_exif_does_not_stop_the_photo(tmp_path: Path) -> None:
    path = tmp_path / "broken_exif.jpg"
    Image.fromarray(smooth_rgb()).save(path, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")
    assert read_image(path).pixels.shape == (48, 64, 3)


def test_metadata_of_a_tiff_can_be_written_to_any_format(tmp_path: Path) -> None:
    # A TIFF's EXIF holds its strip layout; carried into a new file it must not break the encoder.
    src = with_orientation(tmp_path / "scan.tif", smooth_rgb(30, 44), 6)
    loaded = read_image(src)
    for ext in ("tif", "jpg", "png", "webp"):
        out = tmp_path / f"out.{ext}"
        write_image(out, loaded.pixels, exif=loaded.exif)
        assert read_image(out).pixels.shape == (44, 30, 3)


# -- modes: gray, alpha, palette, CMYK, bilevel, animation ---------------------------------

def test_grayscale_is_read_as_2d(tmp_path: Path) -> None:
    gray = noise((25, 35), seed=7)
    for ext in ("png", "jpg", "tif", "bmp", "webp"):
        path = tmp_path / f"gray.{ext}"
        Image.fromarray(gray).save(path)
        loaded = read_image(path)
        assert loaded.pixels.ndim == 2 or ext == "webp"  # WebP stores RGB
        if ext in ("png", "tif", "bmp"):
            np.testing.assert_array_equal(loaded.pixels, gray)


def test_gray_with_alpha_and_bilevel(tmp_path: Path) -> None:
    la = np.dstack([noise((20, 30), seed=8), noise((20, 30), seed=9)])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    loaded = read_image(tmp_path / "la.png")
    np.testing.assert_array_equal(loaded.pixels, la[..., 0])
    np.testing.assert_array_equal(loaded.alpha, la[..., 1])
    bits = noise((20, 30), seed=10) > 127
    for ext in ("png", "tif"):
        Image.fromarray(bits).save(tmp_path / f"bits.{ext}")
        np.testing.assert_array_equal(read_image(tmp_path / f"bits.{ext}").pixels, bits.astype(np.uint8) * 255)


@pytest.mark.parametrize("ext", ["png", "webp", "tif"])
def test_rgba_alpha_is_kept_through_a_write(tmp_path: Path, ext: str) -> None:
    rgba = np.dstack([smooth_rgb(), noise((48, 64), seed=11)])
    src = tmp_path / "in.png"
    Image.fromarray(rgba).save(src)
    loaded = read_image(src)
    np.testing.assert_array_equal(loaded.pixels, rgba[..., :3])
    np.testing.assert_array_equal(loaded.alpha, rgba[..., 3])
    out = tmp_path / f"out.{ext}"
    write_image(out, loaded.pixels, alpha=loaded.alpha, quality=100)
    np.testing.assert_array_equal(read_image(out).alpha, rgba[..., 3])


@pytest.mark.parametrize("ext", ["jpg", "bmp"])
def test_formats_without_alpha_drop_it(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"out.{ext}"
    write_image(out, smooth_rgb(), alpha=np.full((48, 64), 7, np.uint8))
    assert read_image(out).alpha is None


def test_8bit_alpha_on_a_16bit_image_is_rescaled_not_cast(tmp_path: Path) -> None:
    rgb16 = noise((20, 30, 3), np.uint16, seed=12)
    alpha8 = noise((20, 30), seed=13)
    write_image(tmp_path / "out.png", rgb16, alpha=alpha8)
    back = read_image(tmp_path / "out.png")
    assert back.alpha.dtype == np.uint16
    np.testing.assert_array_equal(back.alpha, alpha8.astype(np.uint16) * 257)
    write_image(tmp_path / "out.webp", rgb16, alpha=alpha8, quality=100)
    np.testing.assert_array_equal(read_image(tmp_path / "out.webp").alpha, alpha8)
    alpha16 = alpha8.astype(np.uint16) * 257
    write_image(tmp_path / "out8.png", smooth_rgb(20, 30), alpha=alpha16)
    np.testing.assert_array_equal(read_image(tmp_path / "out8.png").alpha, alpha8)


@pytest.mark.parametrize("ext", ["png", "gif"])
def test_palette_with_transparency(tmp_path: Path, ext: str) -> None:
    pal = Image.fromarray(smooth_rgb()).quantize(16)
    path = tmp_path / f"pal.{ext}"
    pal.save(path, transparency=3)
    loaded = read_image(path)
    expected = np.asarray(Image.open(path).convert("RGBA"))
    np.testing.assert_array_equal(loaded.pixels, expected[..., :3])
    np.testing.assert_array_equal(loaded.alpha, expected[..., 3])
    assert (loaded.alpha == 0).any() and (loaded.alpha == 255).any()


def test_palette_without_transparency_has_no_alpha(tmp_path: Path) -> None:
    path = tmp_path / "pal.png"
    Image.fromarray(smooth_rgb()).quantize(16).save(path)
    loaded = read_image(path)
    assert loaded.alpha is None and loaded.pixels.shape == (48, 64, 3)


@pytest.mark.parametrize("ext", ["jpg", "tif"])
def test_cmyk(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"cmyk.{ext}"
    Image.fromarray(smooth_rgb()).convert("CMYK").save(path)
    assert Image.open(path).mode == "CMYK"
    loaded = read_image(path)
    assert loaded.pixels.shape == (48, 64, 3) and loaded.pixels.dtype == np.uint8
    np.testing.assert_array_equal(loaded.pixels, np.asarray(Image.open(path).convert("RGB")))


@pytest.mark.parametrize("ext", ["gif", "webp", "png"])
def test_animated_images_give_the_first_frame_and_say_so(tmp_path: Path, ext: str) -> None:
    frames = [Image.fromarray(np.full((16, 24, 3), v, np.uint8)) for v in (40, 128, 250)]
    path = tmp_path / f"anim.{ext}"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = read_image(path)
    assert loaded.frames == 3
    assert len(loaded.notes) == 1 and "first of 3 frames" in loaded.notes[0]
    assert np.abs(loaded.pixels.astype(int) - 40).max() <= 2


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (1, 500)])
@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "bmp", "webp"])
def test_one_pixel_and_one_row_images(tmp_path: Path, shape: tuple[int, int], ext: str) -> None:
    rgb = noise(shape + (3,), seed=14)
    path = tmp_path / f"thin.{ext}"
    write_image(path, rgb, quality=100)
    loaded = read_image(path)
    assert loaded.pixels.shape == rgb.shape
    if ext in ("png", "tif", "bmp"):
        np.testing.assert_array_equal(loaded.pixels, rgb)


# -- broken files --------------------------------------------------------------------------

def good_bytes(tmp_path: Path, ext: str, sixteen: bool = False) -> bytes:
    path = tmp_path / f"good.{ext}"
    if sixteen:
        cv2.imwrite(str(path), noise((64, 80, 3), np.uint16, seed=15))
    else:
        Image.fromarray(np.dstack([noise((64, 80), seed=16)] * 3)).save(path)
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.mark.parametrize(("ext", "sixteen"), [("jpg", False), ("png", False), ("tif", False), ("png", True),
                                              ("tif", True), ("webp", False), ("gif", False), ("bmp", False)])
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.95])
def test_truncated_files(tmp_path: Path, ext: str, sixteen: bool, fraction: float) -> None:
    data = good_bytes(tmp_path, ext, sixteen)
    path = tmp_path / f"cut.{ext}"
    path.write_bytes(data[: max(1, int(len(data) * fraction))])
    message = expect_read_error(path, "cannot decode image|not an image file")
    if ext in ("jpg", "png") and fraction >= 0.5:
        assert "truncated" in message


def test_truncated_file_gives_one_line_and_no_decoder_chatter(tmp_path: Path,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    for ext, sixteen in (("png", False), ("tif", False), ("png", True)):
        data = good_bytes(tmp_path, ext, sixteen)
        path = tmp_path / f"cut.{ext}"
        path.write_bytes(data[: len(data) // 2])
        expect_read_error(path, "cannot decode image")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""  # OpenCV logs straight to the C stderr otherwise


def test_empty_missing_folder_and_non_image(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    expect_read_error(tmp_path / "empty.jpg", "empty")
    expect_read_error(tmp_path / "missing.jpg", "no such file")
    expect_read_error(tmp_path, "is a folder")
    (tmp_path / "notes.jpg").write_text("this is not a photo\n" * 20, "utf-8")
    expect_read_error(tmp_path / "notes.jpg", "not an image file")
    (tmp_path / "page.png").write_text("<html><body>404 Not Found</body></html>", "utf-8")
    expect_read_error(tmp_path / "page.png", "not an image file")
    (tmp_path / "model.jpg").write_bytes(b"PK\x03\x04" + bytes(100))
    expect_read_error(tmp_path / "model.jpg", "not an image file")


def test_corrupt_middle_of_a_jpeg(tmp_path: Path) -> None:
    data = bytearray(good_bytes(tmp_path, "jpg"))
    start = data.index(b"\xff\xda") + 20  # inside the entropy-coded data
    data[start:start + 200] = bytes(200)
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(bytes(data))
    try:  # a decoder may recover from this (grey blocks) or refuse; it must not crash
        assert read_image(path).pixels.shape == (64, 80, 3)
    except ImageReadError as exc:
        assert str(exc).startswith(str(path))


# -- decompression bombs -------------------------------------------------------------------

def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A valid PNG header claiming width x height pixels, followed by a tiny IDAT."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type,
                                                                   0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + png_chunk(b"IEND", b""))


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to decode pixels fails the test: refusals must come from the header alone."""

    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", boom)
    monkeypatch.setattr(images.ImageFile.ImageFile, "load", boom)
    monkeypatch.setattr(images.cv2, "imdecode", boom)


@pytest.mark.parametrize(("bit_depth", "colour_type", "suffix"), [(8, 0, "png"), (16, 2, "png"), (8, 6, "jpg")])
def test_header_claiming_100k_by_100k_is_refused_before_decoding(tmp_path: Path, no_decoding: None,
                                                                   bit_depth: int, colour_type: int,
                                                                   suffix: str) -> None:
    path = tmp_path / f"bomb.{suffix}"
    path.write_bytes(png_claiming(100_000, 100_000, bit_depth, colour_type))
    message = expect_read_error(path, "over the limit")
    assert "100000 x 100000" in message and "250 megapixels" in message and "--max-megapixels" in message


def test_jpeg_header_claiming_a_huge_size_is_refused(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    data = bytearray(good_bytes(tmp_path, "jpg"))
    request.getfixturevalue("no_decoding")
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)  # height, width
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bytes(data))
    assert "65000 x 65000" in expect_read_error(path, "over the limit")


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    Image.fromarray(smooth_rgb(100, 100)).save(path)
    message = expect_read_error(path, "over the limit", max_pixels=9_999)
    assert "100 x 100 = 0.01 megapixels" in message and "limit of 0.01 megapixels" in message
    assert read_image(path, max_pixels=10_000).pixels.shape == (100, 100, 3)
    # With the limit raised, a lying header is decoded and found to be truncated, without a crash.
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(40_000, 30_000))
    expect_read_error(bomb, "truncated|cannot decode", max_pixels=2_000_000_000)


def test_opencv_failure_falls_back_to_pillow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gray16 = noise((20, 30), np.uint16, seed=17)
    path = tmp_path / "g16.png"
    Image.fromarray(gray16).save(path)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise cv2.error("OpenCV refused")

    monkeypatch.setattr(images.cv2, "imdecode", refuse)
    np.testing.assert_array_equal(read_image(path).pixels, gray16)


# -- paths ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["фото été 照片 🌈.png", "naïve café (1950).JPG", "two  spaces 'quotes'.tif",
                                  "照" * 80 + ".png", "a" * 250 + ".jpg"])
def test_non_ascii_and_long_names(tmp_path: Path, name: str) -> None:
    rgb = smooth_rgb()
    path = tmp_path / name
    write_image(path, rgb, quality=100)
    assert listing(tmp_path) == [name]
    assert read_image(path).pixels.shape == rgb.shape


def test_very_long_path(tmp_path: Path) -> None:
    folder = tmp_path.joinpath(*(["dossier-très-long-" + "x" * 180] * 16))
    folder.mkdir(parents=True)
    path = folder / ("photo é " * 20 + ".png")
    assert len(str(path).encode()) > 3000
    write_image(path, smooth_rgb())
    np.testing.assert_array_equal(read_image(path).pixels, smooth_rgb())


# -- atomic writes -------------------------------------------------------------------------

@pytest.fixture
def existing(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "out" / "result.png"
    path.parent.mkdir()
    write_image(path, smooth_rgb(seed=3))
    return path, path.read_bytes()


def test_encoder_failure_leaves_the_existing_file(existing: tuple[Path, bytes],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path, before = existing

    def half_written(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        Path(fp).write_bytes(b"\x89PNG\r\n\x1a\n partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_written)
    with pytest.raises(ImageWriteError, match="No space left") as info:
        write_image(path, smooth_rgb(seed=4))
    assert str(info.value).startswith(str(path))
    assert path.read_bytes() == before
    assert listing(path.parent) == ["result.png"]


def test_16bit_encoder_failure_leaves_the_existing_file(existing: tuple[Path, bytes],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path, before = existing
    monkeypatch.setattr(images.cv2, "imencode", lambda *a, **k: (False, None))
    with pytest.raises(ImageWriteError, match="could not encode"):
        write_image(path, noise((10, 10, 3), np.uint16))
    assert path.read_bytes() == before
    assert listing(path.parent) == ["result.png"]


def test_interrupt_during_write_leaves_the_existing_file(existing: tuple[Path, bytes],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path, before = existing

    def interrupted(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        Path(fp).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_image(path, smooth_rgb(seed=4))
    assert path.read_bytes() == before
    assert listing(path.parent) == ["result.png"]


def test_successful_write_replaces_the_file_whole(existing: tuple[Path, bytes]) -> None:
    path, before = existing
    write_image(path, np.zeros((2, 3, 3), np.uint8))
    assert read_image(path).pixels.shape == (2, 3, 3)
    assert listing(path.parent) == ["result.png"]


def test_missing_output_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError, match="cannot write") as info:
        write_image(tmp_path / "no" / "such" / "out.png", smooth_rgb())
    assert str(tmp_path / "no" / "such" / "out.png") in str(info.value)
    assert listing(tmp_path) == []


@pytest.mark.parametrize(
    ("rgb", "alpha", "match"),
    [
        (np.zeros((4, 4), np.uint8), None, r"\(H, W, 3\)"),
        (np.zeros((4, 4, 4), np.uint8), None, r"\(H, W, 3\)"),
        (np.zeros((4, 4, 3), np.float32), None, "uint8 or uint16"),
        ([[0, 0, 0]], None, "list"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.uint8), "alpha"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), "alpha"),
    ],
    ids=["2-D", "4 channels", "float", "list", "alpha shape", "alpha dtype"],
)
def test_bad_arrays_are_refused_before_writing(tmp_path: Path, rgb: Any, alpha: Any, match: str) -> None:
    with pytest.raises(ImageWriteError, match=match):
        write_image(tmp_path / "out.png", rgb, alpha=alpha)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("quality", [0, 101, -5])
def test_bad_quality(tmp_path: Path, quality: int) -> None:
    with pytest.raises(ImageWriteError, match="quality"):
        write_image(tmp_path / "out.jpg", smooth_rgb(), quality=quality)


def test_icc_profile_and_description_are_carried(tmp_path: Path) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "in.jpg"
    Image.fromarray(smooth_rgb()).save(src, icc_profile=icc)
    loaded = read_image(src)
    assert loaded.icc_profile == icc
    for ext in ("jpg", "png", "webp", "tif"):
        out = tmp_path / f"out.{ext}"
        write_image(out, loaded.pixels, icc_profile=loaded.icc_profile, exif=loaded.exif, description="Colorized")
        assert read_image(out).icc_profile == icc
        assert Image.open(out).getexif().get(0x010E) == "Colorized"


# -- metadata of 16-bit outputs (OpenCV encodes them and writes none itself) ---------------

def _source_metadata() -> tuple[bytes, bytes]:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "Nikon"  # Make
    exif[0x0132] = "2003:04:05 06:07:08"  # DateTime (when the scan was made)
    exif.get_ifd(0x8769)[0x9003] = "1962:07:01 10:00:00"  # DateTimeOriginal (when the photo was taken)
    return exif.tobytes(), icc


def _png_chunks(data: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kinds.append(data[pos + 4:pos + 8])
        pos += 12 + length
    return kinds


@pytest.mark.parametrize(("description", "text_chunk"), [
    ("Colorized by ColorStudio 0.1.0 (model: défaut, 2 hints)", b"tEXt"),
    ("Colorized by ColorStudio (model: カラー)", b"iTXt"),  # not Latin-1: the UTF-8 text chunk
], ids=["latin-1", "unicode"])
@pytest.mark.parametrize("with_alpha", [False, True], ids=["rgb", "rgba"])
def test_16bit_png_carries_exif_icc_and_description(tmp_path: Path, description: str, text_chunk: bytes,
                                                    with_alpha: bool) -> None:
    exif, icc = _source_metadata()
    rgb16 = noise((30, 40, 3), np.uint16, seed=20)
    alpha = noise((30, 40), np.uint16, seed=21) if with_alpha else None
    path = tmp_path / "out16.png"
    write_image(path, rgb16, alpha=alpha, exif=exif, icc_profile=icc, description=description)

    data = path.read_bytes()
    assert images._png_is_whole(data)  # every chunk's CRC is right
    kinds = _png_chunks(data)
    assert kinds[:4] == [b"IHDR", b"iCCP", b"eXIf", text_chunk] and kinds[-1] == b"IEND"
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16  # still 16 bits for other readers
    back = read_image(path)
    np.testing.assert_array_equal(back.pixels, rgb16)
    if with_alpha:
        np.testing.assert_array_equal(back.alpha, alpha)
    with Image.open(path) as im:
        assert im.text["Description"] == description
        assert im.info["icc_profile"] == icc
        tags = im.getexif()
        assert tags[0x010F] == "Nikon" and tags[0x0132] == "2003:04:05 06:07:08" and tags[0x0131] == "ColorStudio"
        assert tags[0x010E].startswith("Colorized by ColorStudio")
        assert tags.get_ifd(0x8769)[0x9003] == "1962:07:01 10:00:00"
    assert back.icc_profile == icc and back.exif is not None


def test_16bit_png_without_metadata_has_no_metadata_chunks(tmp_path: Path) -> None:
    path = tmp_path / "plain16.png"
    write_image(path, noise((10, 12, 3), np.uint16, seed=22))
    assert _png_chunks(path.read_bytes()) == [b"IHDR", b"IDAT", b"IEND"]


@pytest.mark.parametrize("with_alpha", [False, True], ids=["rgb", "rgba"])
def test_16bit_tiff_carries_description_icc_and_date(tmp_path: Path, with_alpha: bool) -> None:
    tifffile = pytest.importorskip("tifffile")
    exif, icc = _source_metadata()
    rgb16 = noise((30, 40, 3), np.uint16, seed=23)
    alpha = noise((30, 40), np.uint16, seed=24) if with_alpha else None
    path = tmp_path / "out16.tif"
    write_image(path, rgb16, alpha=alpha, exif=exif, icc_profile=icc, description="Colorized by ColorStudio")

    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    back = read_image(path)
    np.testing.assert_array_equal(back.pixels, rgb16)
    if with_alpha:
        np.testing.assert_array_equal(back.alpha, alpha)
    with Image.open(path) as im:
        assert im.info["icc_profile"] == icc
        tags = im.getexif()
        assert tags[0x010E] == "Colorized by ColorStudio" and tags[0x0131] == "ColorStudio"
        assert tags[0x0132] == "1962:07:01 10:00:00"  # the photo's own date (DateTimeOriginal)
        assert tags[0x010F] == "Nikon"
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16 and page.shape == (30, 40, 4 if with_alpha else 3)
        assert page.tags["ImageDescription"].value == "Colorized by ColorStudio"
        assert page.tags["InterColorProfile"].value == icc


def test_16bit_tiff_without_tifffile_is_written_by_opencv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tifffile", None)  # import tifffile raises ImportError
    exif, icc = _source_metadata()
    rgb16 = noise((20, 30, 3), np.uint16, seed=25)
    path = tmp_path / "cv16.tif"
    write_image(path, rgb16, exif=exif, icc_profile=icc, description="Colorized")
    np.testing.assert_array_equal(read_image(path).pixels, rgb16)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_16bit_tiff_skips_unusable_dates(tmp_path: Path) -> None:
    pytest.importorskip("tifffile")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "    :  :     :  :  "  # how cameras write "no date"
    exif[0x0132] = "2003:04:05 06:07:08"
    path = tmp_path / "dates.tif"
    write_image(path, noise((10, 12, 3), np.uint16, seed=26), exif=exif.tobytes())
    with Image.open(path) as im:
        assert im.getexif()[0x0132] == "2003:04:05 06:07:08"
        assert 0x0131 not in im.getexif()  # no "tifffile.py" software tag


@pytest.mark.parametrize("ext", ["jpg", "png", "tif"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_profile_of_a_gray_scan_is_not_put_on_a_colour_output(tmp_path: Path, ext: str, dtype: type) -> None:
    _, icc = _source_metadata()
    gray_icc = icc[:16] + b"GRAY" + icc[20:]  # the header's colour space: a one-channel profile
    path = tmp_path / f"out.{ext}"
    write_image(path, noise((10, 12, 3), dtype, seed=27), icc_profile=gray_icc)
    with Image.open(path) as im:
        assert "icc_profile" not in im.info or not im.info["icc_profile"]


def test_to_8bit_rounds_16_bit_codes_and_leaves_8_bit_alone() -> None:
    codes = np.array([0, 128, 129, 32896, 65535], dtype=np.uint16)
    assert to_8bit(codes).tolist() == [0, 0, 1, 128, 255]
    assert to_8bit(codes).dtype == np.uint8
    eight = np.arange(256, dtype=np.uint8)
    assert to_8bit(eight) is eight


# -- resolution (dots per inch): a 600 dpi scan prints at its size after colorizing ---------

@pytest.mark.parametrize("ext", ["jpg", "png", "tif", "bmp"])
def test_resolution_is_read(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"scan.{ext}"
    Image.fromarray(smooth_rgb()[..., 0]).save(path, dpi=(1200, 600))
    assert read_image(path).dpi == (1200.0, 600.0)  # PNG and BMP store pixels per metre: rounded back
    plain = tmp_path / f"plain.{ext}"
    Image.fromarray(smooth_rgb()[..., 0]).save(plain)
    assert read_image(plain).dpi in (None, (72.0, 72.0), (96.0, 96.0))  # the format's own default, if any


def test_resolution_of_a_16bit_tiff_and_a_turned_photo(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "scan16.tif"
    tifffile.imwrite(path, noise((20, 30), np.uint16, seed=30), resolution=(2400, 1200), resolutionunit="INCH")
    assert read_image(path).dpi == (2400.0, 1200.0)
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # turned by 90 degrees: the photo's horizontal axis is the file's vertical one
    Image.fromarray(smooth_rgb()).save(turned, exif=exif.tobytes(), dpi=(300, 600))
    loaded = read_image(turned)
    assert loaded.pixels.shape[:2] == (64, 48) and loaded.dpi == (600.0, 300.0)
    # WebP has no resolution field of its own; its EXIF says the upright photo's, not the file's turned one
    write_image(tmp_path / "out.webp", loaded.pixels, exif=loaded.exif, description="Colorized", dpi=loaded.dpi)
    tags = Image.open(tmp_path / "out.webp").getexif()
    assert (float(tags[0x011A]), float(tags[0x011B])) == (600.0, 300.0)


@pytest.mark.parametrize("ext", ["jpg", "png", "tif", "bmp"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_resolution_is_written(tmp_path: Path, ext: str, dtype: type) -> None:
    exif, _ = _source_metadata()
    path = tmp_path / f"out.{ext}"
    write_image(path, noise((10, 12, 3), dtype, seed=31), exif=exif, description="Colorized", dpi=(600, 300))
    assert read_image(path).dpi == (600.0, 300.0)
    if ext == "png" and dtype == np.uint16:  # OpenCV's PNG: our own pHYs chunk, CRC checked
        assert b"pHYs" in _png_chunks(path.read_bytes()) and images._png_is_whole(path.read_bytes())
    if ext != "bmp":  # the EXIF resolution agrees with the format's own field
        tags = Image.open(path).getexif()
        assert (float(tags[0x011A]), float(tags[0x011B]), tags[0x0128]) == (600.0, 300.0, 2)


def test_resolution_is_left_out_where_the_format_has_none(tmp_path: Path) -> None:
    write_image(tmp_path / "out.webp", smooth_rgb(), dpi=(600, 600))
    assert read_image(tmp_path / "out.webp").dpi is None
    write_image(tmp_path / "plain16.png", noise((10, 12, 3), np.uint16, seed=32), dpi=None)
    assert b"pHYs" not in _png_chunks((tmp_path / "plain16.png").read_bytes())


@pytest.mark.parametrize("dpi", [(0, 300), (300, -1), (float("nan"), 300), (300, float("inf")), (300,), "600"])
def test_bad_resolution_is_refused(tmp_path: Path, dpi: Any) -> None:
    with pytest.raises(ImageWriteError, match="resolution"):
        write_image(tmp_path / "out.png", smooth_rgb(), dpi=dpi)
    assert not (tmp_path / "out.png").exists()


# -- 8-bit TIFF from a camera file: EXIF with sub-directories (Pillow's libtiff writer failed on them) --

@pytest.mark.parametrize("with_tifffile", [True, False], ids=["tifffile", "pillow"])
@pytest.mark.parametrize("with_alpha", [False, True], ids=["rgb", "rgba"])
def test_8bit_tiff_from_exif_with_sub_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  with_tifffile: bool, with_alpha: bool) -> None:
    import sys

    if with_tifffile:
        pytest.importorskip("tifffile")
    else:
        monkeypatch.setitem(sys.modules, "tifffile", None)  # import tifffile raises ImportError
    exif = Image.Exif()
    exif.load(_source_metadata()[0])  # Make, DateTime and an EXIF directory with DateTimeOriginal
    exif.get_ifd(0x8825)[1] = "N"  # and a GPS directory
    rgb = noise((20, 30, 3), np.uint8, seed=33)
    alpha = noise((20, 30), np.uint8, seed=34) if with_alpha else None
    path = tmp_path / "out.tif"
    write_image(path, rgb, alpha=alpha, exif=exif.tobytes(), description="Colorized", dpi=(300, 300))
    back = read_image(path)
    np.testing.assert_array_equal(back.pixels, rgb)
    if with_alpha:
        np.testing.assert_array_equal(back.alpha, alpha)
    assert back.dpi == (300.0, 300.0)
    with Image.open(path) as im:
        tags = im.getexif()
        assert tags[0x010F] == "Nikon" and tags[0x010E] == "Colorized"
        # tifffile puts the photo's own date in DateTime; Pillow keeps the main directory's
        assert tags[0x0132] == ("1962:07:01 10:00:00" if with_tifffile else "2003:04:05 06:07:08")


# -- TIFF layouts from scanning and archive software ----------------------------------------

def _ramp16(height: int = 30, width: int = 40) -> np.ndarray:
    return (np.arange(height * width, dtype=np.float64).reshape(height, width) * 65535 / (height * width - 1)
            ).round().astype(np.uint16)


def test_floating_point_tiffs_are_read_as_0_to_1(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    ramp = _ramp16()
    gray = tmp_path / "gray32f.tif"  # Pillow opens this one (mode F)
    Image.fromarray((ramp / 65535).astype(np.float32)).save(gray)
    rgb = tmp_path / "rgb32f.tif"  # and not this one: tifffile reads it
    tifffile.imwrite(rgb, np.dstack([ramp / 65535] * 3).astype(np.float32), photometric="rgb")
    for path in (gray, rgb):
        loaded = read_image(path)
        assert loaded.pixels.dtype == np.uint16
        assert np.abs(loaded.pixels.astype(int) - (ramp if path == gray else np.dstack([ramp] * 3))).max() <= 1
    nan = tmp_path / "nan.tif"
    tifffile.imwrite(nan, np.where(ramp > 30000, np.nan, ramp / 65535).astype(np.float32))
    assert read_image(nan).pixels[ramp > 30000].max() == 0  # NaN is black, the rest is read
    # A few samples above 1.0 (sharpening, an HDR merge) are clipped: the photo is still 0..1.
    over = (ramp / 65535).astype(np.float32)
    over.flat[:3] = (1.0001, 1.2, 3.0)
    tifffile.imwrite(tmp_path / "over.tif", over)
    got = read_image(tmp_path / "over.tif").pixels
    assert got.flat[:3].tolist() == [65535] * 3 and np.abs(got.astype(int) - ramp).ravel()[3:].max() <= 1
    tifffile.imwrite(tmp_path / "codes.tif", (ramp / 257).astype(np.float32))  # 8-bit codes as floats: 0..255
    assert np.abs(read_image(tmp_path / "codes.tif").pixels.astype(int) - ramp).max() <= 257


@pytest.mark.parametrize("layout", ["gray+alpha", "planar rgb", "uint32", "multi-page", "big-endian"])
def test_16bit_tiff_layouts(tmp_path: Path, layout: str) -> None:
    tifffile = pytest.importorskip("tifffile")
    ramp, path = _ramp16(), tmp_path / "scan.tif"
    if layout == "gray+alpha":  # Pillow cannot open it
        tifffile.imwrite(path, np.dstack([ramp, 65535 - ramp]), photometric="minisblack",
                         extrasamples=["unassalpha"], resolution=(600, 600), resolutionunit="INCH")
    elif layout == "planar rgb":  # OpenCV reads its planes as pixels
        tifffile.imwrite(path, np.stack([ramp, ramp // 2, ramp // 4]), photometric="rgb", planarconfig="separate")
    elif layout == "uint32":  # Pillow reads it as signed
        tifffile.imwrite(path, ramp.astype(np.uint32) * 65537)
    elif layout == "multi-page":
        tifffile.imwrite(path, np.stack([ramp, 65535 - ramp]))
    else:
        tifffile.imwrite(path, ramp, byteorder=">")
    loaded = read_image(path)
    want = np.dstack([ramp, ramp // 2, ramp // 4]) if layout == "planar rgb" else ramp
    np.testing.assert_array_equal(loaded.pixels, want)
    if layout == "gray+alpha":
        np.testing.assert_array_equal(loaded.alpha, 65535 - ramp)
        assert loaded.dpi == (600.0, 600.0)
    assert loaded.notes == (["multi-page file: only the first of 2 pages is used"] if layout == "multi-page" else [])


def test_lzw_16bit_tiff_is_read_without_imagecodecs(tmp_path: Path) -> None:
    path = tmp_path / "lzw.tif"
    rgb16 = noise((20, 30, 3), np.uint16, seed=35)
    cv2.imwrite(str(path), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))  # OpenCV writes LZW
    np.testing.assert_array_equal(read_image(path).pixels, rgb16)  # OpenCV decodes what tifffile cannot


def test_tiff_tifffile_cannot_read_either_is_refused_with_a_message(tmp_path: Path,
                                                                    capfd: pytest.CaptureFixture[str]) -> None:
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "cmyka.tif"  # five samples per pixel: neither Pillow nor our tifffile reader
    tifffile.imwrite(path, noise((10, 12, 5), np.uint16, seed=36), photometric="separated",
                     extrasamples=["unassalpha"])
    expect_read_error(path, "a TIFF layout this program cannot read")
    damaged = tmp_path / "damaged.tif"
    damaged.write_bytes(b"II*\x00" + b"\xff" * 60)
    expect_read_error(damaged, "not an image file")
    assert capfd.readouterr().err == ""  # no decoder or tifffile chatter


# -- JPEG 2000 and AVIF (read by Pillow's own codecs), HEIC (refused with what to do) --------

@pytest.mark.parametrize(("ext", "feature"), [("jp2", "jpg_2000"), ("avif", "avif")])
def test_jpeg2000_and_avif_are_photos_where_pillow_reads_them(tmp_path: Path, ext: str, feature: str) -> None:
    from PIL import features

    if not features.check(feature):
        assert f".{ext}" not in images.READ_SUFFIXES
        pytest.skip(f"this Pillow has no {feature} codec")
    assert f".{ext}" in images.READ_SUFFIXES
    gray = smooth_rgb()[..., 1]
    path = tmp_path / f"scan.{ext}"
    Image.fromarray(gray).save(path, **({"irreversible": False} if ext == "jp2" else {"lossless": True}))
    pixels = read_image(path).pixels
    assert pixels.shape[:2] == gray.shape
    error = np.abs(pixels.astype(int) - (gray[..., None] if pixels.ndim == 3 else gray)).max()
    assert error <= (0 if ext == "jp2" else 6)  # lossless JPEG 2000; AVIF goes through YUV even when lossless


def test_16bit_jpeg2000_keeps_16_bits(tmp_path: Path) -> None:
    from PIL import features

    if not features.check("jpg_2000"):
        pytest.skip("this Pillow has no JPEG 2000 codec")
    ramp = _ramp16()
    path = tmp_path / "scan16.jp2"
    Image.fromarray(ramp).save(path, irreversible=False)  # lossless
    np.testing.assert_array_equal(read_image(path).pixels, ramp)


def test_heic_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(range(256)) * 8)
    message = expect_read_error(path, "HEIC/HEIF photo")
    assert "JPEG or PNG" in message


# -- an archive's captions: XMP, IPTC and the EXIF caption ---------------------------------------
XMP_TURNED = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"'
              b' tiff:Orientation="6"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Hochzeit 1932, K\xc3\xb6ln'
              b'</rdf:li></rdf:Alt></dc:title><dc:rights>Stadtarchiv</dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>')


def iptc_records(**fields: bytes) -> bytes:
    """IPTC-IIM application records (record 2): caption 120, copyright 116."""
    numbers = {"caption": 120, "copyright": 116}
    return b"".join(b"\x1c\x02" + bytes([numbers[k]]) + struct.pack(">H", len(v)) + v for k, v in fields.items())


def archive_scan(path: Path) -> Path:
    """A JPEG scan turned by EXIF orientation 6, with an EXIF caption, XMP and IPTC records."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010E] = "Wedding, Cologne 1932"
    iptc = iptc_records(caption=b"Wedding, Cologne 1932", copyright=b"City archive")
    app13 = images._photoshop_iptc_segment(iptc)
    Image.fromarray(smooth_rgb(40, 60)).save(path, "JPEG", exif=exif.tobytes(), xmp=XMP_TURNED, extra=app13)
    return path


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif", ".webp"])
def test_captions_keywords_and_rights_of_a_scan_are_carried(tmp_path: Path, ext: str) -> None:
    from PIL import IptcImagePlugin

    src = read_image(archive_scan(tmp_path / "scan.jpg"))
    assert src.pixels.shape[:2] == (60, 40)  # turned upright
    assert src.xmp is not None and b'tiff:Orientation="1"' in src.xmp  # ... so the XMP no longer turns it
    assert src.iptc == iptc_records(caption=b"Wedding, Cologne 1932", copyright=b"City archive")
    out = tmp_path / f"out{ext}"
    write_image(out, src.pixels, exif=src.exif, description="Colorized by ColorStudio 0.1.0 (model: default)",
                xmp=src.xmp, iptc=src.iptc)
    with Image.open(out) as im:
        assert im.info.get("xmp") == src.xmp  # title (UTF-8), rights, all of it
        if ext in (".jpg", ".tif"):
            info = IptcImagePlugin.getiptcinfo(im)
            assert info[(2, 120)] == b"Wedding, Cologne 1932" and info[(2, 116)] == b"City archive"
        assert im.getexif().get(0x010E) == ("Wedding, Cologne 1932 "
                                            "[Colorized by ColorStudio 0.1.0 (model: default)]")
    again = read_image(out)  # colorizing the output again does not pile up notes
    assert again.xmp == src.xmp
    write_image(tmp_path / f"again{ext}", again.pixels, exif=again.exif, description="Colorized by ColorStudio 0.2",
                xmp=again.xmp)
    with Image.open(tmp_path / f"again{ext}") as im:
        assert im.getexif().get(0x010E) == "Wedding, Cologne 1932 [Colorized by ColorStudio 0.2]"


def test_a_16bit_png_carries_the_xmp_of_a_16bit_tiff(tmp_path: Path) -> None:
    import tifffile

    xmp = XMP_TURNED.replace(b'tiff:Orientation="6"', b'tiff:Orientation="1"')
    rgb16 = (smooth_rgb(24, 32).astype(np.uint16) * 257)
    tifffile.imwrite(tmp_path / "scan.tif", rgb16, photometric="rgb", extratags=[(700, 1, len(xmp), xmp, True)])
    src = read_image(tmp_path / "scan.tif")
    assert src.pixels.dtype == np.uint16 and src.xmp == xmp
    write_image(tmp_path / "out.png", src.pixels, xmp=src.xmp, description="Colorized")
    with Image.open(tmp_path / "out.png") as im:
        assert im.info.get("xmp") == xmp and im.info.get("Description") == "Colorized"
    assert cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_an_xmp_packet_too_long_for_a_jpeg_is_left_out_not_an_error(tmp_path: Path) -> None:
    huge = XMP_TURNED + b" " * 70_000
    write_image(tmp_path / "out.jpg", smooth_rgb(), xmp=huge, iptc=iptc_records(caption=b"x" * 30_000) * 3)
    with Image.open(tmp_path / "out.jpg") as im:
        assert "xmp" not in im.info and im.size == (64, 48)


def _raw_exif_text(im: Image.Image, tag: int) -> str:
    """An EXIF text tag as the bytes in the file say it (Pillow shows them decoded as Latin-1)."""
    value = im.getexif().get(tag)
    return (value.encode("latin-1") if isinstance(value, str) else value).decode("utf-8").rstrip("\0")


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif", ".webp"])
def test_non_ascii_exif_text_is_carried_as_written(tmp_path: Path, ext: str) -> None:
    exif = Image.Exif()
    exif[0x010E] = "Hochzeit in Köln".encode()
    exif[0x8298] = "© 1962 Stadtarchiv München".encode()
    Image.fromarray(smooth_rgb(24, 32)).save(tmp_path / "scan.jpg", exif=exif.tobytes())
    src = read_image(tmp_path / "scan.jpg")
    write_image(tmp_path / f"out{ext}", src.pixels, exif=src.exif, description="Colorized by ColorStudio")
    with Image.open(tmp_path / f"out{ext}") as im:
        assert _raw_exif_text(im, 0x010E) == "Hochzeit in Köln [Colorized by ColorStudio]"  # not "K??ln"
        assert _raw_exif_text(im, 0x8298) == "© 1962 Stadtarchiv München"
        if ext == ".png":
            assert im.info["Description"] == "Hochzeit in Köln [Colorized by ColorStudio]"


def test_a_tiffs_profile_xmp_and_layers_are_not_copied_into_the_exif(tmp_path: Path) -> None:
    import tifffile
    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc += bytes(120_000 - len(icc))  # a big profile, as scanners write: more than a JPEG's EXIF holds
    icc[0:4] = struct.pack(">I", len(icc))
    layers = b"\x00" * 90_000  # Photoshop's ImageSourceData
    tifffile.imwrite(tmp_path / "scan.tif", smooth_rgb(24, 32), photometric="rgb", iccprofile=bytes(icc),
                     extratags=[(37724, 7, len(layers), layers, True), (0x8298, "s", 0, "City archive", True)])
    src = read_image(tmp_path / "scan.tif")
    assert src.icc_profile == bytes(icc) and len(src.exif or b"") < 2000
    for ext in (".jpg", ".png", ".webp"):
        write_image(tmp_path / f"out{ext}", src.pixels, exif=src.exif, icc_profile=src.icc_profile,
                    description="Colorized")
        with Image.open(tmp_path / f"out{ext}") as im:
            tags = im.getexif()
            assert not {34675, 37724} & set(tags) and tags[0x8298].rstrip("\0") == "City archive"
            assert im.info["icc_profile"] == bytes(icc)  # once, in the format's own place
        assert (tmp_path / f"out{ext}").stat().st_size < len(icc) + 30_000  # the profile once, no layers


def test_a_programs_header_in_image_description_is_not_taken_for_a_caption(tmp_path: Path) -> None:
    import tifffile

    tifffile.imwrite(tmp_path / "scan.tif", (smooth_rgb(24, 32)[..., 0].astype(np.uint16) * 257))  # {"shape": ...}
    src = read_image(tmp_path / "scan.tif")
    write_image(tmp_path / "out.jpg", np.dstack([to_8bit(src.pixels)] * 3), exif=src.exif, description="Colorized")
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.getexif().get(0x010E) == "Colorized"


def test_a_photo_wider_than_the_format_holds_is_refused_naming_the_file(tmp_path: Path) -> None:
    wide = np.zeros((2, 16_384, 3), np.uint8)
    with pytest.raises(ImageWriteError, match=r"out\.webp: 16384 x 2 pixels is more than WEBP holds .*use \.png"):
        write_image(tmp_path / "out.webp", wide)
    write_image(tmp_path / "out.png", wide)  # PNG holds it
    assert not list(tmp_path.glob(".*part"))


def test_an_encoders_own_refusal_names_the_file(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x9286] = b"x" * 70_000  # a UserComment bigger than a JPEG's EXIF segment
    with pytest.raises(ImageWriteError, match=r"out\.jpg: cannot write"):
        write_image(tmp_path / "out.jpg", smooth_rgb(), exif=exif.tobytes())
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("kind", ["bigtiff", "long"])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_turned_gray_bigtiff_or_long_orientation_is_read_upright(tmp_path: Path, kind: str,
                                                                  orientation: int) -> None:
    tifffile = pytest.importorskip("tifffile")
    stored = (np.arange(60 * 80).reshape(60, 80) % 251).astype(np.uint8)
    tag = (274, 3 if kind == "bigtiff" else 4, 1, orientation, True)
    tifffile.imwrite(tmp_path / "scan.tif", stored, bigtiff=kind == "bigtiff", extratags=[tag])
    np.testing.assert_array_equal(read_image(tmp_path / "scan.tif").pixels, images._orient(stored, orientation))


def test_a_date_tag_that_is_not_ascii_does_not_stop_a_tiff(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0132] = "2021:01:01 ☃".encode()  # not a date: left out, not an error
    exif[0x8298] = "© Stadtarchiv".encode()
    write_image(tmp_path / "out.tif", smooth_rgb(), exif=exif.tobytes(), description="Colorized")
    with Image.open(tmp_path / "out.tif") as im:
        assert _raw_exif_text(im, 0x8298) == "© Stadtarchiv" and 0x0132 not in im.getexif()
