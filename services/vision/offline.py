"""Process a recorded video end to end: counts, occupancy, journeys and an optional MOT track file.

This is what ``footfall process VIDEO`` runs (see :mod:`footfall.services.vision.cli_process`).

Summary fields (:class:`VideoSummary`):

* ``frames``: frames processed; ``seconds``: wall-clock processing time; ``fps``: frames
  processed per second of wall-clock time (throughput). ``video_seconds``/``video_fps`` are the
  video's own duration and frame rate.
* ``lines``: ``{name: {"in": n, "out": n}}`` counted crossings per line (see
  :mod:`footfall.services.vision.lines` for which way is ``in``).
* ``zones``: per zone, completed ``visits`` (exits), ``mean_dwell_seconds`` of those visits and
  the ``peak_occupancy`` (most people inside at once).
* ``peak_occupancy``: the most people tracked in view at once (tracks reported at a frame,
  including people hidden for an instant), and the frame where it happened.
* ``journeys``: tracks that ended (left, lost, or open at the end of the video): one per visit
  of a person to the camera's view.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from footfall.services.vision.detection import DetectorSettings, detect_stream, load_detector
from footfall.services.vision.lines import LineCrossing, LineZone
from footfall.services.vision.mot import MotWriter
from footfall.services.vision.pipeline import CameraAnalytics, CameraConfig, FrameResult
from footfall.services.vision.sources import VideoFileSource
from footfall.services.vision.tracking import TrackerConfig
from footfall.services.vision.zones import PolygonZone, ZoneEvent


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
    crossings: tuple[LineCrossing, ...] = field(repr=False, default=())
    zone_events: tuple[ZoneEvent, ...] = field(repr=False, default=())

    def to_dict(self, events: bool = False) -> dict[str, Any]:
        """JSON-ready dict; ``events`` adds every crossing and zone event."""
        out: dict[str, Any] = {
            "video": self.video,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "video_seconds": round(self.video_seconds, 3),
            "video_fps": round(self.video_fps, 3),
            "frame_size": list(self.frame_size),
            "lines": self.lines,
            "zones": {name: asdict(z) for name, z in self.zones.items()},
            "peak_occupancy": self.peak_occupancy,
            "peak_occupancy_frame": self.peak_occupancy_frame,
            "journeys": self.journeys,
        }
        if events:
            out["crossings"] = [asdict(c) for c in self.crossings]
            out["zone_events"] = [asdict(e) for e in self.zone_events]
        return out


def default_tracker_config(fps: float) -> TrackerConfig:
    """Tracker settings for a stream at ``fps`` (durations are in seconds, so only the rate changes)."""
    return TrackerConfig(frame_rate=fps)


def process_video(
    path: str | os.PathLike[str],
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
        path: Video file. A missing or unreadable file raises
            :class:`~footfall.services.vision.sources.SourceError`.
        lines / zones: Counting lines and polygon zones, in the video's pixel coordinates.
        progress: Show a tqdm progress bar on stderr.
        tracks_out: Write the tracks in MOT format (``frame,id,x,y,w,h,conf,-1,-1,-1``, 1-based
            frames) to this path or stream.
        detector: A ready ``inference`` detector; by default one is loaded from
            ``detector_settings``.
        tracker: Tracker settings; by default :func:`default_tracker_config` at the video's fps.
        on_frame: Called with every :class:`~footfall.services.vision.pipeline.FrameResult`.
    """
    source = VideoFileSource(path)
    settings = detector_settings or DetectorSettings()
    if detector is None:
        detector = load_detector(settings, source.frame_size)
    video_fps = float(source.fps or 25.0)
    config = CameraConfig(tuple(lines), tuple(zones), tracker or default_tracker_config(video_fps))
    analytics = CameraAnalytics(config, camera_id=Path(path).name)
    writer = MotWriter(tracks_out) if tracks_out is not None else None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=source.frame_count, unit="frame", desc=Path(path).name, dynamic_ncols=True)

    crossings: list[LineCrossing] = []
    zone_events: list[ZoneEvent] = []
    zone_peaks = {z.name: 0 for z in zones}
    journeys = 0
    peak, peak_frame = 0, 0
    frames = 0
    last_index, last_time = 0, 0.0
    start = time.perf_counter()
    try:
        for frame, detections in detect_stream(detector, source, workers=settings.workers):
            result = analytics.step(detections, frame.index, frame.timestamp, frame.size)
            frames += 1
            last_index, last_time = frame.index, frame.timestamp
            crossings.extend(result.crossings)
            zone_events.extend(result.zone_events)
            journeys += len(result.ended)
            if len(result.tracks) > peak:
                peak, peak_frame = len(result.tracks), frame.index
            for name, occupancy in analytics.zone_occupancy.items():
                zone_peaks[name] = max(zone_peaks[name], occupancy)
            if writer is not None:
                writer.write(frame.index, result.tracks)
            if on_frame is not None:
                on_frame(result)
            if bar is not None:
                bar.update(1)
                if frames % 10 == 0:
                    bar.set_postfix(people=len(result.tracks), refresh=False)
        final = analytics.finish(last_index, last_time)
        zone_events.extend(final.zone_events)
        journeys += len(final.ended)
        if on_frame is not None:
            on_frame(final)
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
        video=str(path),
        frames=frames,
        seconds=seconds,
        fps=frames / seconds if seconds > 0 else 0.0,
        video_seconds=frames / video_fps,
        video_fps=video_fps,
        frame_size=source.frame_size,
        lines=analytics.line_counts,
        zones=zone_summaries,
        peak_occupancy=peak,
        peak_occupancy_frame=peak_frame,
        journeys=journeys,
        crossings=tuple(crossings),
        zone_events=tuple(zone_events),
    )
