"""Background work: the inference controller (one thread owning the engine) and the batch thread.

Live re-inference follows "latest wins": the GUI thread builds each request from immutable
inputs (the preview array, a hint tuple), at most one request runs and one waits, a new
request replaces the waiting one, and a result whose generation is not the latest is
dropped. A forward pass cannot be interrupted, so dropping stale results is the
cancellation. Nothing raises across threads: failures come back as messages.
"""
from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..core.hints import Hint

EngineFactory = Callable[[], Any]  # () -> Engine, run in the worker thread


@dataclass(frozen=True)
class Job:
    """One request to the worker. `image` is never modified by either side."""

    kind: str  # "preview" | "suggest" | "export" | "load" | "detail"
    generation: int
    image: np.ndarray | None = None
    hints: tuple[Hint, ...] = ()
    saturation: float = 1.0
    point: tuple[float, float] = (0.5, 0.5)
    k: int = 8
    target: Path | None = None
    export_meta: dict[str, Any] = field(default_factory=dict)
    full: np.ndarray | None = None  # detail: the full-resolution photo that `image` reduces
    region: tuple[int, int, int, int] = (0, 0, 0, 0)  # detail: (left, top, width, height) of `full`
    size: tuple[int, int] = (0, 0)  # detail: (width, height) to render the region at
    context: Any = None  # opaque to the worker, handed back with the result


@dataclass(frozen=True)
class JobResult:
    job: Job
    value: Any = None  # preview: (H, W, 3) array; suggest: list of rgb; export: Path; detail: array or None
    error: str = ""
    ms: float = 0.0


def describe_engine(engine: Any) -> str:
    """A short human description of where the engine runs, e.g. 'cpu' or 'cuda:0 (default)'."""
    info: dict[str, Any] = {}
    try:
        info = dict(engine.info())
    except Exception:  # noqa: BLE001 - fake or foreign engines need not have info()
        info = {"device": getattr(engine, "device", "?"), "name": getattr(engine, "name", "")}
    device = str(info.get("device", "?"))
    name = str(info.get("name", "") or "")
    if info.get("device_note"):
        name = f"{name}; GPU unusable" if name else "GPU unusable"
    return f"{device} ({name})" if name else device


def _colorize(engine: Any, image: np.ndarray, hints: tuple[Hint, ...], saturation: float) -> np.ndarray:
    # Pass `saturation` only when it matters, so engines without that keyword still work.
    if saturation != 1.0:
        return engine.colorize(image, hints, saturation=saturation)
    return engine.colorize(image, hints)


@dataclass(frozen=True)
class TopColours:
    """The network's regression output at the working size: what engine.suggest ranks first.

    lum: (h, w) L; ab: (h, w, 2) Lab units. Lets the GUI thread answer "the model's most
    likely colour at (x, y)" for a click at once, without running anything.
    """

    lum: np.ndarray
    ab: np.ndarray

    def at(self, x: float, y: float) -> tuple[int, int, int]:
        """engine.suggest(...)[0] at normalised (x, y), for the hints of this prediction."""
        from ..core.color import ab_to_rgb

        h, w = self.lum.shape
        row, col = min(h - 1, int(y * h)), min(w - 1, int(x * w))
        return ab_to_rgb(float(self.lum[row, col]), float(self.ab[row, col, 0]), float(self.ab[row, col, 1]))


def _suggestions(engine: Any, job: Job) -> list[tuple[int, int, int]]:
    """Colours for the selected hint: the model's, given the other hints (first: what the photo
    shows there now), taken in turn with the model's own for that spot, given no hints. Hints
    spread: after one green hint on grass, the model given it sees green on the rhino too, and
    all its suggestions were greens; its colours without hints name the rhino's own."""
    from ..core.engine import distinct_colours  # torch and the network load with the engine, off start-up

    x, y = job.point
    given = list(engine.suggest(job.image, job.hints, x, y, k=job.k))
    if not job.hints:
        return given
    alone = list(engine.suggest(job.image, (), x, y, k=job.k))
    turns = itertools.chain.from_iterable(itertools.zip_longest(given, alone))
    return distinct_colours((rgb for rgb in turns if rgb is not None), job.k)


