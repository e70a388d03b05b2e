"""Reading and writing photos.

Reading applies the EXIF orientation, keeps 16-bit precision (PNG/TIFF), keeps alpha,
handles grayscale, palette, CMYK and animated files (first frame), and refuses images
whose header claims more pixels than a configurable limit before decoding them.
Writing is atomic (temporary file + rename) and carries metadata (EXIF, ICC profile, the
scan's resolution in dots per inch) over where the format allows.
"""
from __future__ import annotations

import contextlib
import io
import logging as py_logging
import os
import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .errors import ImageReadError, ImageWriteError
from .fileio import atomic_path, remove_stale_parts

DEFAULT_MAX_PIXELS = 250_000_000
def _pillow_reads(feature: str) -> bool:
    try:
        from PIL import features

        return bool(features.check(feature))
    except Exception:  # noqa: BLE001 - a Pillow that does not know the feature cannot read it
        return False


# Listed but not readable, so that a folder of phone photos says why they fail, not "no photos"
UNREADABLE_SUFFIXES = (".heic", ".heif")
# JPEG 2000 (the archives' format) and AVIF where this Pillow was built with their codecs (its wheels are)
READ_SUFFIXES = ((".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif")
                 + ((".jp2", ".j2k", ".jpx", ".jpf") if _pillow_reads("jpg_2000") else ())
                 + ((".avif",) if _pillow_reads("avif") else ())
                 + UNREADABLE_SUFFIXES)
WRITE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
                 ".bmp": "BMP", ".webp": "WEBP"}
SIXTEEN_BIT_SUFFIXES = (".png", ".tif", ".tiff")
MIN_READ_DPI = 10.0
MAX_DPI = 1_000_000.0  # beyond any scanner; larger values in a file are treated as absent
DPI_FORMATS = ("JPEG", "PNG", "TIFF", "BMP")  # formats with a resolution field (WebP has none)
# Baseline TIFF tags describing how the source's pixels are stored (size, samples, strips, tiles,
# compression, palette...). Copied into another file they describe the wrong pixels, and a TIFF
# written with them cannot be opened again.
_TIFF_LAYOUT_TAGS = (254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 317, 320,
                     322, 323, 324, 325, 338, 339, 340, 341, 530, 531, 532)

_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic and BigTIFF, both byte orders
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")  # ISO BMFF major brands
_SUB_IFD_POINTERS = (0x8769, 0x8825, 0xA005)  # EXIF, GPS and interoperability directories

# We check sizes ourselves (with a clear message); Pillow's own bomb check would raise first.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass
class LoadedImage:
    """A decoded photo, orientation applied."""

    pixels: np.ndarray  # (H, W) or (H, W, 3), uint8 or uint16
    alpha: np.ndarray | None = None  # (H, W), same dtype, or None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    format: str = ""
    frames: int = 1
    notes: list[str] = field(default_factory=list)
    dpi: tuple[float, float] | None = None  # (horizontal, vertical) dots per inch of the upright photo
    xmp: bytes | None = None  # the XMP packet (captions, keywords, rights...), its orientation set to upright
    iptc: bytes | None = None  # IPTC-IIM records (the older caption and rights fields)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an (H, W[, C]) array."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(arr)) if op else arr


# TIFF tags that describe the stored pixels (size, strips, compression...). A TIFF's getexif()
# returns them with the metadata; carried into another file they describe the wrong pixels
# (and Pillow's TIFF encoder fails on them), so they are dropped.
_STRUCTURE_TAGS = frozenset({256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 280, 281, 284, 317, 320, 322, 323,
                             324, 325, 338, 339, 340, 341, 513, 514, 530, 531, 532})


# Tags a TIFF keeps in its first directory that are not EXIF metadata: the XMP packet, IPTC
# records and ICC profile (each carried on its own), Photoshop's resources and layers, GeoTIFF's
# pixel geometry. Left in, they would be stored twice, or make an EXIF block too big for a JPEG.
_NOT_EXIF_TAGS = frozenset({700, 33550, 33723, 33922, 34264, 34377, 34675, 34735, 34736, 34737, 37724, 42112, 42113})


def _text_as_bytes(exif: Image.Exif) -> None:
    """Pillow reads EXIF text as Latin-1 and writes text as 7-bit ASCII, every other character a
    '?': the text tags are given back as the bytes the file holds, which Pillow writes as they are
    (a caption's umlauts, a copyright's ©, in UTF-8 or Latin-1, survive)."""
    for tag, value in list(exif.items()):
        if isinstance(value, str) and not value.isascii():
            with contextlib.suppress(UnicodeEncodeError):
                exif[tag] = value.encode("latin-1")


