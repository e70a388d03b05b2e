"""`colorstudio batch`: exit status, stderr, report, resume after a kill, input folder untouched."""
from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorstudio.cli import main
from colorstudio.core import batch
from colorstudio.core.batch import REPORT_NAME, read_report

from ..core.batch_collection import FAILING, GOOD, make_collection, snapshot, write_many

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], tiny_model_path: Path):  # noqa: ANN201
    def run_cli(*args: str | Path) -> tuple[int, str]:
        code = main(["batch", *map(str, args), "--model", str(tiny_model_path), "--device", "cpu"])
        return code, capsys.readouterr().err

    return run_cli


def _outputs(out: Path) -> dict[str, int]:
    """Output files (not the report, not the hidden .part file a kill can leave) -> mtime."""
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file() and p.name != REPORT_NAME and not p.name.startswith(".")}


def test_collection_outputs_failures_report_and_rerun(tmp_path: Path, run) -> None:  # noqa: ANN001
    src = make_collection(tmp_path)
    before = snapshot(src)
    out = tmp_path / "out"
    code, err = run(src, "-o", out, "--recursive")
    assert code == 1
    assert "Traceback" not in err
    failure_lines = [ln for ln in err.splitlines() if ln.startswith("colorstudio: ") and ": " in ln[13:]
                     and "photos in" not in ln]
    assert len(failure_lines) == len(FAILING)
    for name, why in FAILING.items():
        [line] = [ln for ln in failure_lines if f"{src / name}: " in ln]
        assert why in line.lower()
    assert "12 photos in" in err and "8 colorized, 0 skipped (already done), 4 failed" in err
    assert set(_outputs(out)) == set(GOOD)  # mirrored folders, names with spaces and accents
    assert snapshot(src) == before  # INPUT_DIR untouched
    recs = read_report(out / REPORT_NAME)
    assert sorted(Path(r["input"]).relative_to(src).as_posix() for r in recs) == sorted(GOOD + list(FAILING))
    assert {r["status"] for r in recs if Path(r["input"]).name in FAILING} == {"failed"}

    mtimes = _outputs(out)
    code, err = run(src, "-o", out, "--recursive")
    assert code == 1 and "0 colorized, 8 skipped (already done), 4 failed" in err
    assert _outputs(out) == mtimes
    assert snapshot(src) == before


def test_all_good_exits_zero_with_progress_lines(tmp_path: Path, run) -> None:  # noqa: ANN001
    write_many(tmp_path / "in", 3)
    code, err = run(tmp_path / "in", "-o", tmp_path / "out")
    assert code == 0, err
    assert [ln.split("]")[0] for ln in err.splitlines() if ln.startswith("[")] == ["[1/3", "[2/3", "[3/3"]
    assert "3 colorized, 0 skipped" in err
    code, err = run(tmp_path / "in", "-o", tmp_path / "out")
    assert code == 0 and "0 colorized, 3 skipped" in err


def test_pattern_format_quality_and_report_options(tmp_path: Path, run) -> None:  # noqa: ANN001
    write_many(tmp_path / "in", 2)
    report = tmp_path / "logs" / "run.jsonl"
    code, err = run(tmp_path / "in", "-o", tmp_path / "out", "--pattern", "{stem}_color.{ext}", "--format", "jpg",
                    "--quality", "70", "--report", report)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["photo_0000_color.jpg", "photo_0001_color.jpg"]
    assert [r["status"] for r in read_report(report)] == ["done", "done"]


def test_saturation_applies_to_photos_that_set_none(tmp_path: Path, run, tiny_model_path: Path) -> None:  # noqa: ANN001
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint, save_hints, sidecar_path

    photos = write_many(tmp_path / "in", 3)
    hints = [Hint(0.5, 0.5, (30, 200, 60))]
    save_hints(sidecar_path(photos[0]), hints)
    save_hints(sidecar_path(photos[2]), hints, saturation=1.3)  # set in the app for this photo: it wins
    code, err = run(tmp_path / "in", "-o", tmp_path / "out", "--saturation", "0.6", "--format", "png")
    assert code == 0, err
    engine = load_engine(tiny_model_path, device="cpu")
    for photo, used, saturation in zip(photos, (hints, (), hints), (0.6, 0.6, 1.3)):
        expected = engine.colorize(np.asarray(Image.open(photo)), used, saturation=saturation)
        assert (np.asarray(Image.open(tmp_path / "out" / photo.name)) == expected).all()


