"""core.batch: finding photos, naming outputs, run_batch's results, report, resume and failures."""
from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import sys
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from colorstudio.core import batch, fileio, images
from colorstudio.core.batch import (
    BatchOptions,
    BatchResult,
    ProgressPrinter,
    find_photos,
    output_is_current,
    output_path,
    read_report,
    run_batch,
)
from colorstudio.core.errors import ColorStudioError
from colorstudio.core.fileio import atomic_path
from colorstudio.core.hints import Hint, load_hints, save_hints, sidecar_path
from colorstudio.core.images import read_image

from .batch_collection import FAILING, GOOD, TOP_LEVEL, make_collection, snapshot, write_many


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    return make_collection(tmp_path)


def _by_name(results: list[BatchResult], root: Path) -> dict[str, BatchResult]:
    return {r.input.relative_to(root).as_posix(): r for r in results}


def _parts(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


# -- finding photos, naming outputs ---------------------------------------------------------
def test_find_photos_top_level_and_recursive(collection: Path) -> None:
    top = find_photos(collection)
    assert [p.name for p in top] == sorted(TOP_LEVEL)
    deep = find_photos(collection, recursive=True)
    assert sorted(p.relative_to(collection).as_posix() for p in deep) == sorted(GOOD + list(FAILING))
    assert deep == sorted(deep)
    # sidecars, text files and hidden files are not photos
    assert not any(p.name.endswith((".json", ".txt")) or p.name.startswith(".") for p in deep)


def test_find_photos_leaves_out_the_apps_exports_beside_their_photos(tmp_path: Path) -> None:
    for name in ("IMG_0004.jpg", "IMG_0004_colorized.jpg", "IMG_0005_colorized.png", "a_colorized.tif", "a.png"):
        (tmp_path / name).write_bytes(b"x")
    # an export beside its photo is left out; a file of that name with no photo of its stem is one
    assert [p.name for p in find_photos(tmp_path)] == ["IMG_0004.jpg", "IMG_0005_colorized.png", "a.png"]


def test_find_photos_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ColorStudioError, match="no such folder"):
        find_photos(tmp_path / "nope")
    (tmp_path / "f.jpg").write_bytes(b"x")
    with pytest.raises(ColorStudioError, match="not a folder"):
        find_photos(tmp_path / "f.jpg")


