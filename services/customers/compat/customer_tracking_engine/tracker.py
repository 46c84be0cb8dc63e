"""``CustomerTracker``: the seed's Python API over Footfall's real vision pipeline and journey builder."""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from footfall.services.customers import exports
from footfall.services.customers.behavior import BehaviorRules, resolve_rules
from footfall.services.customers.conversion import ConversionBook, POSTransaction
from footfall.services.customers.journeys import (
    CustomerEntry,
    CustomerJourney,
    JourneyBuilder,
    JourneyComplete,
    JourneyConfig,
)
from footfall.services.customers.models import JourneyRecord

log = logging.getLogger("customer_tracking_engine")

DEFAULT_DB = Path("data") / "analytics.db"
# The model of every Footfall vision path (``DetectorSettings.model``): what the platform's accuracy was measured on.
DEFAULT_MODEL: str | None = None

#: The seed's journeys table, column for column.
JOURNEYS_SCHEMA = """CREATE TABLE IF NOT EXISTS journeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT,
    entry_time REAL,
    exit_time REAL,
    duration REAL,
    zones TEXT,
    behavior TEXT,
    conversion TEXT,
    created_at TIMESTAMP
)"""


class TrackerError(RuntimeError):
    """The tracker cannot start: a model that does not load, a bad zone or line, a source that does not open."""


# ---- configuration parsing ---------------------------------------------------------------------------

def _zones(zones: Any) -> list[Any]:
    """Zones from: None; a zones JSON file; a list of ``PolygonZone`` or ``{"name", "points"}``; or the seed's
    dict ``{key: {"x1", "y1", "x2", "y2", ...}}`` (or ``{key: {"points": [...]}}``), named by their key."""
    from footfall.services.vision.specs import SpecError, load_zones_file, parse_zones
    from footfall.services.vision.zones import PolygonZone

    if zones is None:
        return []
    try:
        if isinstance(zones, (str, os.PathLike)):
            return load_zones_file(zones)
        if isinstance(zones, Mapping):
            if "zones" in zones:
                return parse_zones(zones)
            items = []
            for key, spec in zones.items():
                if isinstance(spec, PolygonZone):
                    items.append(spec)
                    continue
                if not isinstance(spec, Mapping):
                    raise TrackerError(f"zone {key!r}: expected a mapping with x1, y1, x2, y2 or points")
                if "points" in spec:
                    points = spec["points"]
                else:
                    try:
                        x1, y1, x2, y2 = (float(spec[k]) for k in ("x1", "y1", "x2", "y2"))
                    except KeyError as err:
                        raise TrackerError(f"zone {key!r}: missing {err.args[0]}") from None
                    points = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
                items.append({"name": str(key), "points": [list(p) for p in points]})
            return [z if isinstance(z, PolygonZone) else parse_zones([z])[0] for z in items]
        out = []
        for z in zones:
            out.append(z if isinstance(z, PolygonZone) else parse_zones([z])[0])
        return out
    except SpecError as err:
        raise TrackerError(str(err)) from None


def _lines(lines: Any) -> list[Any]:
    """Counting lines from specs ``"NAME:X1,Y1,X2,Y2[:DIRECTION]"`` or ``LineZone`` objects."""
    from footfall.services.vision.lines import LineZone
    from footfall.services.vision.specs import SpecError, parse_line_spec

    if lines is None:
        return []
    if isinstance(lines, (str, LineZone)):
        lines = [lines]
    try:
        return [line if isinstance(line, LineZone) else parse_line_spec(str(line)) for line in lines]
    except SpecError as err:
        raise TrackerError(str(err)) from None


def detector_settings(
    model_name: str | os.PathLike[str] | None = None, confidence: float | None = None, threads: int | None = None
) -> Any:
    """The platform's ``DetectorSettings`` with the seed's arguments applied (None: the platform's default)."""
    from footfall.services.vision.detection import DetectorSettings

    overrides: dict[str, Any] = {"model": None if model_name is None else str(model_name), "confidence": confidence,
                                 "threads": threads}
    try:
        return DetectorSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as err:
        raise TrackerError(str(err)) from None