def test_one_hints_file_for_the_photos_without_their_own(tmp_path: Path, run, tiny_model_path: Path) -> None:  # noqa: ANN001
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint, save_hints, sidecar_path

    photos = write_many(tmp_path / "in", 3)
    own, shared = [Hint(0.5, 0.5, (30, 200, 60))], [Hint(0.3, 0.3, (200, 40, 40)), Hint(0.7, 0.7, (40, 40, 200))]
    save_hints(sidecar_path(photos[1]), own)
    roll = tmp_path / "roll.colorstudio.json"
    save_hints(roll, shared, saturation=0.5)
    out = tmp_path / "out"
    code, err = run(tmp_path / "in", "-o", out, "--hints", roll, "--format", "png")
    assert code == 0, err
    engine = load_engine(tiny_model_path, device="cpu")
    for photo, used, saturation in zip(photos, (shared, own, shared), (0.5, 1.0, 0.5)):
        expected = engine.colorize(np.asarray(Image.open(photo)), used, saturation=saturation)
        assert (np.asarray(Image.open(out / photo.name)) == expected).all(), photo.name
    # The shared file changed: the photos that use it are redone, the one with its own hints is not.
    time.sleep(0.01)
    save_hints(roll, shared[:1])
    os.utime(roll, ns=(time.time_ns() + 10**9,) * 2)
    code, err = run(tmp_path / "in", "-o", out, "--hints", roll, "--format", "png")
    assert code == 0, err
    assert [r["status"] for r in read_report(out / REPORT_NAME)][-3:] == ["done", "skipped", "done"]
    # A bad shared file stops the batch before any photo, naming the file.
    roll.write_text("{ not json", "utf-8")
    code, err = run(tmp_path / "in", "-o", tmp_path / "out2", "--hints", roll, "--format", "png")
    assert code != 0 and str(roll) in err and "not valid JSON" in err
    assert not (tmp_path / "out2").exists() or not any(p.suffix == ".png" for p in (tmp_path / "out2").iterdir())


@pytest.mark.parametrize("args, match", [
    (["--pattern", "{stem}"], "image suffix"),
    (["--format", "gif"], "output format"),
    (["--quality", "0"], "quality"),
    (["--saturation", "-1"], "saturation"),
    (["--saturation", "nan"], "saturation"),
])
def test_bad_options_are_one_clean_line(tmp_path: Path, run, args: list[str], match: str) -> None:  # noqa: ANN001
    write_many(tmp_path / "in", 1)
    code, err = run(tmp_path / "in", "-o", tmp_path / "out", *args)
    assert code == 1 and match in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_input_folder(tmp_path: Path, run) -> None:  # noqa: ANN001
    code, err = run(tmp_path / "nope", "-o", tmp_path / "out")
    assert code == 1 and "no such folder" in err and not (tmp_path / "out").exists()


def test_output_inside_input_is_refused_unless_allowed(tmp_path: Path, run) -> None:  # noqa: ANN001
    src = tmp_path / "in"
    write_many(src, 2)
    before = snapshot(src)
    code, err = run(src, "-o", src / "colour")
    assert code == 1 and "inside the input folder" in err and "--allow-inside" in err
    assert snapshot(src) == before and not (src / "colour").exists()

    code, err = run(src, "-o", src)
    assert code == 1 and "inside the input folder" in err and snapshot(src) == before

    # Allowed, into the input folder itself: originals are never overwritten ...
    code, err = run(src, "-o", src, "--allow-inside")
    assert code == 1 and err.count("would overwrite the input photo") == 4  # on its line, and in the summary
    assert {k: v for k, v in snapshot(src).items() if k in before} == before
    # ... and with a distinct name, a rerun does not take its own outputs for photos.
    code, err = run(src, "-o", src, "--allow-inside", "--pattern", "{stem}_color.{ext}")
    assert code == 0, err
    code, err = run(src, "-o", src, "--allow-inside", "--pattern", "{stem}_color.{ext}")
    assert code == 0 and "0 colorized, 2 skipped" in err
    assert not list(src.glob("*_color_color*"))
    assert {k: v for k, v in snapshot(src).items() if k in before} == before


