"""The occupancy service's domain facade: every behaviour, whichever transport asks for it.

The gRPC servicer, the NATS consumers and the scheduler all call these methods; the gateway's REST routes
and GraphQL fields reach them through the servicer. Each method runs its work in one tenant-scoped
transaction (`Database.tenant(org)`), then announces what it committed (see `alerts.py`).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from footfall.v1 import occupancy_pb2

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument, NotFound, Unavailable
from footfall.services.core.events import EventBus
from footfall.services.core.idempotency import claim_events
from footfall.services.core.metrics import CROSSING_OUTCOMES, CROSSINGS, OCCUPANCY, OCCUPANCY_ALERTS
from footfall.services.occupancy import convert, rollups
from footfall.services.occupancy.alerts import ALERT_RAISED, SERVICE, UPDATED, Notifier
from footfall.services.occupancy.live_cache import LiveCache
from footfall.services.occupancy.domain import (
    SLOT,
    Alert,
    AlertRules,
    AlertType,
    BucketAgg,
    Camera,
    CameraLedger,
    CameraPatch,
    Crossing,
    CrossingOutcome,
    FacilityOccupancy,
    FacilityStats,
    Level,
    Line,
    LinePatch,
    LiveOccupancy,
    NewCamera,
    NewLine,
    OccupancyLog,
    Outcome,
    RaisedAlert,
    RollupRow,
    apply_batch,
    apply_camera_patch,
    apply_line_patch,
    bucket_start,
    calibration_alerts,
    equipment_failure_message,
    reject_reason,
    validate_new_camera,
    validate_new_line,
    zone,
)
from footfall.services.occupancy.store import OccupancyStore

log = logging.getLogger(__name__)

# The processed_events consumer names (one per kind of event applied).
CROSSINGS_CONSUMER = "occupancy-crossings"
SOURCE_STATUS_CONSUMER = "occupancy-source-status"

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def _observe(org: str, cams: Iterable[CameraLedger], outcomes: Iterable[tuple[CrossingOutcome, Crossing]]) -> None:
    """Prometheus: committed occupancy per camera and the crossings that moved it (labels from stored keys)."""
    for cam in cams:
        if cam.changed:
            OCCUPANCY.labels(org, cam.camera_key).set(cam.current)
    for o, c in outcomes:
        if o.applied and c.direction is not None:
            CROSSINGS.labels(org, c.camera_key, c.direction.value).inc()


def encode_page_token(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_page_token(token: str) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "after":
            raise ValueError(raw)
        return int(value)
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidArgument(f"invalid page_token {token!r}") from err


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument(f"page_size must not be negative, not {requested}")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


@dataclass(frozen=True, slots=True)
class Calibration:
    camera_id: int
    occupancy_set_to: int
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class SourceStatus:
    event_id: str
    camera_key: str
    status: str
    detail: str


class OccupancyService:
    def __init__(self, db: Database, settings: Settings, bus: EventBus | None = None, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.bus = bus
        self.store = OccupancyStore()
        self.notifier = Notifier(bus)
        self.live_cache = LiveCache(settings.occupancy_live_cache_s)
        self.tz_name = settings.timezone
        self.tz = zone(settings.timezone)
        self.rules = AlertRules(warning_ratio=settings.capacity_warning_ratio,
                                anomaly_per_minute=settings.anomaly_crossings_per_minute,
                                resolve_margin=settings.capacity_resolve_margin)
        self.clock = clock or (lambda: datetime.now(UTC))
        # Concurrent transactions per large batch (see apply_crossings); at most the pool's size.
        self.partitions = max(1, min(2, settings.database_pool_size // 2))
        self.partition_min = 400
        self._background: set[asyncio.Task[None]] = set()

    # -------------------------------------------------------------------------------------- cameras

    async def create_camera(self, org: str, spec: NewCamera) -> Camera:
        spec = validate_new_camera(spec)
        async with self.db.tenant(org) as conn:
            camera = await self.store.insert_camera(conn, org, spec)
        log.info("org %s: camera %s (%s) created", org, camera.id, camera.camera_id)
        return camera

    async def list_cameras(self, org: str, *, include_inactive: bool = False, size: int = 0,
                           token: str = "", camera_key: str = "") -> tuple[list[Camera], str]:
        limit = page_size(size)
        async with self.db.tenant(org) as conn:
            cameras = await self.store.list_cameras(conn, include_inactive=include_inactive,
                                                    after_id=decode_page_token(token), limit=limit + 1,
                                                    camera_key=camera_key)
        more = len(cameras) > limit
        cameras = cameras[:limit]
        return cameras, encode_page_token(cameras[-1].id) if more else ""

    async def get_camera(self, org: str, camera_id: int) -> Camera:
        async with self.db.tenant(org) as conn:
            return await self._camera(conn, camera_id)

    async def update_camera(self, org: str, camera_id: int, patch: CameraPatch) -> Camera:
        async with self.db.tenant(org) as conn:
            camera = await self._camera(conn, camera_id, lock=True)
            updated = await self.store.update_camera(conn, apply_camera_patch(camera, patch))
        await self._config_changed(org, updated)
        return updated

    async def _config_changed(self, org: str, camera: Camera) -> None:
        """Tell running vision streams (core NATS, after the commit) that the camera's lines or settings
        changed: they re-read them within a second. Best effort: a stream also reads them when it starts."""
        if self.bus is None:
            return
        from footfall.v1 import events_pb2

        from footfall.services.core.timestamps import to_timestamp

        payload = events_pb2.CameraConfigChanged(camera_id=camera.camera_id, camera_db_id=camera.id,
                                                 occurred_at=to_timestamp(self.clock()))
        try:
            await self.bus.notify(self.bus.live_subject(org, SERVICE, "camera_config_changed"), payload)
        except Exception as err:  # noqa: BLE001 - the change is committed; streams re-read lines on start
            log.warning("could not announce the new configuration of camera %s: %s", camera.camera_id, err)

    async def _camera(self, conn, camera_id: int, *, lock: bool = False) -> Camera:  # type: ignore[no-untyped-def]
        camera = await self.store.get_camera(conn, camera_id, lock=lock)
        if camera is None:
            raise NotFound(f"Camera {camera_id} not found")
        return camera

    # ---------------------------------------------------------------------------------------- lines

    async def create_line(self, org: str, spec: NewLine) -> Line:
        async with self.db.tenant(org) as conn:
            camera = await self._camera(conn, spec.camera_id)
            line = await self.store.insert_line(conn, org, validate_new_line(spec, camera))
        await self._config_changed(org, camera)
        return line

    async def list_lines(self, org: str, camera_id: int, *, size: int = 0, token: str = "") -> tuple[list[Line], str]:
        limit = page_size(size)
        async with self.db.tenant(org) as conn:
            await self._camera(conn, camera_id)
            lines = await self.store.list_lines(conn, camera_id, after_id=decode_page_token(token), limit=limit + 1)
        more = len(lines) > limit
        lines = lines[:limit]
        return lines, encode_page_token(lines[-1].id) if more else ""

    async def get_line(self, org: str, line_id: int) -> Line:
        async with self.db.tenant(org) as conn:
            line = await self.store.get_line(conn, line_id)
        if line is None:
            raise NotFound(f"Line {line_id} not found")
        return line

    async def update_line(self, org: str, line_id: int, patch: LinePatch) -> Line:
        async with self.db.tenant(org) as conn:
            line = await self.store.get_line(conn, line_id, lock=True)
            if line is None:
                raise NotFound(f"Line {line_id} not found")
            camera = await self._camera(conn, line.camera_id)
            updated = await self.store.update_line(conn, apply_line_patch(line, patch, camera))
        await self._config_changed(org, camera)
        return updated

    # ------------------------------------------------------------------------------------ crossings

    async def apply_crossings(self, org: str, crossings: Sequence[Crossing]) -> list[CrossingOutcome]:
        """Apply a batch of crossings (see `domain.apply_batch` for the rules); outcomes in input order.

        Each event id is applied at most once (claimed in the same transaction that applies it); crossings
        naming an unknown camera or line are rejected, recorded in occupancy_rejected_events and logged, and
        not claimed, so they apply if they are delivered again after the camera or line has been created.

        A large batch over several cameras is split into `ingest_partitions` groups of whole cameras, applied
        in concurrent transactions (each camera's crossings stay in one group, in order): while one waits on
        PostgreSQL the other's Python work runs, so the database and the interpreter work in parallel.
        """
        if not crossings:
            return []
        keys = {c.camera_key for c in crossings}
        if len(crossings) < self.partition_min or len(keys) < 2 or self.partitions < 2:
            return await self._apply_group(org, crossings)
        groups: list[list[int]] = [[] for _ in range(min(self.partitions, len(keys)))]
        by_key: dict[str, int] = {}
        sizes = Counter(c.camera_key for c in crossings)
        load = [0] * len(groups)
        for key, n in sizes.most_common():  # greedy balance of whole cameras
            g = load.index(min(load))
            by_key[key] = g
            load[g] += n
        for i, c in enumerate(crossings):
            groups[by_key[c.camera_key]].append(i)
        results = await asyncio.gather(*(self._apply_group(org, [crossings[i] for i in idx]) for idx in groups))
        outcomes: list[CrossingOutcome | None] = [None] * len(crossings)
        for idx, group_outcomes in zip(groups, results, strict=True):
            for i, outcome in zip(idx, group_outcomes, strict=True):
                outcomes[i] = outcome
        return outcomes  # type: ignore[return-value]

    async def _apply_group(self, org: str, crossings: Sequence[Crossing]) -> list[CrossingOutcome]:
        """One transaction: lock the cameras' state rows, claim the ids, apply, write, commit; announce."""
        now = self.clock()
        async with self.db.tenant(org) as conn:
            cams = await self.store.lock_ledgers(conn, {c.camera_key for c in crossings})
            rejections = [reject_reason(cams, c) for c in crossings]
            candidates = [c.event_id for c, r in zip(crossings, rejections, strict=True) if r is None]
            fresh = await claim_events(conn, CROSSINGS_CONSUMER, org, candidates) if candidates else set()
            result = apply_batch(cams, crossings, fresh, now=now, tz=self.tz, rules=self.rules,
                                 rejections=rejections)
            for cam in cams.values():
                first = result.min_occurred.get(cam.camera_id)
                if first is not None and cam.rollup_horizon is not None and first < cam.rollup_horizon:
                    cam.rollup_dirty_from = min(first, cam.rollup_dirty_from or first)
            if result.rows:
                await self.store.insert_events(conn, org, result.rows)
                await self.store.upsert_buckets(conn, org, result.buckets)
            if result.day_tracks:
                self._count_unique(cams, await self.store.insert_day_tracks(conn, org, result.day_tracks))
            await self.store.save_ledgers(conn, list(cams.values()))
            alerts = await self.store.insert_alerts(conn, org, result.alerts) if result.alerts else []
            await self.notifier.stage(conn, org, alerts)
            if result.recovered:
                await self.store.resolve_open_alerts(conn, sorted(result.recovered), AlertType.EQUIPMENT_FAILURE)
            if result.resolved:
                await self.store.resolve_alerts(conn, result.resolved)
            rejected = [(o, c) for o, c in zip(result.outcomes, crossings, strict=True) if o.outcome is Outcome.REJECTED]
            if rejected:
                await self.store.record_rejections(
                    conn, org, [(c.event_id or "", c.camera_key, c.line_id, c.line_name, o.reason) for o, c in rejected])
        for o, c in rejected:
            log.warning("org %s: crossing %s rejected: %s", org, c.event_id, o.reason)
        counts = Counter(o.outcome.value for o in result.outcomes)
        for outcome, n in counts.items():
            CROSSING_OUTCOMES.labels(outcome).inc(n)
        _observe(org, cams.values(), zip(result.outcomes, crossings, strict=True))
        today = now.astimezone(self.tz).date()
        changed = [c.live(today) for c in cams.values() if c.changed]
        self.live_cache.put(org, changed, today)
        await self.notifier.occupancy(org, changed)
        await self._announce(org, alerts)
        return result.outcomes

    @staticmethod
    def _count_unique(cams: dict[str, CameraLedger], new_tracks: list[tuple[int, object, int]]) -> None:
        by_id = {c.camera_id: c for c in cams.values()}
        for camera_id, day, n in sorted(new_tracks):  # type: ignore[type-var]
            cam = by_id[camera_id]
            if cam.unique_day is None or day > cam.unique_day:  # type: ignore[operator]
                cam.unique_day, cam.unique_persons = day, n  # type: ignore[assignment]
            elif day == cam.unique_day:
                cam.unique_persons += n

    async def record_crossing(self, org: str, crossing: Crossing) -> tuple[CrossingOutcome, LiveOccupancy | None]:
        """One crossing, exactly as if it had arrived on NATS; unknown camera/line -> NotFound."""
        if not crossing.event_id:
            raise InvalidArgument("event_id is required (it makes the call idempotent)")
        if crossing.direction is None:
            raise InvalidArgument("direction is required: CROSSING_DIRECTION_IN or CROSSING_DIRECTION_OUT")
        outcome = (await self.apply_crossings(org, [crossing]))[0]
        if outcome.outcome is Outcome.REJECTED:
            if outcome.not_found:
                raise NotFound(outcome.reason[0].upper() + outcome.reason[1:])
            raise InvalidArgument(outcome.reason)
        live = await self.live(org, outcome.camera_id) if outcome.camera_id is not None else None
        return outcome, live

    async def rejected_events(self, org: str, limit: int = 100) -> list[dict]:  # type: ignore[type-arg]
        async with self.db.tenant(org) as conn:
            return await self.store.list_rejections(conn, limit)

    # -------------------------------------------------------------------------------------- live

    async def live(self, org: str, camera_id: int) -> LiveOccupancy:
        today = self.clock().astimezone(self.tz).date()
        cached = self.live_cache.get(org, camera_id, today)
        if cached is not None:
            return cached
        async with self.db.tenant(org) as conn:
            row = await self.store.live_row(conn, camera_id)
        if row is None:
            raise NotFound(f"Camera {camera_id} not found")
        live = LiveOccupancy(
            camera_id=row["camera_id"], current_occupancy=row["current_occupancy"],
            total_entries=row["total_entries"], total_exits=row["total_exits"],
            unique_persons=row["unique_persons"] if row["unique_day"] == today else 0,
            last_updated=row["last_updated"],
        )
        self.live_cache.put(org, [live], today)
        return live

    async def facility_live(self, org: str) -> FacilityOccupancy:
        async with self.db.tenant(org) as conn:
            row = await self.store.facility(conn)
        return FacilityOccupancy(
            facility_occupancy=int(row["occupancy"]), total_entries_all_cameras=int(row["entries"]),
            total_exits_all_cameras=int(row["exits"]), cameras_active=int(row["cameras_active"]),
            last_updated=row["last_updated"] or self.clock(),
        )

    async def facility_stats(self, org: str) -> FacilityStats:
        """Capacity utilization is the occupancy of active cameras that have a capacity, in percent of the
        sum of those capacities (0 when no active camera has one), rounded to 0.1."""
        async with self.db.tenant(org) as conn:
            row = await self.store.facility(conn)
        capacity = int(row["capacity"])
        utilization = round(100.0 * int(row["occupancy_with_capacity"]) / capacity, 1) if capacity else 0.0
        return FacilityStats(
            total_cameras=int(row["cameras_total"]), active_cameras=int(row["cameras_active"]),
            total_persons_in_facility=int(row["occupancy"]), capacity_utilization=utilization,
            active_alerts=int(row["open_alerts"]), timestamp=self.clock(),
        )

    async def watch(self, org: str, camera_id: int) -> AsyncIterator[LiveOccupancy | Alert]:
        """The camera's live occupancy now, then every change and every new alert (across processes: the
        updates arrive as core-NATS notifications)."""
        if self.bus is None or not self.bus.connected:
            raise Unavailable("live updates need NATS, which is not connected")
        queue: asyncio.Queue = asyncio.Queue(maxsize=10_000)

        async def on_message(msg) -> None:  # type: ignore[no-untyped-def]
            if queue.full():
                queue.get_nowait()  # a slow watcher loses the oldest update, never the newest
            queue.put_nowait(msg)

        sub = await self.bus.nc.subscribe(self.bus.live_subject(org, SERVICE, "*"), cb=on_message)
        try:
            current = await self.live(org, camera_id)
            yield current
            last = current.last_updated
            while True:
                msg = await queue.get()
                event = msg.subject.rsplit(".", 1)[-1]
                if event == UPDATED:
                    pb = occupancy_pb2.LiveOccupancy()
                    pb.ParseFromString(msg.data)
                    if pb.camera_id != camera_id:
                        continue
                    update = convert.live_from_pb(pb)
                    if last is not None and update.last_updated is not None and update.last_updated < last:
                        continue
                    last = update.last_updated or last
                    yield update
                elif event == ALERT_RAISED:
                    alert_pb = occupancy_pb2.Alert()
                    alert_pb.ParseFromString(msg.data)
                    if alert_pb.camera_id == camera_id:
                        yield convert.alert_from_pb(alert_pb)
        finally:
            try:
                await sub.unsubscribe()
            except Exception:  # connection closing
                pass

    # ------------------------------------------------------------------------------- calibration

    async def calibrate(self, org: str, camera_id: int, value: int, notes: str = "") -> Calibration:
        """Set the camera's occupancy (after a headcount); logged as a calibration row with the notes."""
        if value < 0:
            raise InvalidArgument(f"occupancy_value must not be negative, not {value}")
        now = self.clock()
        async with self.db.tenant(org) as conn:
            cam = await self.store.lock_ledger(conn, camera_id)
            if cam is None:
                raise NotFound(f"Camera {camera_id} not found")
            before = cam.current
            cam.current = value
            cam.last_seq += 1
            cam.last_updated = now
            cam.changed = True
            await self.store.insert_calibration(conn, org, camera_id, cam.last_seq, now, before, value, notes)
            await self.store.upsert_buckets(conn, org, {(camera_id, bucket_start(now)): BucketAgg(
                events=1, close=value, close_seq=cam.last_seq, peak=value)})
            await self.store.save_ledgers(conn, [cam])
            raised = calibration_alerts(cam, value, self.rules)
            alerts = await self.store.insert_alerts(conn, org, raised.alerts) if raised.alerts else []
            await self.store.resolve_alerts(conn, raised.resolved)
            await self.notifier.stage(conn, org, alerts)
        log.info("org %s: camera %s calibrated from %s to %s (%s)", org, camera_id, before, value, notes)
        _observe(org, [cam], ())
        today = now.astimezone(self.tz).date()
        self.live_cache.put(org, [cam.live(today)], today)
        await self.notifier.occupancy(org, [cam.live(today)])
        await self._announce(org, alerts)
        return Calibration(camera_id, value, now)

    # ----------------------------------------------------------------------------- logs, rollups

    async def logs(self, org: str, camera_id: int, hours: int = 24) -> list[OccupancyLog]:
        """Periods of `settings.occupancy_log_period_s` (5 minutes by default; UTC-aligned) with crossings in
        the last `hours` hours (24 when 0), and the calibrations, by time."""
        if hours < 0 or hours > 24 * 366:
            raise InvalidArgument(f"hours must be between 1 and {24 * 366}, not {hours}")
        period = self.settings.occupancy_log_period_s
        if period <= 0:
            raise InvalidArgument("occupancy_log_period_s must be positive")
        since = bucket_start(self.clock() - timedelta(hours=hours or 24), timedelta(seconds=period))
        async with self.db.tenant(org) as conn:
            await self._camera(conn, camera_id)
            if period == SLOT.total_seconds():
                periods = await self.store.log_periods(conn, org, camera_id, since)
            else:
                periods = await self.store.log_periods_raw(conn, org, camera_id, since, period)
            calibrations = await self.store.log_calibrations(conn, org, camera_id, since)
        return sorted(periods + calibrations, key=lambda e: (e.timestamp, e.is_manual_calibration, e.id))

    async def rollup(self, org: str, camera_id: int, level: Level, count: int = 0,
                     time_zone: str = "") -> list[RollupRow]:
        """Hourly (ascending), daily or monthly (newest first) rows; see `domain` for the definitions."""
        defaults = {Level.HOURLY: 7, Level.DAILY: 30, Level.MONTHLY: 12}
        limits = {Level.HOURLY: 366, Level.DAILY: 3660, Level.MONTHLY: 120}
        if count < 0 or count > limits[level]:
            raise InvalidArgument(f"the number of {'months' if level is Level.MONTHLY else 'days'} must be "
                                  f"between 1 and {limits[level]}, not {count}")
        tz_name = time_zone or self.tz_name
        tz = zone(tz_name)
        async with self.db.tenant(org) as conn:
            await self._camera(conn, camera_id)
            rows = await rollups.query(self.store, conn, org, camera_id, level, count or defaults[level], tz_name,
                                       tz, self.clock())
        return rows if level is Level.HOURLY else rows[::-1]

    async def refresh_rollups(self, org: str, camera_id: int | None = None,
                              levels: Sequence[Level] = rollups.LEVELS) -> int:
        """Materialize closed rollup periods for one camera or all of the organisation's; rows written."""
        async with self.db.tenant(org) as conn:
            ids = [camera_id] if camera_id else await self.store.camera_ids(conn)
        written = 0
        for cid in ids:
            async with self.db.tenant(org) as conn:
                written += await rollups.refresh_camera(self.store, conn, org, cid, levels, self.tz_name, self.clock())
        return written

    async def trigger_aggregation(self, org: str, camera_id: int | None, level: Level | None) -> datetime:
        """Start a rollup refresh in the background; returns at once."""
        if camera_id:
            await self.get_camera(org, camera_id)
        levels = [level] if level else list(rollups.LEVELS)
        task = asyncio.create_task(self._aggregate(org, camera_id, levels), name=f"aggregate:{org}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return self.clock()

    async def _aggregate(self, org: str, camera_id: int | None, levels: Sequence[Level]) -> None:
        try:
            n = await self.refresh_rollups(org, camera_id, levels)
            log.info("org %s: aggregation %s wrote %d rollup rows", org, [lv.value for lv in levels], n)
        except Exception:
            log.exception("org %s: aggregation failed", org)

    async def refresh_all_rollups(self) -> int:
        async with self.db.system() as conn:
            pairs = await self.store.system_cameras_with_data(conn)
        written = 0
        for org, cid in pairs:
            try:
                written += await self.refresh_rollups(org, cid)
            except Exception:
                log.exception("org %s: rollup refresh of camera %s failed", org, cid)
        return written

    # ------------------------------------------------------------------------------------- alerts

    async def list_alerts(self, org: str, camera_id: int | None = None, include_resolved: bool = False) -> list[Alert]:
        async with self.db.tenant(org) as conn:
            if camera_id:
                await self._camera(conn, camera_id)
            return await self.store.list_alerts(conn, camera_id or None, include_resolved)

    async def resolve_alert(self, org: str, alert_id: int) -> Alert:
        async with self.db.tenant(org) as conn:
            alert = await self.store.resolve_alert(conn, alert_id)
        if alert is None:
            raise NotFound(f"Alert {alert_id} not found")
        return alert

    async def check_equipment(self) -> list[Alert]:
        """Raise equipment_failure for every active camera with an active line that has reported nothing for
        `settings.equipment_timeout_s` (0 disables the check), across organisations."""
        timeout = self.settings.equipment_timeout_s
        if timeout <= 0:
            return []
        now = self.clock()
        async with self.db.system() as conn:
            silent = await self.store.system_silent_cameras(conn, now - timedelta(seconds=timeout))
        by_org: dict[str, list[dict]] = {}  # type: ignore[type-arg]
        for row in silent:
            by_org.setdefault(row["org_id"], []).append(row)
        raised: list[Alert] = []
        for org, rows in by_org.items():
            async with self.db.tenant(org) as conn:
                ledgers = await self.store.lock_ledgers_by_id(conn, [r["id"] for r in rows])
                pending = []
                for cam in ledgers:
                    seen = cam.last_event_at
                    if seen is not None and seen >= now - timedelta(seconds=timeout):
                        continue  # reported while we looked
                    silent_for = (now - seen).total_seconds() if seen else None
                    pending.append(RaisedAlert(cam.camera_id, AlertType.EQUIPMENT_FAILURE, cam.current,
                                               equipment_failure_message(cam.camera_key, silent_for)))
                alerts = await self.store.insert_alerts(conn, org, pending)
                await self.notifier.stage(conn, org, alerts)
            await self._announce(org, alerts)
            raised += alerts
        return raised

    async def apply_source_status(self, org: str, statuses: Sequence[SourceStatus]) -> list[Alert]:
        """`vision.source_status` events: `failed`/`reconnecting` raise equipment_failure, `connected`
        resolves it. Each event id applies once; unknown cameras are ignored (logged)."""
        if not statuses:
            return []
        raised: list[Alert] = []
        async with self.db.tenant(org) as conn:
            fresh = await claim_events(conn, SOURCE_STATUS_CONSUMER, org, [s.event_id for s in statuses])
            ledgers = await self.store.lock_ledgers(conn, {s.camera_key for s in statuses})
            pending: list[RaisedAlert] = []
            recovered: list[int] = []
            for s in statuses:
                if s.event_id not in fresh:
                    continue
                fresh.discard(s.event_id)
                cam = ledgers.get(s.camera_key)
                if cam is None:
                    log.warning("org %s: source status for unknown camera %r ignored", org, s.camera_key)
                    continue
                if s.status in ("failed", "reconnecting"):
                    if AlertType.EQUIPMENT_FAILURE.value not in cam.open_alerts:
                        cam.open_alerts.add(AlertType.EQUIPMENT_FAILURE.value)
                        detail = f"{s.status}" + (f" ({s.detail})" if s.detail else "")
                        pending.append(RaisedAlert(cam.camera_id, AlertType.EQUIPMENT_FAILURE, cam.current,
                                                   equipment_failure_message(cam.camera_key, None, detail)))
                elif s.status == "connected":
                    cam.last_event_at = self.clock()
                    cam.open_alerts.discard(AlertType.EQUIPMENT_FAILURE.value)
                    recovered.append(cam.camera_id)
                    pending = [p for p in pending if p.camera_id != cam.camera_id]
            raised = await self.store.insert_alerts(conn, org, pending)
            await self.notifier.stage(conn, org, raised)
            if recovered:
                await self.store.resolve_open_alerts(conn, recovered, AlertType.EQUIPMENT_FAILURE)
                await self.store.save_ledgers(conn, [c for c in ledgers.values() if c.camera_id in recovered])
        await self._announce(org, raised)
        return raised

    async def _announce(self, org: str, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            OCCUPANCY_ALERTS.labels(a.alert_type.value).inc()
        await self.notifier.alerts(org, alerts)

    # ------------------------------------------------------------------------------------ upkeep

    async def prune(self) -> None:
        """Forget day-track sets older than yesterday and claimed event ids older than the stream keeps them."""
        now = self.clock()
        keep_s = max(self.settings.nats_max_age_s, self.settings.nats_duplicate_window_s) + 86400
        async with self.db.system() as conn:
            await self.store.system_prune(
                conn, day_tracks_before=(now.astimezone(self.tz) - timedelta(days=2)).date(),
                processed_before=now - timedelta(seconds=keep_s),
                consumers=[CROSSINGS_CONSUMER, SOURCE_STATUS_CONSUMER],
            )

    async def wait_background(self, timeout: float = 30.0) -> None:
        pending = [t for t in self._background if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        await self.notifier.drain(timeout)
