"""The analysis engine: one detector for every camera, frames in, tracked results out, in order per camera.

Every vision path analyses frames here: live streams and files read by
:class:`~footfall.services.vision.stream_worker.StreamWorker` (``footfall process`` and the
``customer_tracking_engine`` API run one too) and frames pushed by clients.

* Detection: frames submitted by all cameras are detected together (at most one frame per camera per
  detector call; onnxruntime gives each frame the same boxes alone or in a batch, which
  tests/vision_engine checks, so a camera's results do not depend on the other cameras).
  Up to ``workers`` calls run at once, each on its own thread, so several cameras (or one file) keep
  every core busy. A camera whose detection looks where its people are tracked (motion gating) has a
  frame dispatched only once every frame but the one just before it is tracked, and its gate sees
  exactly the tracks of those frames (``tracked_until``). The gate decisions (where to look) are taken
  on one thread in dispatch order, which is frame order per camera, so each frame is compared with the
  one before it; the detections themselves then run on the workers: frame N+1 is detected while frame
  N is still detected or tracked, and the results never depend on timing (a file gives the same tracks
  streamed or processed).
* Analytics (tracker, lines, zones: :class:`~footfall.services.vision.pipeline.VisionPipeline`) run on
  one analysis thread, in submission order per camera; that thread also serialises every change to
  the pipeline's cameras.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import cv2

from footfall.services.core.errors import Unavailable
from footfall.services.core.metrics import DETECTOR_LATENCY
from footfall.services.vision.pipeline import CameraConfig, FrameResult, VisionPipeline
from footfall.services.vision.sources import Frame

log = logging.getLogger(__name__)


@dataclass
class BatchStats:
    batches: int = 0
    frames: int = 0
    max_batch_size: int = 0
    sizes: collections.Counter[int] = field(default_factory=collections.Counter)
    detect_seconds: float = 0.0


@dataclass(frozen=True)
class Analysis:
    result: FrameResult
    detections: Any  # footfall.inference.detections.Detections of this frame
    line_counts: dict[str, dict[str, int]]
    zone_occupancy: dict[str, int]


@dataclass(eq=False)
class _Job:
    frame: Frame
    future: asyncio.Future[Analysis]
    tracked_until: float = float("-inf")  # timestamp of the frame submitted two before this one
    state: str = "queued"  # queued -> detecting -> detected
    detections: Any = None
    error: BaseException | None = None


def _backend_label(detector: Any) -> str:
    name = getattr(detector, "backend_name", None)
    if name:
        return str(name)
    backend = type(getattr(detector, "backend", detector)).__name__.lower()
    return "triton" if "triton" in backend else "onnx"


class AnalysisEngine:
    """One detector for every camera; frames of different cameras are detected in one batch.

    Args:
        load_detector: Builds the detector (called once, in the analysis thread); see
            :func:`footfall.services.vision.detection.detector_loader`.
        max_batch: Most frames (cameras) per detector call.
        batch_window_s: When a frame arrives while the engine is idle, how long to wait for the other
            streaming cameras' frames so they share the call.
        workers: Detector calls run at once (``DetectorSettings.workers``).
    """

    def __init__(
        self, load_detector: Callable[[], Any], *, max_batch: int = 8, batch_window_s: float = 0.01, workers: int = 1
    ) -> None:
        # OpenCV's own thread pool (resizes, colour conversions, decoding) would compete with the engine's threads,
        # which already keep every core busy: on one PETS camera it cost 0.6-0.8 ms of CPU a frame (~5 %) for
        # nothing. Process-wide, as OpenCV offers it.
        cv2.setNumThreads(1)
        self._load_detector = load_detector
        self.max_batch = max(1, max_batch)
        self.batch_window_s = batch_window_s
        self.workers = max(1, workers)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision-analysis")
        self._detect_pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="vision-detect")
        self._gate_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision-gate")  # in dispatch order
        self._pipeline: VisionPipeline | None = None
        self._detector: Any = None
        self._backend = "onnx"
        self._load_lock = asyncio.Lock()
        self._track_lock = asyncio.Lock()
        self._jobs: dict[str, collections.deque[_Job]] = {}
        self._in_flight = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._detect_tasks: set[asyncio.Task[None]] = set()
        self._streaming: set[str] = set()
        self._in_order: set[str] = set()  # see _detects_by_tracks
        self._submitted: dict[str, tuple[float, float]] = {}  # camera -> timestamps of its last two frames
        self._analysing: collections.Counter[str] = collections.Counter()  # camera -> frames in the analysis thread
        self.stats = BatchStats()

    @property
    def ready(self) -> bool:
        return self._pipeline is not None

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def load(self) -> None:
        """Load the detector (once); Unavailable when it cannot be loaded."""
        if self._pipeline is not None:
            return
        async with self._load_lock:
            if self._pipeline is not None:
                return
            try:
                detector = await self._run(self._load_detector)
            except Exception as exc:
                log.exception("loading the person detector failed")
                raise Unavailable(f"person detector unavailable: {exc}") from exc
            self._detector = detector
            self._backend = _backend_label(detector)
            self._pipeline = VisionPipeline(detector, cameras={})
            if self._task is None:
                self._task = asyncio.create_task(self._batch_loop(), name="vision-batches")

    # ---- cameras ------------------------------------------------------------------------------------

    async def add_camera(self, key: str, config: CameraConfig, *, streaming: bool) -> None:
        await self.load()
        assert self._pipeline is not None
        await self._run(self._pipeline.add_camera, key, config)
        self._jobs[key] = collections.deque()
        if self._detects_by_tracks(config):
            self._in_order.add(key)
        if streaming:
            self._streaming.add(key)

    def _detects_by_tracks(self, config: CameraConfig) -> bool:
        """Whether a camera's detections depend on its tracks so far (motion gating looks where people are
        tracked). Its frames are then detected one after another, each once the previous one is tracked, so
        its results never depend on timing: a file gives the same tracks streamed or processed, run after run.
        Other cameras' frames still share the detector calls and the workers."""
        gate = getattr(config, "gate", None)
        return bool(getattr(gate, "enabled", False)) and callable(getattr(self._detector, "detect_regions", None))

    async def end_tracks(self, key: str) -> FrameResult:
        """End every open track of a camera (a looping file wrapped); the camera keeps running.

        Call it with none of the camera's frames in flight."""
        assert self._pipeline is not None
        return await self._run(self._pipeline.finish, key)

    async def reconfigure_camera(
        self, key: str, config: CameraConfig
    ) -> tuple[dict[str, dict[str, int]], dict[str, int]] | None:
        """Swap a camera's lines and zones between two of its frames (V2's live line edits). A line or zone
        whose definition is unchanged keeps its counter: its counts and its tracks' sides carry over.
        Returns the new (line counts, zone occupancy); None when the camera is not added."""
        from dataclasses import replace

        from footfall.services.vision.lines import LineCounter
        from footfall.services.vision.zones import ZoneCounter

        pipeline = self._pipeline

        def swap() -> tuple[dict[str, dict[str, int]], dict[str, int]] | None:
            camera = pipeline.cameras.get(key) if pipeline is not None else None
            if camera is None:
                return None
            lines, zones = camera.lines, camera.zones
            camera.lines = {z.name: lines[z.name] if z.name in lines and lines[z.name].zone == z else LineCounter(z)
                            for z in config.lines}
            camera.zones = {z.name: zones[z.name] if z.name in zones and zones[z.name].zone == z else ZoneCounter(z)
                            for z in config.zones}
            camera.config = replace(camera.config, lines=config.lines, zones=config.zones)
            return camera.line_counts, camera.zone_occupancy

        async with self._track_lock:  # between two analysed frames of every camera
            return await self._run(swap)

    async def remove_camera(self, key: str) -> FrameResult | None:
        """Stop a camera: its frames in flight are dropped, its open tracks end; returns that final result
        (None if it was never added)."""
        self._streaming.discard(key)
        self._in_order.discard(key)
        self._submitted.pop(key, None)
        for job in self._jobs.pop(key, ()):
            if not job.future.done():
                job.future.cancel()
        if self._pipeline is None:
            return None
        pipeline = self._pipeline

        def remove() -> FrameResult | None:
            if key not in pipeline.cameras:
                return None
            return pipeline.remove_camera(key)

        async with self._track_lock:  # not while this camera's results are being applied
            return await self._run(remove)

    # ---- frames -------------------------------------------------------------------------------------

    def submit(self, key: str, frame: Frame) -> asyncio.Future[Analysis]:
        """Queue one frame of a camera (added with :meth:`add_camera`); its future resolves once the frame is
        detected, tracked and counted. A camera's futures resolve in submission order."""
        jobs = self._jobs.get(key)
        if jobs is None or self._pipeline is None:
            raise RuntimeError(f"camera {key} is not in the engine; add it first")
        future: asyncio.Future[Analysis] = asyncio.get_running_loop().create_future()
        before_last, last = self._submitted.get(key, (float("-inf"), float("-inf")))
        jobs.append(_Job(frame, future, tracked_until=before_last))
        self._submitted[key] = (last, frame.timestamp)
        self._wakeup.set()
        return future

    async def analyse(self, key: str, frame: Frame) -> Analysis:
        """Detect, track and count one frame of one camera (batched with other cameras' frames)."""
        future = self.submit(key, frame)
        try:
            return await future
        except asyncio.CancelledError:
            future.cancel()
            raise

    def _next_batch(self) -> dict[str, _Job]:
        """The oldest queued frame of each camera (at most ``max_batch``), marked detecting."""
        batch: dict[str, _Job] = {}
        # Cameras with no frame in detection first: a gated camera may have two frames in detection, and without
        # this the first cameras would fill every batch of a busy engine while the last ones starved.
        for key in sorted(self._jobs, key=lambda k: any(j.state == "detecting" for j in self._jobs[k])):
            jobs = self._jobs[key]
            if key in self._in_order:  # once every frame but the previous one is tracked
                while jobs and jobs[0].state == "queued" and jobs[0].future.done():
                    jobs.popleft()
                untracked = self._analysing[key]  # earlier frames not tracked yet
                for job in jobs:
                    if job.future.done():
                        continue
                    if job.state == "queued":
                        if untracked <= 1:
                            batch[key] = job
                        break
                    untracked += 1
                if len(batch) >= self.max_batch:
                    break
                continue
            for job in jobs:
                if job.state == "queued" and not job.future.done():
                    batch[key] = job
                    break
            if len(batch) >= self.max_batch:
                break
        for job in batch.values():
            job.state = "detecting"
        return batch

    def _queued_cameras(self) -> int:
        return sum(any(j.state == "queued" for j in jobs) for jobs in self._jobs.values())

    async def _batch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._in_flight < self.workers and (queued := self._queued_cameras()):
                if self._in_flight == 0:
                    # Idle: give the other streaming cameras a moment to share this call.
                    wanted = min(self.max_batch, max(1, len(self._streaming)))
                    deadline = loop.time() + self.batch_window_s
                    while queued < wanted and (left := deadline - loop.time()) > 0:
                        self._wakeup.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wakeup.wait(), left)
                        queued = self._queued_cameras()
                batch = self._next_batch()
                if not batch:
                    break
                self._in_flight += 1
                task = asyncio.create_task(self._detect(batch), name="vision-detect")
                self._detect_tasks.add(task)
                task.add_done_callback(self._detect_tasks.discard)

    def _detect_batch(self, images: list[tuple[str, Any, float, float | None]], decisions: list[Any]
                      ) -> tuple[list[Any], float]:
        started = time.perf_counter()
        assert self._pipeline is not None
        found = list(self._pipeline.detect_decided(images, decisions))
        seconds = time.perf_counter() - started
        if len(found) != len(images):
            raise RuntimeError(f"detector returned {len(found)} results for {len(images)} frames")
        DETECTOR_LATENCY.labels(self._backend).observe(seconds)
        return found, seconds

    async def _detect(self, batch: dict[str, _Job]) -> None:
        jobs = list(batch.values())
        loop = asyncio.get_running_loop()
        images = [(k, j.frame.image, j.frame.timestamp, j.tracked_until if k in self._in_order else None)
                  for k, j in batch.items()]
        try:
            assert self._pipeline is not None
            # Queued on the gate thread before this task first yields: decisions run in dispatch order.
            decisions = await loop.run_in_executor(self._gate_pool, self._pipeline.decide_batch, images)
            found, seconds = await loop.run_in_executor(self._detect_pool, self._detect_batch, images, decisions)
            self.stats.detect_seconds += seconds
            self.stats.batches += 1
            self.stats.frames += len(jobs)
            self.stats.sizes[len(jobs)] += 1
            self.stats.max_batch_size = max(self.stats.max_batch_size, len(jobs))
            for job, dets in zip(jobs, found):
                job.detections = dets
        except Exception as exc:
            log.exception("detecting a batch of %d frames failed", len(jobs))
            for job in jobs:
                job.error = exc
        for job in jobs:
            job.state = "detected"
        self._in_flight -= 1
        self._wakeup.set()
        await self._track_ready()

    async def _track_ready(self) -> None:
        """Run the analytics of every camera's detected frames that are next in line, in order."""
        async with self._track_lock:
            while True:
                ready: dict[str, list[_Job]] = {}
                for key, jobs in self._jobs.items():
                    while jobs and (jobs[0].state == "detected" or jobs[0].future.done()):
                        job = jobs.popleft()
                        if not job.future.done():
                            ready.setdefault(key, []).append(job)
                if not ready:
                    return
                self._analysing.update({key: len(jobs) for key, jobs in ready.items()})
                try:
                    analyses = await self._run(self._analyse, ready)
                except Exception as exc:  # the analysis thread itself failed: fail these frames
                    log.exception("analysing %d frames failed", sum(map(len, ready.values())))
                    analyses = {id(j): exc for jobs in ready.values() for j in jobs}
                finally:
                    self._analysing.subtract({key: len(jobs) for key, jobs in ready.items()})
                    self._wakeup.set()
                for jobs in ready.values():
                    for job in jobs:
                        outcome = analyses.get(id(job))
                        if job.future.done():
                            continue
                        if isinstance(outcome, Analysis):
                            job.future.set_result(outcome)
                        else:
                            job.future.set_exception(outcome or RuntimeError("frame was not analysed"))

    def _analyse(self, ready: dict[str, list[_Job]]) -> dict[int, Analysis | BaseException]:
        """In the analysis thread: each camera's analytics on its detected frames, in order."""
        assert self._pipeline is not None
        out: dict[int, Analysis | BaseException] = {}
        for key, jobs in ready.items():
            camera = self._pipeline.cameras.get(key)
            for job in jobs:
                if camera is None:
                    out[id(job)] = RuntimeError(f"camera {key} was removed")
                elif job.error is not None:
                    out[id(job)] = job.error
                else:
                    try:
                        frame = job.frame
                        result = self._pipeline.process_detections(
                            job.detections, frame.index, frame.timestamp, frame.size, camera_id=key
                        )
                        out[id(job)] = Analysis(result, job.detections, camera.line_counts, camera.zone_occupancy)
                    except Exception as exc:  # noqa: BLE001 - one bad frame fails that frame
                        log.warning("camera %s: frame %d not analysed: %s", key, job.frame.index, exc)
                        out[id(job)] = exc
        return out

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._detect_tasks):
            task.cancel()
        for jobs in self._jobs.values():
            for job in jobs:
                if not job.future.done():
                    job.future.cancel()
        self._jobs.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._detect_pool.shutdown(wait=False, cancel_futures=True)
        self._gate_pool.shutdown(wait=False, cancel_futures=True)