def test_find_photos_reports_an_unlistable_subfolder_and_goes_on(collection: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir
    locked = collection / "sub"

    def scandir(path):  # noqa: ANN001, ANN202 - stands in for os.scandir
        if Path(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(batch.os, "scandir", scandir)
    errors: list[tuple[Path, OSError]] = []
    photos = find_photos(collection, recursive=True, on_error=lambda f, e: errors.append((f, e)))
    assert [f for f, _ in errors] == [locked]
    assert [p.name for p in photos] == sorted(TOP_LEVEL)


def test_find_photos_real_unreadable_subfolder(collection: Path) -> None:
    locked = collection / "sub"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running with privileges that ignore folder permissions (root)")
        errors: list[Path] = []
        photos = find_photos(collection, recursive=True, on_error=lambda f, e: errors.append(f))
        assert errors == [locked] and len(photos) == len(TOP_LEVEL)
    finally:
        locked.chmod(0o755)


def test_output_names_follow_pattern_format_and_mirror_folders(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "out"
    opts = BatchOptions(out, input_root=root)
    assert output_path(root / "a.jpg", opts) == out / "a.jpg"
    assert output_path(root / "x" / "y" / "IMG 1.JPG", opts) == out / "x" / "y" / "IMG 1.JPG"
    assert output_path(root / "anim.gif", opts) == out / "anim.png"  # GIF cannot be written: PNG
    opts = BatchOptions(out, pattern="{stem}_color.{ext}", format="TIF", input_root=root)
    assert output_path(root / "s" / "a.jpg", opts) == out / "s" / "a_color.tif"
    opts = BatchOptions(out, pattern="{name}.{ext}", format=".webp")
    assert output_path(root / "s" / "a.jpg", opts) == out / "a.jpg.webp"  # no input_root: flat


@pytest.mark.parametrize("kwargs, match", [
    ({"pattern": "{stem}"}, "image suffix"),
    ({"pattern": "fixed.{ext}"}, "same name"),
    ({"pattern": "{stem}/{ext}.png"}, "plain file name"),
    ({"pattern": "{bogus}.{ext}"}, "unknown field"),
    ({"pattern": "{stem.{ext}"}, "pattern"),
    ({"format": "gif"}, "output format"),
    ({"quality": 0}, "quality"),
    ({"format": "tif", "pattern": "{stem}_c.jpg"}, r"names \.jpg files, not the tif"),  # --format would be ignored
])
def test_bad_options_are_refused_with_a_reason(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BatchOptions(tmp_path, **kwargs)


def test_a_pattern_that_keeps_a_gifs_name_fails_that_photo_before_colorizing_it(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "b.gif"):
        Image.fromarray(np.full((24, 32), 120, np.uint8)).save(src / name)
    calls: list[object] = []

    class Counting:
        def colorize(self, image, hints=(), **kw):  # noqa: ANN001, ANN202
            calls.append(image.shape)
            return np.dstack([image] * 3)

    assert BatchOptions(tmp_path, format="jpeg", pattern="{stem}.jpg").format == "jpeg"  # the same type: fine
    results = run_batch(find_photos(src), BatchOptions(tmp_path / "out", pattern="{name}"), Counting())
    assert [r.status for r in results] == ["done", "failed"]
    assert "b.gif is not a type that can be written" in results[1].error and len(calls) == 1


# -- a whole batch ----------------------------------------------------------------------------
def test_batch_outputs_report_and_failures(collection: Path, tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    before = snapshot(collection)
    out, report = tmp_path / "out", tmp_path / "report.jsonl"
    calls: list[tuple[int, int, Path, BatchResult | None]] = []
    photos = find_photos(collection, recursive=True)
    results = run_batch(photos, BatchOptions(out, input_root=collection), tiny_engine,
                        progress=lambda *a: calls.append(a), report_path=report)

    assert snapshot(collection) == before  # INPUT_DIR untouched: same files, bytes and times
    by = _by_name(results, collection)
    assert set(by) == set(GOOD) | set(FAILING)
    for name in GOOD:
        r = by[name]
        assert r.status == "done" and r.error == "" and r.output == out / name and r.seconds > 0, r
        assert read_image(r.output).size == read_image(collection / name).size
    for name, why in FAILING.items():
        r = by[name]
        assert r.status == "failed" and r.output is None and why in r.error.lower(), r
        assert not (out / name).exists()
    assert _parts(out) == []

    # progress: a start call, then one per photo with its result
    assert calls[0] == (0, len(photos), photos[0], None)
    assert [c[0] for c in calls[1:]] == list(range(1, len(photos) + 1))
    assert [c[3] for c in calls[1:]] == results

    # the report: one JSON line per photo, the documented keys
    recs = read_report(report)
    assert [(Path(r["input"]), r["status"]) for r in recs] == [(r.input, r.status) for r in results]
    for rec, res in zip(recs, results):
        assert {"input", "output", "status", "seconds", "error"} <= set(rec)
        assert rec["output"] == (None if res.output is None else str(res.output))
        assert rec["error"] == res.error and rec["model"] == tiny_engine.name


def test_outputs_keep_format_depth_and_provenance(collection: Path, tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    run_batch(find_photos(collection), BatchOptions(out, input_root=collection), tiny_engine)
    jpg = Image.open(out / "a.jpg")
    assert jpg.format == "JPEG"
    exif = jpg.getexif()
    assert (exif.get(0x010F), exif.get(0x0110), exif.get(0x0132)) == ("Nikon", "F3", "1962:05:01 10:00:00")
    assert "Colorized by ColorStudio" in exif.get(0x010E) and tiny_engine.name in exif.get(0x010E)
    icc = Image.open(collection / "a.jpg").info["icc_profile"]
    assert icc and jpg.info.get("icc_profile") == icc
    png = Image.open(out / "b photo.png")
    assert png.format == "PNG" and "Colorized" in png.info.get("Description", "")
    sixteen = cv2.imread(str(out / "16bit.png"), cv2.IMREAD_UNCHANGED)
    assert sixteen.dtype == np.uint16 and sixteen.shape[2] == 3  # 16-bit input, PNG output: 16 bits kept
    tif = Image.open(out / "scan.tif")
    assert tif.format == "TIFF" and tif.size == (32, 24) and "Colorized" in tif.getexif().get(0x010E)
    tif.load()


def test_outputs_keep_the_captions_and_rights_of_an_archive_scan(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    from PIL import IptcImagePlugin

    from tests.core.test_images import XMP_TURNED, archive_scan

    (tmp_path / "in").mkdir()
    archive_scan(tmp_path / "in" / "scan.jpg")
    run_batch([tmp_path / "in" / "scan.jpg"], BatchOptions(tmp_path / "out"), tiny_engine)
    with Image.open(tmp_path / "out" / "scan.jpg") as im:
        assert im.size == (40, 60)  # upright, and its XMP says so
        assert im.info["xmp"] == XMP_TURNED.replace(b'tiff:Orientation="6"', b'tiff:Orientation="1"')
        assert IptcImagePlugin.getiptcinfo(im)[(2, 120)] == b"Wedding, Cologne 1932"
        assert im.getexif().get(0x010E).startswith("Wedding, Cologne 1932 [Colorized by ColorStudio")


def test_outputs_keep_the_scan_resolution(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    src = tmp_path / "in"
    src.mkdir()
    gray = np.tile(np.arange(40, dtype=np.uint8) * 6, (30, 1))
    Image.fromarray(gray).save(src / "scan.png", dpi=(1200, 1200))
    Image.fromarray(gray).save(src / "print.jpg", dpi=(300, 300))
    out = tmp_path / "out"
    results = run_batch(find_photos(src), BatchOptions(out, input_root=src), tiny_engine)
    assert [r.status for r in results] == ["done", "done"]
    assert read_image(out / "scan.png").dpi == (1200.0, 1200.0)
    assert read_image(out / "print.jpg").dpi == (300.0, 300.0)


def test_jpeg2000_archive_is_colorized_to_png_and_heic_says_why(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    from PIL import features

    if not features.check("jpg_2000"):
        pytest.skip("this Pillow has no JPEG 2000 codec")
    src = tmp_path / "archive"
    src.mkdir()
    ramp = np.tile(np.arange(40, dtype=np.uint16) * 1600, (30, 1))
    Image.fromarray(ramp).save(src / "plate 1.jp2", irreversible=False)  # 16-bit, lossless
    Image.fromarray((ramp // 257).astype(np.uint8)).save(src / "plate 2.j2k", irreversible=False)
    (src / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(500))
    out = tmp_path / "out"
    results = run_batch(find_photos(src), BatchOptions(out, input_root=src), tiny_engine)
    assert [(r.input.name, r.status) for r in results] == [("IMG_0001.HEIC", "failed"), ("plate 1.jp2", "done"),
                                                           ("plate 2.j2k", "done")]
    assert "HEIC/HEIF photo" in results[0].error and "JPEG" in results[0].error  # says why, and what to do
    first, second = read_image(out / "plate 1.png").pixels, read_image(out / "plate 2.png").pixels
    assert first.dtype == np.uint16 and first.shape == (30, 40, 3)  # PNG keeps the 16 bits JPEG 2000 had
    assert second.dtype == np.uint8 and second.shape == (30, 40, 3)


def test_sidecar_hints_are_used(collection: Path, tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    src = collection / "hinted.png"
    run_batch([src], BatchOptions(tmp_path / "out", input_root=collection), tiny_engine)
    got = read_image(tmp_path / "out" / "hinted.png").pixels
    hints = load_hints(sidecar_path(src))
    assert np.array_equal(got, tiny_engine.colorize(read_image(src).pixels, hints))
    assert not np.array_equal(got, tiny_engine.colorize(read_image(src).pixels, ()))


def test_format_option_and_16_bit_to_8_bit(collection: Path, tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    results = run_batch([collection / "16bit.png", collection / "a.jpg"],
                        BatchOptions(out, pattern="{stem}_c.{ext}", format="jpg", quality=80), tiny_engine)
    assert [r.status for r in results] == ["done", "done"]
    assert Image.open(out / "16bit_c.jpg").mode == "RGB" and Image.open(out / "a_c.jpg").format == "JPEG"
    results = run_batch([collection / "16bit.png"], BatchOptions(out, format="tif"), tiny_engine)
    assert cv2.imread(str(out / "16bit.tif"), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_two_photos_onto_one_output_is_a_failure_not_a_skip(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.full((8, 8), 100, np.uint8)).save(src / "a.jpg")
    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(src / "a.png")
    results = run_batch(find_photos(src), BatchOptions(tmp_path / "out", format="png"), tiny_engine)
    # a.png -> a.png keeps its name and type: it has the output, whichever name sorts first
    assert [r.status for r in results] == ["failed", "done"]
    assert "also the output of" in results[0].error and "a.png" in results[0].error


def test_never_writes_over_an_input(collection: Path, tiny_engine) -> None:  # noqa: ANN001
    before = snapshot(collection)
    results = run_batch(find_photos(collection), BatchOptions(collection, input_root=collection), tiny_engine)
    assert {r.status for r in results} == {"failed"}
    assert all("would overwrite the input photo" in r.error for r in results)
    assert snapshot(collection) == before


# -- stopping and resuming ------------------------------------------------------------------
def test_stop_part_way_then_rerun_finishes_only_the_rest(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    photos = write_many(tmp_path / "in", 8)
    out, report = tmp_path / "out", tmp_path / "out" / "report.jsonl"
    opts = BatchOptions(out, input_root=tmp_path / "in")
    asked: list[int] = []

    def should_stop() -> bool:  # the app's Cancel, pressed while the third photo is worked on
        asked.append(1)
        return len(asked) > 3

    first = run_batch(photos, opts, tiny_engine, should_stop=should_stop, report_path=report)
    assert [r.status for r in first] == ["done"] * 3
    assert sorted(p.name for p in out.glob("*.png")) == [p.name for p in photos[:3]]
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}

    second = run_batch(photos, opts, tiny_engine, report_path=report)
    assert [r.status for r in second] == ["skipped"] * 3 + ["done"] * 5
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.png") if p.name in mtimes} == mtimes
    recs = read_report(report)
    done = [Path(r["input"]).name for r in recs if r["status"] == "done"]
    assert sorted(done) == [p.name for p in photos]  # every photo done exactly once over both runs

    third = run_batch(photos, BatchOptions(out, overwrite=True, input_root=tmp_path / "in"), tiny_engine)
    assert [r.status for r in third] == ["done"] * 8


class _InterruptingEngine:
    """Wraps an engine; raises KeyboardInterrupt (Ctrl+C) in the middle of the n-th colorize."""

    def __init__(self, engine, n: int) -> None:  # noqa: ANN001
        self.engine, self.n, self.calls, self.name = engine, n, 0, engine.name

    def colorize(self, image: np.ndarray, hints=()) -> np.ndarray:  # noqa: ANN001
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return self.engine.colorize(image, hints)


def test_ctrl_c_leaves_no_partial_file_and_reports_what_was_written(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    photos = write_many(tmp_path / "in", 6)
    out, report = tmp_path / "out", tmp_path / "report.jsonl"
    opts = BatchOptions(out)
    with pytest.raises(KeyboardInterrupt):
        run_batch(photos, opts, _InterruptingEngine(tiny_engine, 4), report_path=report)
    written = sorted(p.name for p in out.iterdir())
    assert written == [p.name for p in photos[:3]]  # the write under way at the interrupt was finished
    assert [r["status"] for r in read_report(report)] == ["done"] * 3
    for p in out.iterdir():
        Image.open(p).load()
    again = run_batch(photos, opts, tiny_engine, report_path=report)
    assert [r.status for r in again] == ["skipped"] * 3 + ["done"] * 3


def test_stale_temporary_files_of_a_killed_run_are_removed(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    photos = write_many(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".photo_0001.png.abcd1234.png.part"  # what fileio.atomic_path leaves when killed
    stale.write_bytes(b"\x89PNG half")
    other = out / ".unrelated.png.abcd1234.png.part"
    other.write_bytes(b"someone else's")
    run_batch(photos, BatchOptions(out), tiny_engine)
    assert not stale.exists() and other.exists()


def test_stale_temporary_files_of_a_long_non_ascii_name_are_removed(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    name = "Фотография семьи Ивановых на даче, лето 1962 года.png"  # 90 bytes of UTF-8 in 50 characters
    (tmp_path / "in").mkdir()
    Image.fromarray(np.full((24, 32), 120, np.uint8)).save(tmp_path / "in" / name)
    out = tmp_path / "out"
    out.mkdir()
    # what fileio.atomic_path leaves when killed mid-write: its own prefix for that name
    stale = out / f"{fileio.part_prefix(out / name)}abcd1234.png.part"
    stale.write_bytes(b"\x89PNG half")
    assert run_batch([tmp_path / "in" / name], BatchOptions(out), tiny_engine)[0].status == "done"
    assert not stale.exists() and not _parts(out)


@pytest.mark.skipif(sys.platform != "linux", reason="a name that is not UTF-8: Linux file systems hold any bytes")
def test_a_photo_whose_name_is_not_utf8_is_colorized_and_skipped_on_a_rerun(tmp_path: Path,  # noqa: ANN001
                                                                           tiny_engine) -> None:
    src = tmp_path / "in"
    src.mkdir()
    latin1 = Path(os.fsdecode(bytes(src) + b"/caf\xe9 1962.png"))  # Latin-1, as on an old CD
    Image.fromarray(np.full((24, 32), 120, np.uint8)).save(latin1)
    other = src / "zz.png"
    Image.fromarray(np.full((24, 32), 90, np.uint8)).save(other)
    out = tmp_path / "out"
    first = run_batch(find_photos(src), BatchOptions(out), tiny_engine)
    assert [r.status for r in first] == ["done", "done"], [r.error for r in first]
    again = run_batch(find_photos(src), BatchOptions(out), tiny_engine)
    assert [r.status for r in again] == ["skipped", "skipped"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file locks; Windows cannot delete an open file anyway")
def test_a_temporary_file_another_run_is_writing_is_left_alone(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    # Two runs into one folder (the app's Colorize All and a `colorstudio batch`, say): the
    # second must not take the first's file being written for a killed run's leftover.
    photos = write_many(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    target = out / photos[0].name
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"the other run's photo")
        run_batch(photos, BatchOptions(out, overwrite=True), tiny_engine)
        assert tmp.exists()
    assert target.read_bytes() == b"the other run's photo"  # the other run's write completed
    assert not _parts(out)


def test_a_rerun_redoes_photos_whose_hints_or_pixels_changed_after_their_output(tmp_path: Path,  # noqa: ANN001
                                                                                   tiny_engine) -> None:
    # An archivist batches a roll, looks at the results, hints the photos that came out
    # wrong and runs the batch again: those photos must be redone, the rest skipped.
    photos = write_many(tmp_path / "in", 4)
    opts = BatchOptions(tmp_path / "out")
    assert [r.status for r in run_batch(photos, opts, tiny_engine)] == ["done"] * 4
    first = [output_path(p, opts).read_bytes() for p in photos]
    assert [r.status for r in run_batch(photos, opts, tiny_engine)] == ["skipped"] * 4
    assert all(batch.output_is_current(p, opts) for p in photos)

    def newer_than_its_output(path: Path, photo: Path) -> None:  # as if the output were written 2 s earlier
        t = path.stat().st_mtime_ns - 2_000_000_000
        os.utime(output_path(photo, opts), ns=(t, t))

    save_hints(sidecar_path(photos[1]), [Hint(0.5, 0.5, (220, 30, 30))])  # hinted after the batch
    newer_than_its_output(sidecar_path(photos[1]), photos[1])
    newer_than_its_output(photos[3], photos[3])  # the scan retouched and saved again
    assert [batch.output_is_current(p, opts) for p in photos] == [True, False, True, False]
    assert [r.status for r in run_batch(photos, opts, tiny_engine)] == ["skipped", "done", "skipped", "done"]
    assert output_path(photos[1], opts).read_bytes() != first[1]  # its hints are in the new output
    assert [r.status for r in run_batch(photos, opts, tiny_engine)] == ["skipped"] * 4


class _Flat:
    """Outputs the photo's own gray: which photo an output was made from shows in its pixels."""

    name = "flat"

    def colorize(self, image, hints=(), **kw):  # noqa: ANN001, ANN202
        return np.dstack([image] * 3)


def _two_rolls(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    """Two rolls from one camera (the same file names), the second scanned before the first was batched."""
    rolls = []
    for name, shade in (("roll1", 40), ("roll2", 200)):
        (tmp_path / name).mkdir()
        rolls.append([tmp_path / name / f"IMG_000{i}.png" for i in (1, 2)])
        for i, p in enumerate(rolls[-1]):
            grain = np.random.default_rng([shade, i]).integers(0, 3 + shade // 40, (24, 32))  # photos differ in size
            Image.fromarray((shade + grain).astype(np.uint8)).save(p)
            os.utime(p, ns=(10**18, 10**18))  # older than any output
    return rolls[0], rolls[1]


def test_a_second_roll_sent_to_the_same_output_folder_is_neither_skipped_nor_written_over_roll_1(
        tmp_path: Path) -> None:
    roll1, roll2 = _two_rolls(tmp_path)
    out = tmp_path / "Colorized"
    opts1, opts2 = (BatchOptions(out, input_root=r[0].parent) for r in (roll1, roll2))
    report = out / batch.REPORT_NAME
    assert [r.status for r in run_batch(roll1, opts1, _Flat(), report_path=report)] == ["done"] * 2
    assert all(os.path.isabs(r[k]) for r in read_report(report) for k in ("input", "output"))
    # roll 1's outputs are newer than roll 2's photos, but they are not roll 2's
    assert [output_is_current(p, opts2) for p in roll2] == [False, False]
    results = run_batch(roll2, opts2, _Flat(), report_path=report)
    assert [r.status for r in results] == ["failed"] * 2  # roll 1's results are kept, and the reason given
    assert f"was made from another photo, {fileio.same_file_key(roll1[0])}" in results[0].error
    assert "choose another output folder or name pattern" in results[0].error
    assert np.asarray(Image.open(out / "IMG_0001.png"))[0, 0, 0] < 100
    opts2 = BatchOptions(out, input_root=roll2[0].parent, overwrite=True)  # redo: this roll's, not roll 1's
    assert [r.status for r in run_batch(roll2, opts2, _Flat(), report_path=report)] == ["failed"] * 2
    assert np.asarray(Image.open(out / "IMG_0001.png"))[0, 0, 0] < 100
    for p in roll1:
        (out / p.name).unlink()  # the user deletes roll 1's outputs: roll 2's take their place
    opts2 = BatchOptions(out, input_root=roll2[0].parent)
    assert [r.status for r in run_batch(roll2, opts2, _Flat(), report_path=report)] == ["done"] * 2
    assert np.asarray(Image.open(out / "IMG_0001.png"))[0, 0, 0] >= 200
    assert [output_is_current(p, opts2) for p in roll2] == [True, True]
    assert [output_is_current(p, opts1) for p in roll1] == [False, False]  # the outputs are roll 2's now
    assert [r.status for r in run_batch(roll2, opts2, _Flat(), report_path=report)] == ["skipped"] * 2
    # With no report (or no line for the output), the time alone decides, as before.
    report.unlink()
    assert [output_is_current(p, opts1) for p in roll1] == [True, True]


def test_a_photo_folder_renamed_after_its_batch_is_still_done(tmp_path: Path) -> None:
    roll1, _ = _two_rolls(tmp_path)
    out = tmp_path / "Colorized"
    report = out / batch.REPORT_NAME
    assert [r.status for r in run_batch(roll1, BatchOptions(out), _Flat(), report_path=report)] == ["done"] * 2
    moved = roll1[0].parent.rename(tmp_path / "1962 roll 1")  # the archivist names the folder
    photos = [moved / p.name for p in roll1]
    assert [output_is_current(p, BatchOptions(out)) for p in photos] == [True, True]
    assert [r.status for r in run_batch(photos, BatchOptions(out), _Flat(), report_path=report)] == ["skipped"] * 2


def test_a_report_of_an_earlier_version_with_relative_paths_still_names_each_outputs_photo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    roll1, roll2 = _two_rolls(tmp_path)
    out = tmp_path / "Colorized"
    monkeypatch.chdir(tmp_path)  # an earlier version, run from here, wrote the paths as given
    run_batch([p.relative_to(tmp_path) for p in roll1], BatchOptions(Path("Colorized")), _Flat(),
              report_path=Path("Colorized") / batch.REPORT_NAME)
    lines = (out / batch.REPORT_NAME).read_text("utf-8").replace(f"{tmp_path}{os.sep}", "")
    lines = re.sub(r', "input_bytes": \d+', "", lines)  # nor did they say the photo's size
    assert '"input": "roll1/IMG_0001.png", "output": "Colorized/IMG_0001.png"' in lines.replace(os.sep, "/")
    bad = '{"input": "/a/b.png", "output": "/a\\u0000/b.png", "status": "done"}\n'  # hand-edited: passed over
    (out / batch.REPORT_NAME).write_text(lines + bad, "utf-8")
    monkeypatch.chdir(roll2[0].parent)  # read from elsewhere
    made = batch.made_from(out / batch.REPORT_NAME)
    assert made == {fileio.same_file_key(out / p.name): (fileio.same_file_key(p), None) for p in roll1}  # no size
    assert batch.made_from(out / batch.REPORT_NAME) is made  # read once while the file is unchanged
    opts2 = BatchOptions(out, input_root=roll2[0].parent)
    assert [output_is_current(p, opts2) for p in roll2] == [False, False]
    assert [output_is_current(p, BatchOptions(out)) for p in roll1] == [True, True]
    assert [r.status for r in run_batch(roll2, opts2, _Flat(), report_path=out / batch.REPORT_NAME)] == ["failed"] * 2
    for p in roll1:
        (out / p.name).unlink()
    assert [r.status for r in run_batch(roll2, opts2, _Flat(), report_path=out / batch.REPORT_NAME)] == ["done"] * 2
    assert batch.made_from(out / batch.REPORT_NAME) == {
        fileio.same_file_key(out / p.name): (fileio.same_file_key(p), p.stat().st_size) for p in roll2}
    (tmp_path / "odd" / batch.REPORT_NAME).mkdir(parents=True)  # not a file: outputs judged by their times
    assert batch.made_from(tmp_path / "odd" / batch.REPORT_NAME) == {}


def test_hints_saved_while_the_photo_is_colorized_make_the_rerun_redo_it(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    photo = src / "a.png"
    Image.fromarray(np.full((24, 32), 120, np.uint8)).save(photo)
    seen: list[int] = []

    class UserSavesMeanwhile:  # the archivist hints the photo in the app while the batch colorizes it
        def colorize(self, image, hints=(), **kw):  # noqa: ANN001, ANN202
            seen.append(len(hints))
            if len(seen) == 1:
                save_hints(sidecar_path(photo), [Hint(0.5, 0.5, (200, 30, 30))])
            return np.dstack([image] * 3)

    opts = BatchOptions(tmp_path / "out")
    assert [r.status for r in run_batch([photo], opts, UserSavesMeanwhile())] == ["done"]
    assert not output_is_current(photo, opts)  # made without the hints saved meanwhile
    assert [r.status for r in run_batch([photo], opts, UserSavesMeanwhile())] == ["done"] and seen == [0, 1]
    assert output_is_current(photo, opts)
    assert [r.status for r in run_batch([photo], opts, UserSavesMeanwhile())] == ["skipped"]


def test_hints_kept_for_a_read_only_folder_are_used_and_judge_currency(tmp_path: Path,  # noqa: ANN001
                                                                         tiny_engine) -> None:
    from colorstudio.core.hints import stored_hints_path

    photos = write_many(tmp_path / "in", 2)
    opts = BatchOptions(tmp_path / "out")
    hints = (Hint(0.5, 0.5, (30, 200, 60)),)
    stored = stored_hints_path(photos[0])  # as the app saves them when the folder is read-only
    stored.parent.mkdir(parents=True)
    save_hints(stored, hints)
    assert [r.status for r in run_batch(photos, opts, tiny_engine)] == ["done", "done"]
    expected = tiny_engine.colorize(np.asarray(Image.open(photos[0])), hints)
    np.testing.assert_array_equal(np.asarray(Image.open(output_path(photos[0], opts))), expected)
    t = stored.stat().st_mtime_ns - 2_000_000_000  # hinted again after its output
    os.utime(output_path(photos[0], opts), ns=(t, t))
    assert [r.status for r in run_batch(photos, opts, tiny_engine)] == ["done", "skipped"]


def test_report_survives_a_torn_last_line(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    photos = write_many(tmp_path / "in", 2)
    report = tmp_path / "report.jsonl"
    report.write_bytes(b'{"input": "x.jpg", "status": "done"}\n{"input": "y.jpg", "sta')  # killed mid-line
    run_batch(photos, BatchOptions(tmp_path / "out"), tiny_engine, report_path=report)
    recs = read_report(report)
    assert [r["input"] for r in recs] == ["x.jpg"] + [str(p) for p in photos]


# -- output disk problems -------------------------------------------------------------------
def test_full_disk_fails_that_photo_only_and_leaves_nothing_half_written(tmp_path: Path, tiny_engine,  # noqa: ANN001
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    photos = write_many(tmp_path / "in", 4)
    real = images.atomic_path

    @contextlib.contextmanager
    def filling_disk(path, suffix=None):  # noqa: ANN001, ANN202 - the disk fills while photo 1 is written
        with real(path, suffix) as tmp:
            yield tmp
            if "photo_0001" in str(path):
                raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(images, "atomic_path", filling_disk)
    out = tmp_path / "out"
    results = run_batch(photos, BatchOptions(out), tiny_engine, report_path=tmp_path / "r.jsonl")
    assert [r.status for r in results] == ["done", "failed", "done", "done"]
    assert "No space left on device" in results[1].error and str(out / "photo_0001.png") in results[1].error
    assert sorted(p.name for p in out.iterdir()) == ["photo_0000.png", "photo_0002.png", "photo_0003.png"]


def test_read_only_output_folder(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    photos = write_many(tmp_path / "in", 3)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("running with privileges that ignore folder permissions (root)")
        results = run_batch(photos, BatchOptions(out), tiny_engine, report_path=tmp_path / "r.jsonl")
        assert [r.status for r in results] == ["failed"] * 3
        assert all("permission denied" in r.error.lower() for r in results)
        with pytest.raises(ColorStudioError, match="cannot write the report"):
            run_batch(photos, BatchOptions(out), tiny_engine, report_path=out / "r.jsonl")
    finally:
        out.chmod(0o755)
    assert list(out.iterdir()) == []


def test_unwritable_output_simulated(tmp_path: Path, tiny_engine, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The read-only case, for runs as root (where chmod does not stop writes)."""
    photos = write_many(tmp_path / "in", 3)

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fileio.tempfile, "mkstemp", refuse)
    results = run_batch(photos, BatchOptions(tmp_path / "out"), tiny_engine)
    assert [r.status for r in results] == ["failed"] * 3
    assert all("permission denied (is the folder read-only?)" in r.error for r in results)


# -- memory and the command-line progress display --------------------------------------------
def test_memory_stays_flat_over_many_photos(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    photos = write_many(tmp_path / "in", 100, size=64)
    marks: dict[int, int] = {}

    def progress(done: int, total: int, current: Path, last: BatchResult | None) -> None:
        if done in (25, 100):
            marks[done] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        results = run_batch(photos, BatchOptions(tmp_path / "out"), tiny_engine, progress=progress)
    finally:
        tracemalloc.stop()
    assert [r.status for r in results] == ["done"] * 100
    # 75 photos more: each holds ~40 kB of pixels while it is worked on; a leak of one array
    # per photo would add > 1 MB. The results list itself grows by well under 1 kB a photo.
    assert marks[100] - marks[25] < 200_000, marks


def test_progress_printer_plain_lines_and_terminal_bar(tmp_path: Path) -> None:
    plain = io.StringIO()
    pp = ProgressPrinter(plain, root=tmp_path, tty=False)
    pp(0, 2, tmp_path / "a.jpg", None)
    pp(1, 2, tmp_path / "b.jpg", BatchResult(tmp_path / "a.jpg", tmp_path / "o.jpg", "done", 0.5))
    pp(2, 2, tmp_path / "b.jpg", BatchResult(tmp_path / "b.jpg", None, "failed", 0.1, "broken"))
    lines = plain.getvalue().splitlines()
    assert lines[0].startswith("[1/2] a.jpg: done (0.5 s); about ") and lines[0].endswith(" left")
    assert lines[1] == "[2/2] b.jpg: FAILED: broken"  # the reason with the line, not only after the last photo
    bar = io.StringIO()
    pp = ProgressPrinter(bar, root=tmp_path, tty=True)
    pp(0, 2, tmp_path / "a.jpg", None)
    pp(1, 2, tmp_path / "b.jpg", BatchResult(tmp_path / "a.jpg", tmp_path / "o.jpg", "done", 0.5))
    pp.close()
    text = bar.getvalue()
    assert text.count("\r") == 2 and "[1/2]  50%" in text and "b.jpg" in text and text.endswith("\n")


def test_a_second_roll_of_uncompressed_scans_of_one_size_is_not_taken_for_the_first(tmp_path: Path) -> None:
    rolls = []
    for name, shade in (("roll1", 40), ("roll2", 200)):
        (tmp_path / name).mkdir()
        rolls.append([tmp_path / name / f"IMG_000{i}.bmp" for i in (1, 2)])
        for p in rolls[-1]:
            Image.fromarray(np.full((24, 32), shade, np.uint8)).save(p)  # BMP: every scan has the same size
            os.utime(p, ns=(10**18, 10**18))
    assert len({p.stat().st_size for r in rolls for p in r}) == 1
    out = tmp_path / "Colorized"
    report = out / batch.REPORT_NAME
    options = [BatchOptions(out, format="png", input_root=r[0].parent) for r in rolls]
    assert [r.status for r in run_batch(rolls[0], options[0], _Flat(), report_path=report)] == ["done"] * 2
    assert [output_is_current(p, options[1]) for p in rolls[1]] == [False, False]
    assert [r.status for r in run_batch(rolls[1], options[1], _Flat(), report_path=report)] == ["failed"] * 2


def test_a_report_that_grew_is_read_from_where_it_was_read_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    roll1, roll2 = _two_rolls(tmp_path)
    out = tmp_path / "Colorized"
    report = out / batch.REPORT_NAME
    run_batch(roll1, BatchOptions(out), _Flat(), report_path=report)
    first = batch.made_from(report)
    size = report.stat().st_size
    parsed: list[int] = []
    real = batch._records
    monkeypatch.setattr(batch, "_records", lambda raw: parsed.append(len(raw)) or real(raw))
    run_batch(roll2, BatchOptions(tmp_path / "Other"), _Flat(), report_path=report)  # appends two lines
    grown = batch.made_from(report)
    assert parsed == [report.stat().st_size - size]  # only what was appended was read
    assert set(grown) == set(first) | {fileio.same_file_key(tmp_path / "Other" / p.name) for p in roll2}
    batch._MADE_FROM.clear()
    assert batch.made_from(report) == grown  # as a reading from the start gives
    report.write_bytes(report.read_bytes()[:size])  # a report cut back (written anew): read from the start
    assert batch.made_from(report) == first