def test_allow_inside_reruns_from_another_working_folder_know_their_own_outputs(  # noqa: ANN001
        tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "scans"
    write_many(src, 2)
    args = ("--allow-inside", "--pattern", "{stem}_color.{ext}")
    monkeypatch.chdir(tmp_path)
    code, err = run("scans", "-o", "scans", *args)
    assert code == 0, err
    report = src / REPORT_NAME
    assert all(os.path.isabs(r[k]) for r in read_report(report) for k in ("input", "output"))
    monkeypatch.chdir(src)  # the same folder, named from inside it
    code, err = run(".", "-o", ".", *args)
    assert code == 0 and "0 colorized, 2 skipped" in err, err
    # A report of an earlier version, with the paths as given where it was run (its parent folder):
    # the rerun from inside still knows the outputs it names for its own.
    lines = [f'{{"input": "scans/photo_{i:04d}.png", "output": "scans/photo_{i:04d}_color.png", "status": "done"}}'
             for i in range(2)]
    report.write_text("\n".join(lines) + "\n", "utf-8")
    code, err = run(".", "-o", ".", *args)
    assert code == 0 and "0 colorized, 2 skipped" in err, err
    assert not list(src.glob("*_color_color*"))


def test_unlistable_subfolder_is_reported_and_fails_the_run(tmp_path: Path, run,  # noqa: ANN001
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_collection(tmp_path)
    real_scandir = os.scandir

    def scandir(path):  # noqa: ANN001, ANN202
        if Path(path) == src / "sub":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(batch.os, "scandir", scandir)
    code, err = run(src, "-o", tmp_path / "out", "--recursive")
    assert code == 1 and f"colorstudio: {src / 'sub'}: cannot list the folder (Permission denied)" in err
    assert any(r["input"] == str(src / "sub") and r["status"] == "failed"
               for r in read_report(tmp_path / "out" / REPORT_NAME))


def test_read_only_output_folder(tmp_path: Path, run) -> None:  # noqa: ANN001
    write_many(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("running with privileges that ignore folder permissions (root)")
        code, err = run(tmp_path / "in", "-o", out)
        assert code == 1 and "read-only" in err and "Traceback" not in err
        code, err = run(tmp_path / "in", "-o", out, "--report", tmp_path / "r.jsonl")
        assert code == 1 and err.count("permission denied") == 4  # on its line, and in the summary
    finally:
        out.chmod(0o755)


# -- interrupted and killed runs (a real process) ----------------------------------------------
def _start(src: Path, out: Path, model: Path, *more: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "colorstudio", "batch", str(src), "-o", str(out), "--model",
                             str(model), "--device", "cpu", *more], env=env, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8")


def _wait_for_done_lines(proc: subprocess.Popen[str], n: int, timeout: float = 60) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and sum(": done (" in ln for ln in lines) < n:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
    return lines


def test_killed_run_resumes_without_redoing_finished_photos(tmp_path: Path, tiny_model_path: Path, run) -> None:  # noqa: ANN001
    photos = write_many(tmp_path / "in", 40, size=96)
    out = tmp_path / "out"
    proc = _start(tmp_path / "in", out, tiny_model_path)
    try:
        _wait_for_done_lines(proc, 5)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stderr.close()
    first = _outputs(out)
    assert 5 <= len(first) < len(photos), "the kill should land part-way through the batch"
    for name in first:  # whatever is there is complete; a write cut short is a hidden .part file
        Image.open(out / name).load()
    assert all(p.name.startswith(".") and p.name.endswith(".part")
               for p in out.iterdir() if p.name not in first and p.name != REPORT_NAME)
    first_report = read_report(out / REPORT_NAME)
    assert {Path(r["output"]).name for r in first_report if r["status"] == "done"} <= set(first)

    code, err = run(tmp_path / "in", "-o", out)
    assert code == 0, err
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    assert set(_outputs(out)) == {p.name for p in photos}
    assert {k: v for k, v in _outputs(out).items() if k in first} == first  # finished photos not redone
    recs = read_report(out / REPORT_NAME)
    rerun = recs[len(first_report):]
    assert {Path(r["input"]).name for r in rerun if r["status"] == "skipped"} == set(first)
    assert sorted(Path(r["input"]).name for r in recs if r["status"] == "done") == [p.name for p in photos]


@pytest.mark.parametrize("overwrite", [False, True])
def test_ctrl_c_stops_cleanly_with_a_summary(tmp_path: Path, tiny_model_path: Path, overwrite: bool) -> None:
    photos = write_many(tmp_path / "in", 30, size=96)
    out = tmp_path / "out"
    proc = _start(tmp_path / "in", out, tiny_model_path, *(["--overwrite"] if overwrite else []))
    try:
        _wait_for_done_lines(proc, 3)
        proc.send_signal(signal.SIGINT)
        err = proc.stderr.read()
    finally:
        code = proc.wait(timeout=60)
        proc.stderr.close()
    assert code == 130, err
    assert "Traceback" not in err and "interrupted" in err
    # with --overwrite, the same command would redo the photos just finished
    assert ("run it again without --overwrite" if overwrite else "run the same command again") in err
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    done = {Path(r["output"]).name for r in read_report(out / REPORT_NAME) if r["status"] == "done"}
    assert done == set(_outputs(out)) and 3 <= len(done) < len(photos)  # the write under way was finished


def test_empty_folder_and_size_limit(tmp_path: Path, run) -> None:  # noqa: ANN001
    (tmp_path / "empty").mkdir()
    code, err = run(tmp_path / "empty", "-o", tmp_path / "out")
    assert code == 0 and "no photos found" in err and "--recursive" in err
    write_many(tmp_path / "in", 2)  # 32 x 32 = 1024 pixels each
    code, err = run(tmp_path / "in", "-o", tmp_path / "out", "--max-megapixels", "0.001")
    assert code == 1 and err.count("over the limit of") == 4 and "Traceback" not in err  # line and summary
    for bad in ("0", "-1", "nan"):  # 0 was taken for "not given", -1 and nan got internal messages
        code, err = run(tmp_path / "in", "-o", tmp_path / "out", "--max-megapixels", bad)
        assert code != 0 and f"--max-megapixels must be a positive number, got {float(bad)}" in err, err
    (tmp_path / "afile").write_text("not a folder")
    code, err = run(tmp_path / "in", "-o", tmp_path / "afile")
    assert code != 0 and "afile: not a folder; the output must be a folder" in err


def test_sigterm_stops_like_ctrl_c() -> None:
    """`kill PID` during a batch takes the Ctrl+C path (summary, exit 130), not an abrupt exit."""
    before = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), batch._sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted by the handler at once
    assert time.monotonic() - started < 4
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back


def test_what_reading_a_photo_noted_is_said_and_reported(tmp_path: Path, run) -> None:  # noqa: ANN001
    src = tmp_path / "in"
    src.mkdir()
    pages = [Image.fromarray(np.full((24, 32), v, np.uint8)) for v in (60, 120, 180)]
    pages[0].save(src / "scan.tif", save_all=True, append_images=pages[1:])
    code, err = run(src, "-o", tmp_path / "out")
    assert code == 0 and f"note: {src / 'scan.tif'}: multi-page file: only the first of 3 pages is used" in err
    (record,) = read_report(tmp_path / "out" / REPORT_NAME)
    assert record["status"] == "done" and record["notes"] == ["multi-page file: only the first of 3 pages is used"]