def _exif_text(value: object) -> str | None:
    """An EXIF text value as text: its bytes read as UTF-8 (what most software writes), else Latin-1."""
    if isinstance(value, str):
        try:
            value = value.encode("latin-1")  # Pillow's reading of the bytes: undo it
        except UnicodeEncodeError:
            return value
    if not isinstance(value, bytes):
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _exif_bytes(im: Image.Image, reset_orientation: bool) -> bytes | None:
    try:
        exif = im.getexif()
        for tag in (_STRUCTURE_TAGS | _NOT_EXIF_TAGS) & set(exif):
            del exif[tag]
        _text_as_bytes(exif)
        if not exif:
            return None
        if reset_orientation and 0x0112 in exif:
            exif[0x0112] = 1
        return exif.tobytes()
    except Exception:  # noqa: BLE001 - broken EXIF must not stop the photo from loading
        return None


_MAX_SIDE = {"JPEG": 65500, "WEBP": 16383}  # pixels a side the format can hold
_JPEG_XMP_MAX = 65533 - 29  # one APP1 segment, less its "http://ns.adobe.com/xap/1.0/\0" header
_XMP_ORIENTATION = re.compile(rb"(tiff:Orientation\s*=\s*[\"']|<tiff:Orientation>\s*)[1-8]")


