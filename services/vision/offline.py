"""Analyse a video in this process, outside the platform: what ``footfall process VIDEO`` and the
``customer_tracking_engine`` API run.

It is the live stream path, not a copy of it: a :class:`~footfall.services.vision.stream_worker.StreamWorker`
reads the source into a :class:`~footfall.services.vision.camera_session.CameraSession` on an
:class:`~footfall.services.vision.engine.AnalysisEngine`, with no event bus (``publisher=None``). A file
is read with back-pressure (every frame analysed), so a stream of the same file with the same
detector settings gives the same tracks and counts.

Summary fields (:class:`VideoSummary`):

* ``frames``: frames processed (``declared_frames``: what the file's header announces; fewer
  processed means the end of the file could not be decoded, see ``truncated``); ``seconds``:
  wall-clock processing time; ``fps``: frames processed per second of wall-clock time
  (throughput). ``video_seconds``/``video_fps`` are the video's own duration and frame rate.
* ``lines``: ``{name: {"in": n, "out": n}}`` counted crossings per line (see
  :mod:`footfall.services.vision.lines` for which way is ``in``).
* ``zones``: per zone, completed ``visits`` (exits), ``mean_dwell_seconds`` of those visits and
  the ``peak_occupancy`` (most people inside at once).
* ``peak_occupancy``: the most people tracked in view at once (tracks reported at a frame,
  including people hidden for an instant), and the frame where it happened.
* ``journeys``: tracks that ended (left, lost, or open at the end of the video): one per visit
  of a person to the camera's view.

Frames are 0-based in these objects (as everywhere in the pipeline); :meth:`VideoSummary.to_dict`
(the CLI's JSON) numbers them from 1, like the MOT track file and the CLI's text.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from footfall.services.vision.camera_lines import CameraLine, LineSet
from footfall.services.vision.camera_session import CameraSession, StreamState
from footfall.services.vision.detection import DetectorSettings, load_detector
from footfall.services.vision.engine import AnalysisEngine
from footfall.services.vision.lines import LineCrossing, LineZone
from footfall.services.vision.mot import MotWriter
from footfall.services.vision.pipeline import FrameResult
from footfall.services.vision.sources import FrameSource, SourceStatus, VideoFileSource
from footfall.services.vision.stream_worker import StreamOptions, StreamWorker
from footfall.services.vision.tracking import TrackerConfig
from footfall.services.vision.zones import PolygonZone, ZoneEvent

LOCAL_ORG = "local"


class AnalysisError(RuntimeError):
    """The video could not be analysed to its end (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class ZoneSummary:
    visits: int
    mean_dwell_seconds: float | None
    peak_occupancy: int


@dataclass(frozen=True, slots=True)
class VideoSummary:
    """Result of :func:`process_video`; see the module docstring for the meaning of each field."""

    video: str
    frames: int
    seconds: float
    fps: float
    video_seconds: float
    video_fps: float
    frame_size: tuple[int, int]
    lines: dict[str, dict[str, int]]
    zones: dict[str, ZoneSummary]
    peak_occupancy: int
    peak_occupancy_frame: int
    journeys: int
    declared_frames: int | None = None
    crossings: tuple[LineCrossing, ...] = field(repr=False, default=())
    zone_events: tuple[ZoneEvent, ...] = field(repr=False, default=())

    @property
    def truncated(self) -> bool:
        """Fewer frames decoded than the file declares: the rest is corrupt or cut off."""
        return self.declared_frames is not None and self.frames < self.declared_frames

    def to_dict(self, events: bool = False) -> dict[str, Any]:
        """JSON-ready dict, frames numbered from 1; ``events`` adds every crossing and zone event."""
        out: dict[str, Any] = {
            "video": self.video,
            "frames": self.frames,
            "declared_frames": self.declared_frames,
            "truncated": self.truncated,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "video_seconds": round(self.video_seconds, 3),
            "video_fps": round(self.video_fps, 3),
            "frame_size": list(self.frame_size),
            "lines": self.lines,
            "zones": {name: asdict(z) for name, z in self.zones.items()},
            "peak_occupancy": self.peak_occupancy,
            "peak_occupancy_frame": self.peak_occupancy_frame + 1,
            "journeys": self.journeys,
        }
        if events:
            out["crossings"] = [_one_based(asdict(c)) for c in self.crossings]
            out["zone_events"] = [_one_based(asdict(e)) for e in self.zone_events]
        return out


def _one_based(event: dict[str, Any]) -> dict[str, Any]:
    for key in ("frame_index", "first_frame"):
        if isinstance(event.get(key), int):
            event[key] += 1
    return event


def default_tracker_config(fps: float) -> TrackerConfig:
    """Tracker settings for a stream at ``fps`` (durations are in seconds, so only the rate changes)."""
    return TrackerConfig(frame_rate=fps)


# --------------------------------------------------------------------------------------------------
# One stream, in this process


class LocalStream:
    """One source analysed by the platform's stream worker and engine in this process, without a bus.

    :meth:`run` blocks until the source ends, ``options.max_frames`` are analysed or :meth:`stop` is called
    (from any thread); ``on_result(result, analysed_frame)`` sees every result in order (``analysed_frame``
    False for the tracks ended when the stream closes). Raises :class:`AnalysisError` when the stream fails.
    """

    def __init__(
        self,
        open_source: Callable[[Callable[[SourceStatus, str | None], None] | None], FrameSource],
        *,
        name: str,
        detector: Any,
        lines: Sequence[LineZone] = (),
        zones: Sequence[PolygonZone] = (),
        tracker: TrackerConfig | None = None,
        workers: int = 1,
        options: StreamOptions | None = None,
        first_source: FrameSource | None = None,
        on_result: Callable[[FrameResult, bool], None] | None = None,
    ) -> None:
        self._open_source = open_source
        self.name = name
        self.detector = detector
        self.lines = tuple(lines)
        self.zones = tuple(zones)
        self.tracker = tracker or TrackerConfig()
        self.workers = workers
        self.options = options or StreamOptions()
        self._first_source = first_source
        self._on_result = on_result
        self.session: CameraSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: StreamWorker | None = None
        self._stop_requested = threading.Event()

    def run(self) -> CameraSession:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run())
        # Called from async code: run on a loop of our own in a thread rather than block the caller's loop.
        box: list[Any] = []
        thread = threading.Thread(target=lambda: box.append(_outcome(lambda: asyncio.run(self._run()))),
                                  name=f"local-stream:{self.name}")
        thread.start()
        thread.join()
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        """End :meth:`run` after the frames in analysis (thread-safe)."""
        self._stop_requested.set()
        loop, worker = self._loop, self._worker
        if loop is not None and worker is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(lambda: asyncio.ensure_future(worker.stop("stopped on request")))
            except RuntimeError:  # the loop closed meanwhile: the run is over anyway
                pass

    async def _run(self) -> CameraSession:
        self._loop = asyncio.get_running_loop()
        engine = AnalysisEngine(lambda: self.detector, max_batch=1, batch_window_s=0.0, workers=self.workers)
        session = CameraSession(
            org=LOCAL_ORG, camera_id=self.name, session_id="local", source=self.name, kind="path",
            lines=LineSet(tuple(CameraLine(line) for line in self.lines)), zones=self.zones, engine=engine,
            publisher=None, on_update=lambda _update: None, tracker=self.tracker, time_mode="media",
            on_result=self._on_result,
        )
        self.session = session
        worker = self._worker = StreamWorker(session, self._open_source, self.options, self._first_source)
        try:
            worker.start()
            if self._stop_requested.is_set():
                await worker.stop("stopped on request")
            await worker.wait()
        finally:
            await engine.close()
        if session.state is StreamState.FAILED:
            raise AnalysisError(session.detail or "the stream failed")
        return session


