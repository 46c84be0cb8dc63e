"""Hourly, daily and monthly rollups: computed from the 5-minute buckets and the event log, and
materialized per (camera, level, time zone) for closed periods.

Reading a rollup returns the materialized rows that are still valid plus the rows computed live from the
first period that is not materialized (or was invalidated by a late event), so the answer is always the
one a fresh computation gives (`compute`) — materialization only makes it cheaper. The same code runs on
plain PostgreSQL and on TimescaleDB: on both, occupancy_5m is the table the service keeps in the events'
transaction, so a late event is in the buckets that a refresh reads as soon as it commits.

Invalidation: each camera's state row holds `rollup_horizon` (how far anything is materialized) and
`rollup_dirty_from` (the earliest event time applied behind the horizon since the last refresh). A refresh
locks the state row, so no batch for that camera commits while it computes, drops what the dirty mark
invalidates, materializes every closed period since each watermark and clears the mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from footfall.services.occupancy.domain import (
    Level,
    RollupRow,
    build_rollups,
    floor_period,
    lookback_start,
    next_period,
    period_edges,
)
from footfall.services.occupancy.store import Conn, OccupancyStore

LEVELS = (Level.HOURLY, Level.DAILY, Level.MONTHLY)
# At most this much history is materialized per level and refresh, so the camera's state row (and with it
# that camera's ingestion) is never held for long; the scheduler catches up over successive refreshes.
MAX_SPAN = {Level.HOURLY: timedelta(days=7), Level.DAILY: timedelta(days=31), Level.MONTHLY: timedelta(days=31)}


async def compute(store: OccupancyStore, conn: Conn, org: str, camera_id: int, level: Level, tz: ZoneInfo,
                  start: datetime, end: datetime, now: datetime) -> list[RollupRow]:
    """Rollup rows of the periods in [start, end) (start and end on period boundaries), from base data."""
    if start >= end:
        return []
    edges = period_edges(level, start, end, tz)
    first = await store.first_bucket(conn, org, camera_id)
    if first is None or first >= edges[-1]:
        return []
    buckets = await store.buckets(conn, org, camera_id, edges[0], edges[-1])
    if not buckets:
        return []
    initial = await store.level_before(conn, org, camera_id, edges[0])
    unique = await store.distinct_tracks(conn, org, camera_id, edges)
    day_edges = period_edges(Level.DAILY, edges[0], edges[-1], tz) if level is Level.MONTHLY else None
    return build_rollups(level, camera_id, edges, buckets, initial_level=initial, first_data=first, now=now,
                         tz=tz, unique=unique, day_edges=day_edges)


async def query(store: OccupancyStore, conn: Conn, org: str, camera_id: int, level: Level, count: int,
                tz_name: str, tz: ZoneInfo, now: datetime) -> list[RollupRow]:
    """The rows of the last `count` days (hourly, daily) or months (monthly), ascending."""
    start = lookback_start(level, count, now, tz)
    end = next_period(level, floor_period(level, now, tz), tz)
    materialized_to = await store.ensure_watermark(conn, org, camera_id, level, tz_name)
    valid_to = materialized_to
    dirty = await store.rollup_dirty_from(conn, camera_id)
    if valid_to is not None and dirty is not None and dirty < valid_to:
        valid_to = floor_period(level, dirty, tz)
    rows: list[RollupRow] = []
    live_from = start
    if valid_to is not None and valid_to > start:
        rows = await store.read_rollups(conn, camera_id, level, tz_name, start, valid_to)
        live_from = valid_to
    rows += await compute(store, conn, org, camera_id, level, tz, live_from, end, now)
    return rows


async def refresh_camera(store: OccupancyStore, conn: Conn, org: str, camera_id: int, levels: Sequence[Level],
                         default_tz: str, now: datetime) -> int:
    """Materialize the closed periods of `levels` for every time zone asked of this camera; rows written."""
    ledger = await store.lock_ledger(conn, camera_id)  # holds back batches for this camera while we compute
    if ledger is None:
        return 0
    for level in LEVELS:
        await store.ensure_watermark(conn, org, camera_id, level, default_tz)
    marks = await store.watermarks(conn, camera_id, lock=True)
    dirty = ledger.rollup_dirty_from
    written = 0
    horizon: datetime | None = None
    for mark in marks:
        level, tz_name, to = Level(mark["level"]), mark["time_zone"], mark["materialized_to"]
        tz = ZoneInfo(tz_name)
        if dirty is not None and to is not None and dirty < to:
            to = floor_period(level, dirty, tz)
            await store.delete_rollups_after(conn, camera_id, level, tz_name, to)
            await store.set_watermark(conn, camera_id, level, tz_name, to)
        if level in levels:
            closed_end = floor_period(level, now, tz)
            start = to
            if start is None:
                first = await store.first_bucket(conn, org, camera_id)
                start = floor_period(level, first, tz) if first is not None else None
            if start is not None and start < closed_end:
                capped = floor_period(level, start + MAX_SPAN[level], tz)
                if start < capped < closed_end:
                    closed_end = capped
                rows = await compute(store, conn, org, camera_id, level, tz, start, closed_end, now)
                await store.delete_rollups_after(conn, camera_id, level, tz_name, start)
                await store.upsert_rollups(conn, org, tz_name, rows)
                written += len(rows)
                to = closed_end
                await store.set_watermark(conn, camera_id, level, tz_name, to)
        if to is not None and (horizon is None or to > horizon):
            horizon = to
    await store.set_rollup_state(conn, camera_id, horizon)
    return written