def _read_xmp(im: Image.Image) -> bytes | None:
    """The file's XMP packet, with tiff:Orientation set to 1 as the EXIF's is (the pixels
    are turned upright when read, so an output must not be turned again)."""
    xmp = im.info.get("xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return _upright_xmp(xmp)


def _upright_xmp(xmp: Any) -> bytes | None:
    """An XMP packet (bytes) with tiff:Orientation set to 1; None if it is not one."""
    if not isinstance(xmp, (bytes, bytearray)) or not bytes(xmp).strip(b"\0 \r\n\t"):
        return None
    return _XMP_ORIENTATION.sub(rb"\g<1>1", bytes(xmp))


def _read_iptc(im: Image.Image) -> bytes | None:
    """The file's IPTC-IIM records: a JPEG's Photoshop resource 0x0404 or a TIFF's IPTC tag."""
    try:
        if im.format == "JPEG":
            data = (im.info.get("photoshop") or {}).get(0x0404)
        elif im.format == "TIFF":
            data = im.tag_v2._tagdata.get(33723)  # raw: Photoshop tags the records as LONGs
        else:
            data = None
    except Exception:  # noqa: BLE001 - unreadable metadata must not stop the photo from loading
        return None
    return bytes(data) if isinstance(data, (bytes, bytearray)) and data.startswith(b"\x1c") else None


def _photoshop_iptc_segment(iptc: bytes) -> bytes | None:
    """A JPEG APP13 segment holding IPTC-IIM records as Photoshop resource 0x0404 (None if too big)."""
    body = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc + b"\0" * (len(iptc) % 2)
    payload = b"Photoshop 3.0\x00" + body
    if len(payload) + 2 > 0xFFFF:
        return None
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def _read_dpi(im: Image.Image, orientation: int) -> tuple[float, float] | None:
    """The file's resolution in dots per inch (JFIF density, PNG pHYs, TIFF or EXIF resolution), upright."""
    try:
        x, y = (float(v) for v in im.info["dpi"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return _sane_dpi(x, y, orientation)


def _sane_dpi(x: float, y: float, orientation: int) -> tuple[float, float] | None:
    """(x, y) dots per inch of the upright photo, rounded to 0.1; None if absent or absurd."""
    # Pillow reports 1 dpi for a TIFF with no resolution; no scan or print has under 10
    if not all(np.isfinite(v) and MIN_READ_DPI <= v <= MAX_DPI for v in (x, y)):
        return None
    x, y = round(x, 1), round(y, 1)  # PNG and BMP store pixels per metre: 1200 dpi reads as 1199.9976
    return (y, x) if orientation in (5, 6, 7, 8) else (x, y)  # these orientations swap the axes


def _float_to_16bit(arr: np.ndarray) -> np.ndarray:
    """Floating-point samples as 16-bit codes: 0..1 (the convention of scanning and HDR software),
    else 8-bit (up to 255) or 16-bit code values; NaN is black, out-of-range values are clipped."""
    arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    level = _bright_level(arr)
    scale = 65535.0 if level <= 1.5 else 257.0 if level <= 384.0 else 1.0
    return np.clip(np.rint(arr * scale), 0, 65535).astype(np.uint16)


def _bright_level(arr: np.ndarray) -> float:
    """The brightest samples' level, 0.1 % of them left out: the range a file's numbers are in
    is judged from it, not from its single brightest sample (one sharpening overshoot above
    1.0 in a 0..1 photo must not make it read as 8-bit codes, nearly black)."""
    if not arr.size:
        return 0.0
    step = max(1, int((arr.size / 1_000_000) ** 0.5))  # a million samples are plenty
    sample = arr[::step, ::step] if arr.ndim >= 2 else arr
    return float(np.percentile(sample, 99.9))


def _from_pil(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im).astype(np.uint16), None
    if mode == "I":
        return np.clip(np.asarray(im), 0, 65535).astype(np.uint16), None
    if mode == "F":
        return _float_to_16bit(np.asarray(im)), None
    if mode == "1":
        return np.asarray(im.convert("L")), None
    if mode == "L":
        return np.asarray(im), None
    if mode == "LA" or mode == "La":
        arr = np.asarray(im.convert("LA"))
        return np.ascontiguousarray(arr[:, :, 0]), np.ascontiguousarray(arr[:, :, 1])
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        mode = im.mode
    if mode in ("RGBA", "RGBa"):
        arr = np.asarray(im.convert("RGBA"))
        return np.ascontiguousarray(arr[:, :, :3]), np.ascontiguousarray(arr[:, :, 3])
    return np.asarray(im.convert("RGB")), None


@contextlib.contextmanager
def _quiet_decoders() -> Iterator[None]:
    """Silence Python warnings and OpenCV's own log lines (printed straight to stderr) while
    decoding: a broken file must give one clear error, not a page of decoder chatter."""
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    tiff_log = py_logging.getLogger("tifffile")  # its warnings would reach stderr through logging.lastResort
    tiff_log_was_disabled = tiff_log.disabled
    tiff_log.disabled = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.setLogLevel(level)
        tiff_log.disabled = tiff_log_was_disabled


def _tiff_with_orientation_1(data: bytes) -> bytes | None:
    """A copy of a TIFF (classic or BigTIFF) whose first Orientation tag (274) is set to 1; None if not found."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        return None
    try:
        (version,) = struct.unpack(order + "H", data[2:4])
        if version == 42:  # classic: 32-bit offsets, 12-byte entries, 16-bit entry count
            (ifd,) = struct.unpack(order + "I", data[4:8])
            (count,) = struct.unpack(order + "H", data[ifd:ifd + 2])
            first, size = ifd + 2, 12
        elif version == 43:  # BigTIFF: 64-bit offsets, 20-byte entries, 64-bit entry count
            (ifd,) = struct.unpack(order + "Q", data[8:16])
            (count,) = struct.unpack(order + "Q", data[ifd:ifd + 8])
            first, size = ifd + 8, 20
        else:
            return None
        value_at = 8 if size == 12 else 12  # after tag, type and the value count
        for i in range(min(count, 4096)):
            entry = first + size * i
            tag, kind = struct.unpack(order + "HH", data[entry:entry + 4])
            fmt = {3: "H", 4: "I", 16: "Q"}.get(kind)  # SHORT, LONG, LONG8: the value is in the entry
            if tag == 274 and fmt is not None:
                out = bytearray(data)
                at = entry + value_at
                out[at:at + struct.calcsize(fmt)] = struct.pack(order + fmt, 1)
                return bytes(out)
    except struct.error:
        return None
    return None


def _megapixels(pixels: int) -> str:
    mp = pixels / 1e6
    return f"{mp:.0f}" if mp >= 100 else f"{mp:.3g}"


def _png_is_whole(data: bytes) -> bool:
    """True if every chunk of a PNG is complete with a valid CRC, up to IEND."""
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        end = pos + 12 + length
        if end > len(data):
            return False
        kind = data[pos + 4:pos + 8]
        (crc,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(data[pos + 4:end - 4]) & 0xFFFFFFFF != crc:
            return False
        if kind == b"IEND":
            return True
        pos = end
    return False


def _is_whole_16bit_file(im: Image.Image, data: bytes) -> bool:
    """Whether OpenCV should decode this file: a 16-bit PNG or TIFF, which Pillow would cut to 8 bits.

    8-bit files go to Pillow alone (no second decode), and so do broken PNGs: libpng prints its
    errors straight to the process's stderr, where no log setting reaches them.
    """
    if im.format == "PNG":
        return len(data) > 24 and data[24] == 16 and _png_is_whole(data)
    if im.format == "TIFF":  # OpenCV misreads 16-bit samples stored by plane (PlanarConfiguration 2)
        return _tiff_bits(im) == 16 and _tiff_tag(im, 284) != 2
    return False


def _tiff_tag(im: Image.Image, tag: int) -> Any:
    try:
        return im.tag_v2.get(tag)
    except Exception:  # noqa: BLE001 - unreadable tags: as if absent
        return None


def _tiff_bits(im: Image.Image) -> int:
    """The largest BitsPerSample of a TIFF (0 if unknown)."""
    bits = _tiff_tag(im, 258)
    try:
        return max(int(b) for b in (bits if isinstance(bits, (tuple, list)) else (bits,)))
    except (TypeError, ValueError):
        return 0


def _read_cv2_16bit(data: bytes) -> tuple[np.ndarray, np.ndarray | None] | None:
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        with _quiet_decoders():
            arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error:  # e.g. over OpenCV's own pixel limit: Pillow decodes it instead
        return None
    if arr is None or arr.dtype != np.uint16:
        return None
    if arr.ndim == 2:
        return arr, None
    if arr.shape[2] == 4:
        rgba = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
        return np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3])
    if arr.shape[2] == 3:
        return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB), None
    return None


def _check_size(p: Path, width: int, height: int, max_pixels: int) -> None:
    if width < 1 or height < 1:
        raise ImageReadError(f"{p}: image has no pixels ({width} x {height})")
    if width * height > max_pixels:
        raise ImageReadError(
            f"{p}: image is {width} x {height} = {_megapixels(width * height)} megapixels, over the limit of "
            f"{_megapixels(max_pixels)} megapixels (raise it with --max-megapixels)"
        )


def _frame_notes(fmt: str, frames: int) -> list[str]:
    if frames <= 1:
        return []
    if fmt == "TIFF":
        return [f"multi-page file: only the first of {frames} pages is used"]
    return [f"animated image: only the first of {frames} frames is used"]


class _TiffLayoutError(ValueError):
    """A well-formed TIFF whose pixels are not gray or RGB (with or without alpha)."""


def _tiff_samples(page: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """A tifffile page's pixels as (colour, alpha): gray, gray + alpha, RGB or RGBA samples of 1 to 32
    bits, integer or floating point, stored by pixel or by plane. _TiffLayoutError for other layouts."""
    photometric, samples = int(page.photometric), int(page.samplesperpixel)
    if photometric not in (0, 1, 2) or samples not in (1, 2, 3, 4) or (photometric == 2) != (samples >= 3):
        raise _TiffLayoutError(f"photometric {photometric}, {samples} samples per pixel")
    arr = page.asarray()
    if arr.ndim == 3 and samples > 1 and int(page.planarconfig) == 2:  # separate planes: (samples, H, W)
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] != samples:
        raise _TiffLayoutError(f"samples of shape {arr.shape}")
    if arr.dtype.kind == "f":
        arr = _float_to_16bit(arr)
    elif arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype.kind == "i" or arr.dtype.itemsize > 2:  # signed or 32-bit: 16-bit codes, clipped at 0
        wide = np.clip(arr.astype(np.int64), 0, None)
        shift = 0 if _bright_level(wide) <= 65535 * 1.5 else 8 * arr.dtype.itemsize - 16 - (arr.dtype.kind == "i")
        arr = np.clip(wide >> shift, 0, 65535).astype(np.uint16)
    colour = arr[:, :, :3] if samples >= 3 else arr[:, :, 0]
    if photometric == 0:  # MinIsWhite
        colour = np.iinfo(arr.dtype).max - colour
    alpha = arr[:, :, samples - 1] if samples in (2, 4) else None
    return np.ascontiguousarray(colour), None if alpha is None else np.ascontiguousarray(alpha)


def _read_tifffile(data: bytes) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The first page's stored pixels by tifffile; None where it cannot decode them (LZW and JPEG
    need the imagecodecs package, which is not installed), so another decoder is tried."""
    try:
        import tifffile

        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            return _tiff_samples(tif.pages.first)
    except Exception:  # noqa: BLE001 - a missing codec or an unusual layout: OpenCV or Pillow decodes it
        return None


def _decode_tifffile(p: Path, data: bytes, max_pixels: int) -> LoadedImage:
    """A TIFF that Pillow cannot open (16-bit gray + alpha, floating-point RGB...), read by tifffile."""
    try:
        import tifffile

        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages.first
            _check_size(p, int(page.imagewidth), int(page.imagelength), max_pixels)
            colour, alpha = _tiff_samples(page)
            frames, tags, order = len(tif.pages), page.tags, tif.byteorder
    except ImageReadError:
        raise
    except _TiffLayoutError as exc:
        raise ImageReadError(f"{p}: a TIFF layout this program cannot read ({exc})") from None
    except Exception:  # noqa: BLE001 - tifffile cannot parse it either: truncated, damaged, or not a TIFF
        raise ImageReadError(f"{p}: not an image file, or a format this program cannot read") from None
    icc = tags["InterColorProfile"].value if "InterColorProfile" in tags else None
    orientation = int(tags["Orientation"].value) if "Orientation" in tags else 1
    dpi = None
    if "XResolution" in tags and "YResolution" in tags:
        unit = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 2
        per_inch = {2: 1.0, 3: 2.54}.get(unit)  # inch, centimetre; 1 (no unit) says nothing about size
        x, y = (float(n) / float(d) if d else 0.0 for n, d in (tags["XResolution"].value, tags["YResolution"].value))
        dpi = _sane_dpi(x * per_inch, y * per_inch, orientation) if per_inch else None
    if orientation in range(2, 9):
        colour = _orient(colour, orientation)
        alpha = _orient(alpha, orientation) if alpha is not None else None
    xmp = _upright_xmp(tags["XMP"].value if "XMP" in tags else None)
    iptc = tags[33723].value if 33723 in tags else None
    if iptc is not None and not isinstance(iptc, (bytes, bytearray)):  # Photoshop tags the records as LONGs
        iptc = np.asarray(iptc, dtype=order + "u4").tobytes()
    iptc = bytes(iptc) if iptc is not None and bytes(iptc).startswith(b"\x1c") else None
    return LoadedImage(np.ascontiguousarray(colour), None if alpha is None else np.ascontiguousarray(alpha),
                       None, icc, "TIFF", frames, _frame_notes("TIFF", frames), dpi, xmp, iptc)


def read_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read a photo. Raises ImageReadError naming the file and the problem."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ImageReadError(f"{p}: is a folder, not an image file")
        data = p.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{p}: no such file") from None
    except PermissionError:
        raise ImageReadError(f"{p}: permission denied") from None
    except OSError as exc:
        raise ImageReadError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise ImageReadError(f"{p}: file is empty (0 bytes)")
    try:
        with _quiet_decoders():
            return _decode(p, data, max_pixels)
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(f"{p}: not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - decoders fail on hostile files in many ways (struct.error, IndexError...)
        msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        if "truncated" in msg.lower():
            msg = "the file is truncated (incomplete download or copy?)"
        raise ImageReadError(f"{p}: cannot decode image: {msg}") from None


def _decode(p: Path, data: bytes, max_pixels: int) -> LoadedImage:
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        if data[:4] in _TIFF_MAGIC:  # a TIFF layout Pillow cannot open (16-bit gray + alpha, float RGB...)
            return _decode_tifffile(p, data, max_pixels)
        if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
            raise ImageReadError(f"{p}: a HEIC/HEIF photo (as phones save them), which this program cannot read; "
                                 "save it as JPEG or PNG first (the phone's or computer's photo app can)") from None
        raise ImageReadError(f"{p}: not an image file, or a format this program cannot read") from None
    width, height = im.size
    _check_size(p, width, height, max_pixels)
    fmt = im.format or ""
    frames = int(getattr(im, "n_frames", 1) or 1)
    notes = _frame_notes(fmt, frames)
    try:
        orientation = int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF: no rotation
        orientation = 1
    icc = im.info.get("icc_profile")
    exif = _exif_bytes(im, reset_orientation=True)
    dpi = _read_dpi(im, orientation)
    xmp, iptc = _read_xmp(im), _read_iptc(im)
    if fmt == "TIFF" and orientation in range(2, 9):
        # Decoders disagree on TIFF orientation (OpenCV applies it, Pillow 13 applies it in load()
        # and misreads gray files turned by 90 degrees, older Pillow ignores it): decode a copy whose
        # Orientation tag says 1, and turn the pixels here, exactly once.
        upright = _tiff_with_orientation_1(data)
        if upright is not None:
            data = upright
            im = Image.open(io.BytesIO(data))
            width, height = im.size
    im.seek(0)
    pair = _read_tifffile(data) if fmt == "TIFF" and _tiff_bits(im) > 8 else None
    if pair is None and _is_whole_16bit_file(im, data):
        pair = _read_cv2_16bit(data)
    if pair is None or pair[0].shape[:2] != (height, width):
        im.load()
        pixels, alpha = _from_pil(im)
    else:
        pixels, alpha = pair
    if orientation in range(2, 9):
        pixels = _orient(pixels, orientation)
        alpha = _orient(alpha, orientation) if alpha is not None else None
    return LoadedImage(np.ascontiguousarray(pixels), alpha, exif, icc, fmt, frames, notes, dpi, xmp, iptc)


def to_8bit(arr: np.ndarray) -> np.ndarray:
    """uint16 code values -> uint8, rounded (65535 -> 255); other arrays are returned as they are."""
    if arr.dtype != np.uint16:
        return arr
    return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)


def load_pixels(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    return read_image(path, max_pixels).pixels


def output_format(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise ImageWriteError(
            f"{path}: unsupported output type {suffix or '(none)'!r}; use one of {', '.join(sorted(WRITE_FORMATS))}"
        )
    return WRITE_FORMATS[suffix]


def _output_exif(exif: bytes | None, description: str | None, dpi: tuple[float, float] | None = None) -> Image.Exif:
    """The EXIF of an output: the source's metadata without its pixel layout, plus the description.

    With `dpi`, the EXIF resolution says the same as the format's own resolution field.
    """
    exif_obj = Image.Exif()
    if exif:
        try:
            exif_obj.load(exif)
        except Exception:  # noqa: BLE001 - unreadable source EXIF is dropped, not fatal
            exif_obj = Image.Exif()
        for tag in (*_TIFF_LAYOUT_TAGS, *_NOT_EXIF_TAGS):  # a TIFF's "EXIF" holds its own pixel layout: not ours
            exif_obj.pop(tag, None)
        _text_as_bytes(exif_obj)
    if description:
        exif_obj[0x010E] = description if description.isascii() else description.encode("utf-8")
        exif_obj[0x0131] = "ColorStudio"
    if dpi is not None and len(exif_obj):  # XResolution, YResolution, ResolutionUnit (2: inch)
        exif_obj[0x011A], exif_obj[0x011B], exif_obj[0x0128] = float(dpi[0]), float(dpi[1]), 2
    return exif_obj


def _rgb_profile(icc_profile: bytes | None) -> bytes | None:
    """The profile if it describes RGB data (header bytes 16..20 say 'RGB '), else None.

    A grayscale scan's profile (colour space 'GRAY') describes one channel; on an RGB output
    it is invalid (PNG forbids it, and viewers ignore or misapply it).
    """
    if icc_profile and len(icc_profile) >= 128 and icc_profile[16:20] == b"RGB ":
        return icc_profile
    return None


# What programs and cameras put in ImageDescription that is not a caption: tifffile's and
# ImageJ's headers, OME-XML, and the placeholders some cameras write.
_NOT_A_CAPTION = re.compile(r'\{"shape"|ImageJ=|<\?xml|<OME[ >]|(OLYMPUS DIGITAL CAMERA|SONY DSC|DIGITAL CAMERA)\s*$',
                            re.IGNORECASE)
_OUR_NOTE = re.compile(r"\s*\[Colorized by ColorStudio[^\]]*\]\s*$")


def _with_caption(exif: bytes | None, description: str | None) -> str | None:
    """The output's description: the source's own EXIF ImageDescription (an archive's caption)
    first, then `description` in brackets. The note of an earlier colorization is replaced."""
    if not description or not exif:
        return description
    try:
        source = Image.Exif()
        source.load(exif)
        caption = _exif_text(source.get(0x010E))
    except Exception:  # noqa: BLE001 - unreadable source EXIF: no caption to keep
        return description
    if caption is None:
        return description
    caption = _OUR_NOTE.sub("", caption.replace("\0", "")).strip()
    if not caption or caption.startswith("Colorized by ColorStudio") or _NOT_A_CAPTION.match(caption):
        return description
    return f"{caption} [{description}]"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_with_metadata(path: Path, png: bytes, exif: bytes, icc_profile: bytes | None,
                       description: str | None, dpi: tuple[float, float] | None = None,
                       xmp: bytes | None = None) -> bytes:
    """`png` with iCCP, pHYs, eXIf, a Description text chunk and the XMP packet (iTXt
    "XML:com.adobe.xmp") inserted right after IHDR.

    OpenCV (which encodes 16-bit PNG) writes no metadata. `exif` is TIFF-structured EXIF,
    with or without the "Exif\\0\\0" header; the text is tEXt when it is Latin-1, else iTXt.
    """
    (ihdr_length,) = struct.unpack(">I", png[8:12])
    if png[12:16] != b"IHDR":
        raise ImageWriteError(f"{path}: the PNG encoder did not write IHDR first")
    end = 8 + 12 + ihdr_length
    chunks = []
    if icc_profile:  # name, NUL, compression method 0 (zlib), compressed profile
        chunks.append(_png_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc_profile)))
    if dpi is not None:  # pixels per metre, unit 1 (metre)
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", *(max(1, round(d / 0.0254)) for d in dpi), 1)))
    exif = exif[6:] if exif.startswith(b"Exif\0\0") else exif
    if exif:
        chunks.append(_png_chunk(b"eXIf", exif))
    if description:
        text = description.replace("\0", "")  # NUL separates keyword and text
        try:
            chunks.append(_png_chunk(b"tEXt", b"Description\0" + text.encode("latin-1")))
        except UnicodeEncodeError:  # keyword, NUL, not compressed, method, no language, no translated keyword
            chunks.append(_png_chunk(b"iTXt", b"Description\0\0\0\0\0" + text.encode("utf-8")))
    if xmp:
        chunks.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp))
    return png[:end] + b"".join(chunks) + png[end:]


_DATE = re.compile(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d")


def _tiff_with_metadata(rgb: np.ndarray, alpha: np.ndarray | None, exif: Image.Exif,
                        icc_profile: bytes | None, dpi: tuple[float, float] | None = None,
                        xmp: bytes | None = None, iptc: bytes | None = None) -> bytes | None:
    """An 8- or 16-bit TIFF (deflate, horizontal predictor) with metadata, by tifffile; None without tifffile.

    Deflate level 3 with the predictor: about 20% smaller than OpenCV's LZW, in under twice its
    time (6 MP: 1.0 s against 0.6 s, on the batch's writer thread); level 6 is 50% slower again
    for a file 1% smaller.

    TIFF tags carry the description, software, ICC profile, resolution, camera, artist and
    copyright, the photo's date (EXIF DateTimeOriginal, else DateTime) in DateTime, the XMP
    packet and the IPTC records; tifffile cannot write an EXIF sub-IFD, so the rest of the
    EXIF (exposure, GPS...) is not carried.
    """
    try:
        import tifffile  # scikit-image's dependency; imported here, it costs nothing when unused
    except ImportError:
        return None

    def text_tag(tag: int, ifd: Any = exif) -> str | None:
        value = _exif_text(ifd.get(tag))
        return value.replace("\0", "") if value is not None and value.strip("\0 ") else None

    def tiff_text(tag: int) -> str | bytes | None:
        # TIFF's ASCII type is 7-bit in the letter of the standard; readers take UTF-8 (as exiftool writes it)
        value = text_tag(tag)
        return value if value is None or value.isascii() else value.encode("utf-8")

    try:
        exif_ifd = exif.get_ifd(0x8769)
    except Exception:  # noqa: BLE001 - a broken EXIF sub-IFD: no date from it
        exif_ifd = {}
    dates = [text_tag(0x9003, exif_ifd), text_tag(0x9004, exif_ifd), text_tag(0x0132)]
    date = next((d for d in dates if d and _DATE.fullmatch(d) and not d.startswith("0000")), None)
    extra = [(tag, "s", 0, value, True) for tag in (0x010F, 0x0110, 0x013B, 0x8298)  # Make, Model, Artist, (C)
             if (value := tiff_text(tag)) is not None]
    if xmp:
        extra.append((700, 1, len(xmp), xmp, True))  # XMP, BYTE
    if iptc:
        extra.append((33723, 7, len(iptc), iptc, True))  # IPTC-NAA, UNDEFINED
    data = rgb if alpha is None else np.dstack([rgb, alpha.astype(rgb.dtype)])
    buf = io.BytesIO()
    tifffile.imwrite(buf, data, photometric="rgb", extrasamples=("unassalpha",) if alpha is not None else None,
                     compression="zlib", compressionargs={"level": 3}, predictor=True, metadata=None,
                     description=tiff_text(0x010E),
                     software=tiff_text(0x0131) or False, datetime=date, iccprofile=icc_profile,
                     resolution=dpi, resolutionunit="INCH" if dpi is not None else None, extratags=extra)
    return buf.getvalue()


def write_image(path: str | os.PathLike[str], rgb: np.ndarray, alpha: np.ndarray | None = None,
                exif: bytes | None = None, icc_profile: bytes | None = None, quality: int = 95,
                description: str | None = None, dpi: tuple[float, float] | None = None,
                xmp: bytes | None = None, iptc: bytes | None = None) -> None:
    """Write (H, W, 3) uint8/uint16 sRGB atomically. 16-bit is kept for PNG and TIFF.

    `description` is stored in the EXIF ImageDescription (and a PNG text chunk), after the
    source EXIF's own ImageDescription (a caption) if it has one. EXIF, an RGB ICC profile,
    the resolution `dpi` (dots per inch, as LoadedImage.dpi) and the XMP packet (JPEG, PNG,
    WebP, TIFF) are carried where the format allows, the IPTC records in JPEG and TIFF. TIFF
    keeps only some EXIF tags (see _tiff_with_metadata); without tifffile, a 16-bit TIFF
    gets none and an 8-bit one the main EXIF directory only.
    """
    p = Path(path)
    fmt = output_format(p)
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype not in (np.uint8, np.uint16):
        what = f"{rgb.shape} {rgb.dtype}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ImageWriteError(f"{p}: expected an (H, W, 3) uint8 or uint16 image, got {what}")
    if alpha is not None and (not isinstance(alpha, np.ndarray) or alpha.shape != rgb.shape[:2]
                              or alpha.dtype not in (np.uint8, np.uint16)):
        what = f"{alpha.shape} {alpha.dtype}" if isinstance(alpha, np.ndarray) else type(alpha).__name__
        raise ImageWriteError(f"{p}: expected an alpha channel ({rgb.shape[0]}, {rgb.shape[1]}) uint8 or uint16, "
                              f"got {what}")
    if not (1 <= quality <= 100):
        raise ImageWriteError(f"{p}: quality must be 1..100, got {quality}")
    if dpi is not None:
        try:
            dpi = (float(dpi[0]), float(dpi[1]))
        except (TypeError, ValueError, IndexError):
            raise ImageWriteError(f"{p}: expected the resolution as (x, y) dots per inch, got {dpi!r}") from None
        if not all(np.isfinite(v) and 0 < v <= MAX_DPI for v in dpi):
            raise ImageWriteError(f"{p}: resolution must be above 0 and at most {MAX_DPI:g} dpi, got {dpi}")
    exif_dpi = dpi  # the EXIF says the upright photo's resolution even where the format has no field of its own
    if fmt not in DPI_FORMATS:
        dpi = None
    sixteen = rgb.dtype == np.uint16 and fmt in ("PNG", "TIFF")
    if not sixteen:
        rgb = to_8bit(rgb)
    if alpha is not None and fmt in ("JPEG", "BMP"):
        alpha = None  # these formats have no alpha channel
    if alpha is not None and alpha.dtype != rgb.dtype:  # rescale, not just cast: 255 is opaque in 8 bit
        if rgb.dtype == np.uint16:
            alpha = alpha.astype(np.uint16) * 257
        else:
            alpha = to_8bit(alpha)

    side = _MAX_SIDE.get(fmt)
    if side is not None and max(rgb.shape[:2]) > side:
        raise ImageWriteError(f"{p}: {rgb.shape[1]} x {rgb.shape[0]} pixels is more than {fmt} holds "
                              f"({side} a side); use .png or .tif")
    description = _with_caption(exif, description)
    exif_obj = _output_exif(exif, description, exif_dpi)
    icc_profile = _rgb_profile(icc_profile)
    xmp = bytes(xmp) if xmp else None
    iptc = bytes(iptc) if iptc and fmt in ("JPEG", "TIFF") else None
    remove_stale_parts(p)  # a killed export's hidden temporary file would stay there for ever
    try:
        with atomic_path(p) as tmp:
            data = _tiff_with_metadata(rgb, alpha, exif_obj, icc_profile, dpi, xmp, iptc) if fmt == "TIFF" else None
            if data is not None:
                tmp.write_bytes(data)
            elif sixteen:
                arr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
                if alpha is not None:
                    arr = np.dstack([arr, alpha.astype(np.uint16)])
                with _quiet_decoders():
                    ok, buf = cv2.imencode(".png" if fmt == "PNG" else ".tiff", arr)
                if not ok:
                    raise ImageWriteError(f"{p}: could not encode the image")
                data = buf.tobytes()
                if fmt == "PNG":
                    data = _png_with_metadata(p, data, exif_obj.tobytes() if len(exif_obj) else b"",
                                              icc_profile, description, dpi, xmp)
                tmp.write_bytes(data)
            else:
                im = Image.fromarray(np.dstack([rgb, alpha]) if alpha is not None else rgb,
                                     "RGBA" if alpha is not None else "RGB")
                kw: dict[str, Any] = {}
                if fmt == "TIFF":  # Pillow's libtiff writer fails on the EXIF and GPS sub-directory pointers
                    for tag in _SUB_IFD_POINTERS:
                        exif_obj.pop(tag, None)
                if fmt in ("JPEG", "PNG", "WEBP", "TIFF") and len(exif_obj):
                    kw["exif"] = exif_obj.tobytes()
                if icc_profile and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
                    kw["icc_profile"] = icc_profile
                if dpi is not None:
                    kw["dpi"] = dpi
                if fmt == "JPEG":
                    kw.update(quality=quality, subsampling=0 if quality >= 90 else 2)
                    if xmp and len(xmp) <= _JPEG_XMP_MAX:  # a longer one needs Extended XMP, which Pillow lacks
                        kw["xmp"] = xmp
                    if iptc and (segment := _photoshop_iptc_segment(iptc)) is not None:
                        kw["extra"] = segment
                elif fmt == "WEBP":
                    kw.update(quality=quality)
                    if xmp:
                        kw["xmp"] = xmp
                elif fmt == "TIFF":
                    kw.update(compression="tiff_deflate")
                if fmt == "PNG" and (description or xmp):
                    from PIL import PngImagePlugin

                    info = PngImagePlugin.PngInfo()
                    if description:
                        info.add_text("Description", description)
                    if xmp:
                        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"))
                    kw["pnginfo"] = info
                im.save(tmp, format=fmt, **kw)
    except ImageWriteError:
        raise
    except PermissionError:
        raise ImageWriteError(f"{p}: permission denied (is the folder read-only?)") from None
    except OSError as exc:
        raise ImageWriteError(f"{p}: cannot write ({exc.strerror or exc})") from None
    except (ValueError, struct.error) as exc:  # an encoder's limit ("EXIF data is too long"...)
        raise ImageWriteError(f"{p}: cannot write ({exc})") from None