def _outcome(fn: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, fn()
    except BaseException as exc:  # noqa: BLE001 - re-raised by the caller's thread
        return False, exc


# --------------------------------------------------------------------------------------------------
# A video file, summed up


def process_video(
    path: str | os.PathLike[str] | VideoFileSource,
    lines: Sequence[LineZone] = (),
    zones: Sequence[PolygonZone] = (),
    *,
    progress: bool = True,
    tracks_out: str | os.PathLike[str] | TextIO | None = None,
    detector: Any = None,
    detector_settings: DetectorSettings | None = None,
    tracker: TrackerConfig | None = None,
    on_frame: Callable[[FrameResult], None] | None = None,
) -> VideoSummary:
    """Detect, track and count people in a video file.

    Args:
        path: Video file, or a :class:`VideoFileSource` already opened on it. A missing or
            unreadable file raises :class:`~footfall.services.vision.sources.SourceError`.
        lines / zones: Counting lines and polygon zones, in the video's pixel coordinates.
        progress: Show a tqdm progress bar on stderr.
        tracks_out: Write the tracks in MOT format (``frame,id,x,y,w,h,conf,-1,-1,-1``, 1-based
            frames) to this path or stream.
        detector: A ready ``inference`` detector; by default one is loaded from
            ``detector_settings`` (default :class:`DetectorSettings`).
        tracker: Tracker settings; by default :func:`default_tracker_config` at the video's fps.
        on_frame: Called with every :class:`~footfall.services.vision.pipeline.FrameResult`.

    Raises :class:`AnalysisError` when the analysis fails part way.
    """
    source = path if isinstance(path, VideoFileSource) else VideoFileSource(path)
    video = str(source.path)
    settings = detector_settings or DetectorSettings()
    try:
        if detector is None:
            detector = load_detector(settings, source.frame_size)
    except BaseException:
        source.close()
        raise
    video_fps = float(source.fps or 25.0)
    writer = MotWriter(tracks_out) if tracks_out is not None else None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=source.frame_count, unit="frame", desc=source.path.name, dynamic_ncols=True)

    crossings: list[LineCrossing] = []
    zone_events: list[ZoneEvent] = []
    zone_inside: dict[str, set[int]] = {z.name: set() for z in zones}
    zone_peaks = {z.name: 0 for z in zones}
    journeys = 0
    peak, peak_frame = 0, 0
    frames = 0

    def collect(result: FrameResult, analysed_frame: bool) -> None:
        nonlocal journeys, peak, peak_frame, frames
        crossings.extend(result.crossings)
        zone_events.extend(result.zone_events)
        journeys += len(result.ended)
        for event in result.zone_events:
            inside = zone_inside[event.zone]
            (inside.add if event.kind == "enter" else inside.discard)(event.track_id)
        for name, inside in zone_inside.items():  # after the whole frame: an exit and an entry are not two people
            zone_peaks[name] = max(zone_peaks[name], len(inside))
        if analysed_frame:
            frames += 1
            if len(result.tracks) > peak:
                peak, peak_frame = len(result.tracks), result.frame_index
            if writer is not None:
                writer.write(result.frame_index, result.tracks)
            if bar is not None:
                bar.update(1)
                if frames % 10 == 0:
                    bar.set_postfix(people=len(result.tracks), refresh=False)
        if on_frame is not None:
            on_frame(result)

    stream = LocalStream(
        lambda _status: VideoFileSource(video), name=source.path.name, detector=detector, lines=lines, zones=zones,
        tracker=tracker or default_tracker_config(video_fps), workers=settings.workers,
        options=StreamOptions(every_frame=True), first_source=source, on_result=collect,
    )
    start = time.perf_counter()
    try:
        session = stream.run()
    finally:
        source.close()
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.close()
    seconds = time.perf_counter() - start

    zone_summaries: dict[str, ZoneSummary] = {}
    for z in zones:
        dwell = [
            e.dwell_seconds
            for e in zone_events
            if e.zone == z.name and e.kind == "exit" and e.dwell_seconds is not None
        ]
        zone_summaries[z.name] = ZoneSummary(
            visits=len(dwell),
            mean_dwell_seconds=round(sum(dwell) / len(dwell), 3) if dwell else None,
            peak_occupancy=zone_peaks[z.name],
        )
    return VideoSummary(
        video=video,
        frames=frames,
        seconds=seconds,
        fps=frames / seconds if seconds > 0 else 0.0,
        video_seconds=frames / video_fps,
        video_fps=video_fps,
        frame_size=source.frame_size,
        lines={name: dict(counts) for name, counts in session.line_counts.items()},
        zones=zone_summaries,
        peak_occupancy=peak,
        peak_occupancy_frame=peak_frame,
        journeys=journeys,
        declared_frames=source.frame_count,
        crossings=tuple(crossings),
        zone_events=tuple(zone_events),
    )