def _top_colours(engine: Any, job: Job) -> TopColours | None:
    # Engine.predict caches the pass colorize just made, so this costs nothing; engines
    # without it (fakes, foreign ones) fall back to reading the shown result.
    predict = getattr(engine, "predict", None)
    if not callable(predict):
        return None
    try:
        pred = predict(job.image, job.hints)
        return TopColours(np.asarray(pred.lum), np.asarray(pred.ab))
    except Exception:  # noqa: BLE001 - an optional extra, never a failure of the preview
        return None


def _detail(engine: Any, job: Job) -> np.ndarray | None:
    """The job's region of the result at full detail; None for engines that cannot (fakes, foreign ones)."""
    render = getattr(engine, "colorize_region", None)
    if not callable(render):
        return None
    return render(job.image, job.hints, job.region, job.size, full=job.full, saturation=job.saturation)


class _Worker(QObject):
    """Lives in the inference thread; owns the engine. Every slot catches everything."""

    finished = Signal(object)  # JobResult
    engine_ready = Signal(str)
    engine_failed = Signal(str)

    def __init__(self, engine: Any, factory: EngineFactory | None, export_factory: EngineFactory | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.factory = factory
        self.export_factory = export_factory  # None: export with the preview engine
        self.export_engine: Any = None

    def _ensure_engine(self) -> Any:
        if self.engine is None:
            if self.factory is None:
                raise RuntimeError("no colorization engine is configured")
            try:
                self.engine = self.factory()
            except Exception as exc:  # noqa: BLE001 - reported to the window as a message
                msg = f"The colorization model could not be loaded: {exc}"
                self.engine_failed.emit(msg)
                raise _Reported(msg) from None
            self.engine_ready.emit(describe_engine(self.engine))
        return self.engine

    def _ensure_export_engine(self) -> Any:
        if self.export_factory is None:
            return self._ensure_engine()
        if self.export_engine is None:
            try:
                self.export_engine = self.export_factory()
            except Exception as exc:  # noqa: BLE001 - reported with the failed export
                raise _Reported(f"The export model could not be loaded: {exc}") from None
        return self.export_engine

    @Slot(object, object, object)
    def set_engine(self, engine: Any, factory: EngineFactory | None, export_factory: EngineFactory | None) -> None:
        self.engine = engine
        self.factory = factory
        self.export_factory = export_factory
        self.export_engine = None
        if engine is not None:
            self.engine_ready.emit(describe_engine(engine))

    @Slot(object)
    def run(self, job: Job) -> None:
        t0 = time.perf_counter()
        try:
            engine = self._ensure_export_engine() if job.kind == "export" else self._ensure_engine()
            if job.kind == "load":
                value: Any = None
            elif job.kind == "preview":
                value = (_colorize(engine, job.image, job.hints, job.saturation), _top_colours(engine, job))
            elif job.kind == "suggest":
                value = _suggestions(engine, job)
            elif job.kind == "export":
                value = self._export(engine, job)
            elif job.kind == "detail":
                value = _detail(engine, job)
            else:
                raise ValueError(f"unknown job kind {job.kind!r}")
            result = JobResult(job, value, ms=(time.perf_counter() - t0) * 1000)
        except _Reported as exc:
            result = JobResult(job, error=str(exc))
        except MemoryError:
            result = JobResult(job, error="not enough memory for this photo")
        except Exception as exc:  # noqa: BLE001 - nothing raises across threads
            if not isinstance(exc, (ValueError, TypeError, OSError)):
                traceback.print_exc()
            result = JobResult(job, error=str(exc) or type(exc).__name__)
        self.finished.emit(result)

    @staticmethod
    def _export(engine: Any, job: Job) -> Path:
        from ..core.images import write_image

        assert job.target is not None and job.image is not None
        rgb = _colorize(engine, job.image, job.hints, job.saturation)
        meta = job.export_meta
        write_image(job.target, rgb, alpha=meta.get("alpha"), exif=meta.get("exif"),
                    icc_profile=meta.get("icc_profile"), quality=int(meta.get("quality", 95)),
                    description=meta.get("description"), dpi=meta.get("dpi"), xmp=meta.get("xmp"),
                    iptc=meta.get("iptc"))
        return job.target


class _Reported(Exception):
    """An error already announced through a dedicated signal."""


class InferenceController(QObject):
    """GUI-thread side of the inference thread: schedules jobs, drops stale results.

    Slots: one running job; waiting: the latest preview, the latest suggestion request, a
    queue of exports and the latest detail render (last in line). A new request of a kind
    replaces the waiting one of that kind (coalescing).
    """

    preview_ready = Signal(object, float, object, object)  # rgb array, ms, context, TopColours or None
    suggestions_ready = Signal(object, object)  # list of rgb, context
    detail_ready = Signal(object, object)  # rgb array, context
    export_finished = Signal(str, float, object)  # path, ms, context
    export_failed = Signal(str)
    inference_failed = Signal(str)
    engine_ready = Signal(str)
    engine_failed = Signal(str)
    busy_changed = Signal(bool)

    _submit = Signal(object)
    _configure = Signal(object, object, object)

    def __init__(self, engine: Any = None, factory: EngineFactory | None = None, parent: QObject | None = None,
                 export_factory: EngineFactory | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("colorstudio-inference")
        self._worker = _Worker(engine, factory, export_factory)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._configure.connect(self._worker.set_engine)
        self._worker.finished.connect(self._on_finished)
        self._worker.engine_ready.connect(self.engine_ready)
        self._worker.engine_failed.connect(self.engine_failed)
        self._thread.start()
        self._generation = 0
        self._latest_preview = 0
        self._latest_suggest = 0
        self._latest_detail = 0
        self._running: Job | None = None
        self._waiting_preview: Job | None = None
        self._waiting_suggest: Job | None = None
        self._waiting_detail: Job | None = None
        self._exports: list[Job] = []
        self._accepting = True
        self._busy = False
        self.started_jobs: list[Job] = []  # kept short; for the status bar and tests
        self.dropped = 0

    # -- requests (GUI thread) -------------------------------------------------------------
    @property
    def engine(self) -> Any:
        """The worker's engine, or None before it is loaded (read-only outside the worker)."""
        return self._worker.engine

    @property
    def export_engine(self) -> Any:
        """The engine loaded for exports, or None (not loaded, or exports use `engine`)."""
        return self._worker.export_engine

    def set_engine(self, engine: Any = None, factory: EngineFactory | None = None,
                   export_factory: EngineFactory | None = None) -> None:
        """Replace the engine (or the way to load it); takes effect for the next job.
        export_factory: loads the engine that exports use (e.g. the larger quality model,
        loaded at the first export); None exports with the preview engine."""
        self._configure.emit(engine, factory, export_factory)

    def _next(self) -> int:
        self._generation += 1
        return self._generation

    def request_preview(self, image: np.ndarray, hints: tuple[Hint, ...], saturation: float = 1.0,
                        context: Any = None) -> int:
        job = Job("preview", self._next(), image, tuple(hints), float(saturation), context=context)
        self._latest_preview = job.generation
        if self._waiting_preview is not None:
            self.dropped += 1
        self._waiting_preview = job
        self._dispatch()
        return job.generation

    def cancel_previews(self) -> None:
        """Forget the waiting preview and ignore the running one (e.g. another photo opens)."""
        self._waiting_preview = self._waiting_detail = None
        self._latest_preview = self._latest_detail = self._next()

    def request_suggestions(self, image: np.ndarray, hints: tuple[Hint, ...], x: float, y: float, k: int = 8,
                            context: Any = None) -> int:
        job = Job("suggest", self._next(), image, tuple(hints), point=(float(x), float(y)), k=k, context=context)
        self._latest_suggest = job.generation
        self._waiting_suggest = job
        self._dispatch()
        return job.generation

    def request_detail(self, image: np.ndarray, full: np.ndarray, hints: tuple[Hint, ...], saturation: float,
                       region: tuple[int, int, int, int], size: tuple[int, int], context: Any = None) -> int:
        """Render `region` of the full-resolution photo with the colours of image's preview, at
        `size`. The least urgent job: it runs when no preview, suggestion or export waits."""
        job = Job("detail", self._next(), image, tuple(hints), float(saturation), full=full,
                  region=tuple(int(v) for v in region), size=(int(size[0]), int(size[1])), context=context)
        self._latest_detail = job.generation
        self._waiting_detail = job
        self._dispatch()
        return job.generation

    def request_export(self, image: np.ndarray, hints: tuple[Hint, ...], saturation: float, target: Path,
                       meta: dict[str, Any], context: Any = None) -> int:
        job = Job("export", self._next(), image, tuple(hints), float(saturation), target=Path(target),
                  export_meta=dict(meta), context=context)
        self._exports.append(job)
        self._dispatch()
        return job.generation

    def preload(self) -> None:
        """Load the engine now (in the worker), so the first photo colorizes sooner."""
        if self._running is None and self._worker.engine is None:
            self._start(Job("load", self._next()))

    @property
    def busy(self) -> bool:
        return self._running is not None

    @property
    def pending_previews(self) -> int:
        """Previews running or waiting: never more than two."""
        running = self._running is not None and self._running.kind == "preview"
        return running + (self._waiting_preview is not None)

    @property
    def exports_pending(self) -> int:
        """Exports running or queued."""
        running = self._running is not None and self._running.kind == "export"
        return running + len(self._exports)

    @property
    def pending(self) -> int:
        return (self._running is not None) + (self._waiting_preview is not None) + \
            (self._waiting_suggest is not None) + (self._waiting_detail is not None) + len(self._exports)

    # -- scheduling --------------------------------------------------------------------------
    def _dispatch(self) -> None:
        if self._running is not None or not self._accepting:
            return
        job: Job | None = None
        # The result first: after a drag or a click, the photo re-colours before the colour panel's
        # suggestions come (two passes of the network); exports before both, so a stream of
        # previews cannot hold one back.
        if self._exports:
            job = self._exports.pop(0)
        elif self._waiting_preview is not None:
            job, self._waiting_preview = self._waiting_preview, None
        elif self._waiting_suggest is not None:
            job, self._waiting_suggest = self._waiting_suggest, None
        elif self._waiting_detail is not None:
            job, self._waiting_detail = self._waiting_detail, None
        if job is not None:
            self._start(job)

    def _start(self, job: Job) -> None:
        self._running = job
        self.started_jobs.append(job)
        del self.started_jobs[:-50]
        self._set_busy(True)
        self._submit.emit(job)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    @Slot(object)
    def _on_finished(self, result: JobResult) -> None:
        self._running = None
        if self._accepting:
            self._deliver(result)
            self._dispatch()
        if self._running is None:
            self._set_busy(False)

    def _deliver(self, result: JobResult) -> None:
        job = result.job
        if job.kind == "export":
            if result.error:
                self.export_failed.emit(result.error)
            else:
                self.export_finished.emit(str(result.value), result.ms, job.context)
            return
        if job.kind == "load":
            return  # success and failure are announced by engine_ready / engine_failed
        if job.kind == "detail":
            if job.generation == self._latest_detail and not result.error and result.value is not None:
                self.detail_ready.emit(result.value, job.context)
            return
        if job.kind == "suggest":
            if job.generation == self._latest_suggest and not result.error:
                self.suggestions_ready.emit(result.value, job.context)
            return
        if job.generation != self._latest_preview:
            self.dropped += 1  # stale: a newer request exists
            return
        if result.error:
            self.inference_failed.emit(result.error)
        else:
            rgb, top = result.value
            self.preview_ready.emit(rgb, result.ms, job.context, top)

    # -- shutdown ---------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop accepting requests, let the running job finish, stop the thread."""
        self._accepting = False
        self._waiting_preview = self._waiting_suggest = self._waiting_detail = None
        self._exports.clear()
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()


class BatchThread(QThread):
    """Runs `core.batch.run_batch` off the GUI thread; Cancel stops after the current photo."""

    progress = Signal(int, int, str, object)  # done, total, current file, last BatchResult or None
    finished_with = Signal(object)  # list of BatchResult
    failed = Signal(str)

    def __init__(self, paths: list[Path], options: Any, engine_provider: Callable[[], Any],
                 run_batch: Callable[..., Any], report_path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths = list(paths)
        self.options = options
        self.engine_provider = engine_provider
        self.run_batch = run_batch
        self.report_path = report_path
        self._stop = False

    def cancel(self) -> None:
        self._stop = True

    @property
    def cancelled(self) -> bool:
        return self._stop

    def run(self) -> None:  # noqa: D102 - QThread entry point
        try:
            engine = self.engine_provider()
            results = self.run_batch(
                self.paths, self.options, engine,
                progress=lambda done, total, current, last: self.progress.emit(done, total, str(current), last),
                should_stop=lambda: self._stop, report_path=self.report_path)
            self.finished_with.emit(list(results))
        except Exception as exc:  # noqa: BLE001 - reported in the window
            traceback.print_exc()
            self.failed.emit(str(exc) or type(exc).__name__)