def load_detector(
    model_name: str | os.PathLike[str] | None = None, confidence: float | None = None, threads: int | None = None
) -> Any:
    """The platform's detector (``nanodet-int8`` by default), ``nanodet``, a YOLO ``.onnx`` export, or ultralytics
    ``.pt`` weights (``footfall[yolo]``), loaded by the one loader of every vision path."""
    from footfall.inference import ModelLoadError
    from footfall.services.vision import detection

    settings = detector_settings(model_name, confidence, threads)
    model = settings.model
    if model.endswith(".pt"):
        try:
            import ultralytics  # noqa: F401
        except ImportError:
            raise TrackerError(
                f"model_name={model!r} needs ultralytics, which is not installed: pip install 'footfall[yolo]' "
                "(AGPL-3.0, pulls torch), export the weights to ONNX and pass the .onnx, or use the default "
                "model_name='nanodet'"
            ) from None
    try:
        return detection.load_detector(settings)
    except ModelLoadError as err:
        raise TrackerError(f"cannot load model {model!r}: {err}") from err


# ---- the tracker -------------------------------------------------------------------------------------

class CustomerTracker:
    """Counts people in a video, follows each through the zones and reports their journeys.

    >>> tracker = CustomerTracker(zones={"shelves": {"x1": 0, "y1": 0, "x2": 240, "y2": 180}})
    >>> tracker.process_video("video.mp4")
    >>> tracker.total_customers, tracker.peak_occupancy, len(tracker.completed_journeys)
    >>> tracker.save_report()               # data/analytics.db (the seed's journeys table)
    >>> tracker.save_report("report.xlsx")  # or .csv

    Args:
        model_name: The platform's detector by default (``nanodet-int8``, as streams and ``footfall process``),
            ``"nanodet"``, a YOLO ``.onnx`` export, or ``.pt`` weights (needs ultralytics:
            ``pip install 'footfall[yolo]'``; a clear error otherwise).
        confidence: Detection threshold (0-1; default the platform's, 0.2).
        zones: Zones in frame pixels: the seed's ``{key: {"x1", "y1", "x2", "y2", ...}}`` dict, a list of
            ``{"name", "points"}`` polygons, or a zones JSON file.
        lines: Counting lines, ``"NAME:X1,Y1,X2,Y2[:entry|exit|bidirectional]"``.
        db_path: Where :meth:`save_report` writes by default (``data/analytics.db``).
        rules: Behaviour rules (a ``BehaviorRules``, a JSON/TOML file, or a callable ``journey -> label``).
        journey_config: Stitching, confirmation and noise settings (``JourneyConfig``).
        webhook_url / webhook_secret: POST ``customer_entry`` and ``journey_complete`` (signed, retried).
        on_customer_entry / on_journey_complete: Callbacks with the customer id / the finished journey.
        threads: onnxruntime threads (default: onnxruntime's choice).
        detector: An already loaded detector (``inference.PersonDetector``) to share between trackers.
    """

    def __init__(
        self,
        model_name: str | os.PathLike[str] | None = DEFAULT_MODEL,
        confidence: float | None = None,
        zones: Any = None,
        lines: Any = None,
        db_path: str | os.PathLike[str] | None = None,
        *,
        camera_id: str = "default",
        rules: BehaviorRules | str | os.PathLike[str] | Callable[[Any], str | None] | None = None,
        journey_config: JourneyConfig | None = None,
        webhook_url: str | None = None,
        webhook_secret: str = "",
        on_customer_entry: Callable[[str], Any] | None = None,
        on_journey_complete: Callable[[CustomerJourney], Any] | None = None,
        threads: int | None = None,
        detector: Any = None,
    ) -> None:
        if confidence is not None and not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
            raise TrackerError("confidence must be between 0 and 1")
        self.settings = detector_settings(model_name, confidence, threads)
        self.model_name = self.settings.model
        self.confidence = self.settings.confidence
        self.zones = _zones(zones)
        self.lines = _lines(lines)
        self.db_path = Path(db_path) if db_path is not None else DEFAULT_DB
        self.camera_id = camera_id
        self.rules = resolve_rules(rules)
        self.journey_config = journey_config or JourneyConfig()
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.on_customer_entry = on_customer_entry
        self.on_journey_complete = on_journey_complete
        self.detector = detector if detector is not None else load_detector(model_name, confidence, threads)
        self.conversions = ConversionBook()

        self.active_customers: dict[str, CustomerJourney] = {}
        self.completed_journeys: list[CustomerJourney] = []
        self.total_customers = 0
        self.peak_occupancy = 0
        self.current_occupancy = 0
        self.line_counts: dict[str, dict[str, int]] = {}
        self.frames_processed = 0
        self.fps = 0.0
        self._stays: dict[str, list[Any]] = {}
        self._created: dict[str, datetime] = {}
        self._saved: dict[str, set[str]] = {}
        self._stop = threading.Event()
        self._stream: Any = None  # the LocalStream of a running process_video

    # ---- processing ------------------------------------------------------------------------------

    def process_video(
        self, source: str | int | os.PathLike[str] = 0, *, max_frames: int | None = None,
        start_time: float | None = None,
    ) -> CustomerTracker:
        """Run detection, tracking, zones and journeys over ``source`` (a video file, a camera index or an
        RTSP/HTTP URL) until it ends, :meth:`stop` is called or ``max_frames`` frames were processed.

        At the end every visit still in view completes (its exit is the last time it was seen), so
        ``completed_journeys`` holds every customer. Times are Unix seconds: for a file, ``start_time``
        (default: now) plus the frame's time in the video.
        """
        from footfall.services.vision.offline import AnalysisError, LocalStream
        from footfall.services.vision.sources import SourceError, VideoFileSource
        from footfall.services.vision.tracking import TrackerConfig
        from footfall.services.vision.stream_worker import StreamOptions, open_stream_source

        self._stop.clear()
        is_file = not isinstance(source, int) and "://" not in str(source) and not str(source).isdigit()
        first = None
        try:
            if is_file:
                first = VideoFileSource(source)
                fps = first.fps
                opener = open_stream_source("path", str(source))
            else:
                target = int(source) if str(source).isdigit() else str(source)
                opener = open_stream_source("device" if isinstance(target, int) else "url", target,
                                            max_reconnect_attempts=3)
                fps = 15.0
        except SourceError as err:
            raise TrackerError(str(err)) from err
        # Files: Unix time from start_time (default now) plus the frame's time in the video; live: capture time.
        base = (time.time() if start_time is None else float(start_time)) if is_file else 0.0
        builder = JourneyBuilder(self.camera_id, config=self.journey_config, rules=self.rules,
                                 conversions=self.conversions)
        frames = 0

        def on_result(result: Any, analysed_frame: bool) -> None:
            nonlocal frames
            frames += analysed_frame
            self._handle(builder.update(result), builder)
            if stream.session is not None:
                self.line_counts = {k: dict(v) for k, v in stream.session.line_counts.items()}

        # The platform's stream worker and engine, as `footfall process` and live streams run them.
        stream = LocalStream(
            opener, name=self.camera_id, detector=self.detector, lines=self.lines, zones=self.zones,
            tracker=TrackerConfig(frame_rate=fps), workers=self.settings.workers,
            options=StreamOptions(max_frames=max_frames or 0, time_origin=base), first_source=first,
            on_result=on_result,
        )
        self._stream = stream
        if self._stop.is_set():
            stream.stop()
        started = time.perf_counter()
        try:
            stream.run()
        except AnalysisError as err:
            raise TrackerError(str(err)) from err
        finally:
            self._stream = None
            if first is not None:
                first.close()
        self._handle(builder.finish(), builder)
        self.frames_processed += frames
        elapsed = time.perf_counter() - started
        self.fps = frames / elapsed if elapsed > 0 else 0.0
        log.info("processed %d frames (%.1f fps): %d customers, peak occupancy %d", frames, self.fps,
                 self.total_customers, self.peak_occupancy)
        return self

    def stop(self) -> None:
        """End a running :meth:`process_video` after its current frames (from another thread)."""
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.stop()

    def _handle(self, events: Sequence[Any], builder: JourneyBuilder) -> None:
        for ev in events:
            if isinstance(ev, CustomerEntry):
                self.total_customers += 1
                self._notify_entry(ev)
            elif isinstance(ev, JourneyComplete):
                j = ev.journey
                self.completed_journeys.append(j)
                self._stays[j.session_id] = list(ev.zone_stays)
                self._created[j.session_id] = datetime.now(UTC)
                self._notify_complete(ev)
        self.active_customers = builder.active_journeys()
        self.current_occupancy = builder.occupancy
        self.peak_occupancy = max(self.peak_occupancy, builder.peak_occupancy)

    def _notify_entry(self, ev: CustomerEntry) -> None:
        if self.on_customer_entry is not None:
            self.on_customer_entry(ev.customer_id)
        if self.webhook_url:
            self._post(ev.webhook_payload(), ev.session_id)

    def _notify_complete(self, ev: JourneyComplete) -> None:
        if self.on_journey_complete is not None:
            self.on_journey_complete(ev.journey)
        if self.webhook_url:
            self._post(ev.webhook_payload(), ev.journey.session_id)

    def _post(self, body: dict[str, Any], session_id: str) -> None:
        from footfall.services.customers.webhooks import post_sync

        result = post_sync(self.webhook_url or "", body, secret=self.webhook_secret, event=body["event"],
                           event_id=f"{session_id}/{body['event']}", max_attempts=3, backoff=0.5)
        if not result.delivered:
            log.warning("webhook %s for %s failed: %s", body["event"], body["customer_id"], result.error)

    # ---- POS -------------------------------------------------------------------------------------

    def add_transaction(
        self, transaction_id: str, time: float, amount: float = 0.0, zone: str | None = None, **kw: Any
    ) -> str | None:
        """Record a POS sale; returns the customer id it converts (see ``footfall.services.customers.conversion``).

        Sales recorded before :meth:`process_video` are matched as journeys complete."""
        txn = POSTransaction(transaction_id, float(time), float(amount), zone=zone, **kw)
        session = self.conversions.add_transaction(txn)
        if session is None:
            return None
        for j in self.completed_journeys:
            if j.session_id == session:
                j.conversion_status = "Purchased"
                return j.customer_id
        return None

    # ---- reports ---------------------------------------------------------------------------------

    def records(self) -> list[JourneyRecord]:
        """The completed journeys as export records (ids in completion order)."""
        recs = []
        for i, j in enumerate(self.completed_journeys, start=1):
            txns = [t for t, s in self.conversions.matched.items() if s == j.session_id]
            amount = sum(self.conversions.transactions[t].amount for t in txns)
            created = self._created.get(j.session_id, datetime.now(UTC))
            recs.append(JourneyRecord(i, self.camera_id, j, self._stays.get(j.session_id, []), txns, amount,
                                      created, created))
        return recs

    def save_report(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the completed journeys: to SQLite (``.db``, default ``db_path``: the seed's ``journeys``
        table, appended, each journey once per file), or a fresh ``.csv`` / ``.xlsx`` export."""
        target = Path(path) if path is not None else self.db_path
        suffix = target.suffix.lower()
        if target.parent and not target.parent.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            with open(target, "w", newline="", encoding="utf-8") as fh:
                exports.write_csv(self.records(), fh)
        elif suffix in (".xlsx", ".xlsm"):
            exports.write_xlsx(self.records(), str(target))
        elif suffix == ".json":
            target.write_text(json.dumps([asdict(j) for j in self.completed_journeys], indent=2), encoding="utf-8")
        else:
            self._save_sqlite(target)
        log.info("report saved: %s", target)
        return target

    def _save_sqlite(self, target: Path) -> None:
        key = str(target.resolve())
        saved = self._saved.setdefault(key, set())
        rows = []
        for j in self.completed_journeys:
            if j.session_id in saved:
                continue
            created = exports.created_at_text(self._created.get(j.session_id, datetime.now(UTC)))
            rows.append((j.customer_id, j.entry_time, j.exit_time, j.total_duration, json.dumps(j.zones_visited),
                         j.behavior_pattern, j.conversion_status, created))
            saved.add(j.session_id)
        with sqlite3.connect(target) as conn:
            conn.execute(JOURNEYS_SCHEMA)
            conn.executemany(
                """INSERT INTO journeys (customer_id, entry_time, exit_time, duration, zones, behavior, conversion,
                                         created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )
        conn.close()

    def summary(self) -> dict[str, Any]:
        durations = [j.total_duration or 0.0 for j in self.completed_journeys]
        return {
            "total_customers": self.total_customers,
            "peak_occupancy": self.peak_occupancy,
            "completed_journeys": len(self.completed_journeys),
            "average_duration": sum(durations) / len(durations) if durations else 0.0,
            "frames": self.frames_processed,
            "fps": round(self.fps, 2),
            "line_counts": self.line_counts,
        }


# ---- batch and parallel processing (module-level, picklable) -------------------------------------------

def process_single_video(video_path: str | os.PathLike[str], **tracker_kwargs: Any) -> int:
    """The seed's ``process_single_video``: total customers of one video."""
    max_frames = tracker_kwargs.pop("max_frames", None)
    tracker = CustomerTracker(**tracker_kwargs)
    tracker.process_video(video_path, max_frames=max_frames)
    return tracker.total_customers


def process_video_summary(
    video_path: str | os.PathLike[str], report: str | os.PathLike[str] | None = None, **tracker_kwargs: Any
) -> dict[str, Any]:
    """Process one video, optionally save its report, and return its summary and journeys (picklable)."""
    max_frames = tracker_kwargs.pop("max_frames", None)
    tracker = CustomerTracker(**tracker_kwargs)
    tracker.process_video(video_path, max_frames=max_frames)
    if report is not None:
        tracker.save_report(report)
    return {"video": str(video_path), **tracker.summary(),
            "journeys": [asdict(j) for j in tracker.completed_journeys]}


def batch_process_videos(
    video_list: Iterable[str | os.PathLike[str]], report: str | os.PathLike[str] | None = None, **tracker_kwargs: Any
) -> list[dict[str, Any]]:
    """The seed's batch loop: each video in turn, each report appended to ``report`` (``data/analytics.db``).

    The detector is loaded once and shared by the videos' trackers."""
    if "detector" not in tracker_kwargs:
        tracker_kwargs["detector"] = load_detector(
            tracker_kwargs.get("model_name", DEFAULT_MODEL), tracker_kwargs.get("confidence"),
            tracker_kwargs.pop("threads", None),
        )
    results = []
    for video in video_list:
        tracker = CustomerTracker(**tracker_kwargs)
        tracker.process_video(video)
        tracker.save_report(report)
        results.append({"video": str(video), **tracker.summary()})
    return results


def parallel_process_videos(
    video_list: Sequence[str | os.PathLike[str]], processes: int | None = None, **tracker_kwargs: Any
) -> list[dict[str, Any]]:
    """Process videos in ``processes`` worker processes (spawned: safe next to onnxruntime's threads).

    Each worker uses ``threads`` onnxruntime threads (default: CPU count / processes)."""
    processes = processes or min(len(video_list), os.cpu_count() or 1) or 1
    tracker_kwargs.setdefault("threads", max(1, math.floor((os.cpu_count() or 1) / processes)))
    work = functools.partial(process_video_summary, **tracker_kwargs)
    with get_context("spawn").Pool(processes) as pool:
        return pool.map(work, list(video_list))
