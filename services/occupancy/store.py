"""All of the occupancy service's SQL (psycopg 3). Every method runs on a connection the caller got from
`Database.tenant(org)` (row-level security scopes it to one organisation) unless its name says `system`.

`occupancy_5m` is the same service-kept table on both storage paths (merged in the events' transaction by
`upsert_buckets`, see migrations/0014_occupancy_rollups.timescale.sql). Reads of `occupancy_events` always
name `org_id` explicitly: on TimescaleDB it is a hypertable without row-level security (see
migrations/0002_occupancy.timescale.sql).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from footfall.services.core.errors import AlreadyExists
from footfall.services.occupancy.domain import (
    Alert,
    AlertType,
    Bucket,
    BucketAgg,
    Camera,
    CameraLedger,
    Level,
    Line,
    LineDirection,
    LineRule,
    NewCamera,
    NewLine,
    OccupancyLog,
    RaisedAlert,
    RollupRow,
)

Conn = psycopg.AsyncConnection[Any]

_SEP = "\x1f"  # ASCII unit separator: joins a text column into one parameter
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _ints(values: Sequence[int | None]) -> str:
    if None in values:
        return ",".join(["N" if v is None else str(v) for v in values])
    return ",".join(map(str, values))


def _texts(values: Sequence[str]) -> str | None:
    joined = _SEP.join(values)
    return joined if joined.count(_SEP) == len(values) - 1 else None

_CAMERA_COLS = ("id, camera_key, camera_name, location, camera_type, is_active, max_occupancy, "
                "resolution_width, resolution_height, created_at, updated_at")
_LINE_COLS = "id, camera_id, line_name, x1, y1, x2, y2, direction, confidence_threshold, is_active, created_at"
_ALERT_COLS = "id, camera_id, alert_type, current_occupancy, message, created_at, resolved_at"


def _camera(row: dict[str, Any]) -> Camera:
    return Camera(
        id=row["id"], camera_id=row["camera_key"], camera_name=row["camera_name"], location=row["location"],
        camera_type=row["camera_type"], is_active=row["is_active"], max_occupancy=row["max_occupancy"],
        resolution_width=row["resolution_width"], resolution_height=row["resolution_height"],
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


def _line(row: dict[str, Any]) -> Line:
    return Line(
        id=row["id"], camera_id=row["camera_id"], line_name=row["line_name"], x1=row["x1"], y1=row["y1"],
        x2=row["x2"], y2=row["y2"], direction=LineDirection(row["direction"]),
        confidence_threshold=row["confidence_threshold"], is_active=row["is_active"], created_at=row["created_at"],
    )


def _alert(row: dict[str, Any]) -> Alert:
    return Alert(
        id=row["id"], camera_id=row["camera_id"], alert_type=AlertType(row["alert_type"]),
        current_occupancy=row["current_occupancy"], message=row["message"],
        is_resolved=row["resolved_at"] is not None, timestamp=row["created_at"], resolved_at=row["resolved_at"],
    )


class OccupancyStore:
    """The occupancy SQL, the same on plain PostgreSQL and on TimescaleDB."""

    # ----------------------------------------------------------------------------------------- cameras

    async def insert_camera(self, conn: Conn, org: str, spec: NewCamera) -> Camera:
        try:
            async with conn.transaction():  # a savepoint, so a duplicate leaves the caller's transaction usable
                cur = await conn.execute(
                    f"""INSERT INTO occupancy_cameras (org_id, camera_key, camera_name, location, camera_type,
                               max_occupancy, resolution_width, resolution_height)
                        VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_CAMERA_COLS}""",
                    (org, spec.camera_id, spec.camera_name, spec.location, spec.camera_type, spec.max_occupancy,
                     spec.resolution_width, spec.resolution_height),
                )
        except psycopg.errors.UniqueViolation as err:
            raise AlreadyExists(f"Camera with ID '{spec.camera_id}' already exists") from err
        camera = _camera(await cur.fetchone())  # type: ignore[arg-type]
        await conn.execute("INSERT INTO occupancy_state (camera_id, org_id) VALUES (%s, %s)", (camera.id, org))
        return camera

    async def get_camera(self, conn: Conn, camera_id: int, *, lock: bool = False) -> Camera | None:
        cur = await conn.execute(
            f"SELECT {_CAMERA_COLS} FROM occupancy_cameras WHERE id = %s{' FOR UPDATE' if lock else ''}",
            (camera_id,),
        )
        row = await cur.fetchone()
        return _camera(row) if row else None

    async def list_cameras(self, conn: Conn, *, include_inactive: bool, after_id: int, limit: int,
                           camera_key: str = "") -> list[Camera]:
        cur = await conn.execute(  # camera_key: one camera by its external key (the unique key's index)
            f"""SELECT {_CAMERA_COLS} FROM occupancy_cameras
                WHERE id > %s AND (%s OR is_active) AND (%s = '' OR camera_key = %s) ORDER BY id LIMIT %s""",
            (after_id, include_inactive, camera_key, camera_key, limit),
        )
        return [_camera(r) for r in await cur.fetchall()]

    async def update_camera(self, conn: Conn, camera: Camera) -> Camera:
        cur = await conn.execute(
            f"""UPDATE occupancy_cameras SET camera_name = %s, location = %s, camera_type = %s, is_active = %s,
                       max_occupancy = %s, resolution_width = %s, resolution_height = %s, updated_at = now()
                WHERE id = %s RETURNING {_CAMERA_COLS}""",
            (camera.camera_name, camera.location, camera.camera_type, camera.is_active, camera.max_occupancy,
             camera.resolution_width, camera.resolution_height, camera.id),
        )
        return _camera(await cur.fetchone())  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------------------- lines

    async def insert_line(self, conn: Conn, org: str, spec: NewLine) -> Line:
        assert spec.direction is not None
        try:
            async with conn.transaction():
                cur = await conn.execute(
                    f"""INSERT INTO occupancy_lines (org_id, camera_id, line_name, x1, y1, x2, y2, direction,
                               confidence_threshold)
                        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_LINE_COLS}""",
                    (org, spec.camera_id, spec.line_name, spec.x1, spec.y1, spec.x2, spec.y2,
                     spec.direction.value, spec.confidence_threshold),
                )
        except psycopg.errors.UniqueViolation as err:
            raise AlreadyExists(
                f"Line '{spec.line_name}' already exists on camera {spec.camera_id}") from err
        return _line(await cur.fetchone())  # type: ignore[arg-type]

    async def get_line(self, conn: Conn, line_id: int, *, lock: bool = False) -> Line | None:
        cur = await conn.execute(
            f"SELECT {_LINE_COLS} FROM occupancy_lines WHERE id = %s{' FOR UPDATE' if lock else ''}", (line_id,)
        )
        row = await cur.fetchone()
        return _line(row) if row else None

    async def list_lines(self, conn: Conn, camera_id: int, *, after_id: int, limit: int) -> list[Line]:
        cur = await conn.execute(
            f"SELECT {_LINE_COLS} FROM occupancy_lines WHERE camera_id = %s AND id > %s ORDER BY id LIMIT %s",
            (camera_id, after_id, limit),
        )
        return [_line(r) for r in await cur.fetchall()]

    async def update_line(self, conn: Conn, line: Line) -> Line:
        try:
            async with conn.transaction():
                cur = await conn.execute(
                    f"""UPDATE occupancy_lines SET line_name = %s, x1 = %s, y1 = %s, x2 = %s, y2 = %s,
                               direction = %s, confidence_threshold = %s, is_active = %s, updated_at = now()
                        WHERE id = %s RETURNING {_LINE_COLS}""",
                    (line.line_name, line.x1, line.y1, line.x2, line.y2, line.direction.value,
                     line.confidence_threshold, line.is_active, line.id),
                )
        except psycopg.errors.UniqueViolation as err:
            raise AlreadyExists(f"Line '{line.line_name}' already exists on camera {line.camera_id}") from err
        return _line(await cur.fetchone())  # type: ignore[arg-type]

    # --------------------------------------------------------------------------------- live state

    _LEDGER_SQL = """
        SELECT c.id, c.camera_key, c.is_active, c.max_occupancy,
               s.current_occupancy, s.total_entries, s.total_exits, s.last_seq, s.unique_day, s.unique_persons,
               s.anomaly_minute, s.anomaly_count, s.last_updated, s.last_event_at, s.rollup_horizon,
               s.rollup_dirty_from,
               (SELECT coalesce(json_agg(json_build_array(l.id, l.line_name, l.direction,
                                                          l.confidence_threshold, l.is_active)), '[]'::json)
                  FROM occupancy_lines l WHERE l.camera_id = c.id) AS lines,
               (SELECT coalesce(array_agg(a.alert_type), '{}')
                  FROM occupancy_alerts a WHERE a.camera_id = c.id AND a.resolved_at IS NULL) AS open_alerts
        FROM occupancy_cameras c JOIN occupancy_state s ON s.camera_id = c.id
        WHERE {where}
        ORDER BY c.id
        FOR UPDATE OF s"""

    async def lock_ledgers(self, conn: Conn, camera_keys: Iterable[str]) -> dict[str, CameraLedger]:
        """Lock the state rows of the named cameras (in id order, so concurrent batches cannot deadlock)."""
        cur = await conn.execute(self._LEDGER_SQL.replace("{where}", "c.camera_key = ANY(%s)"), (list(camera_keys),))
        return {row["camera_key"]: _ledger(row) for row in await cur.fetchall()}

    async def lock_ledger(self, conn: Conn, camera_id: int) -> CameraLedger | None:
        cur = await conn.execute(self._LEDGER_SQL.replace("{where}", "c.id = %s"), (camera_id,))
        row = await cur.fetchone()
        return _ledger(row) if row else None

    async def lock_ledgers_by_id(self, conn: Conn, camera_ids: Sequence[int]) -> list[CameraLedger]:
        cur = await conn.execute(self._LEDGER_SQL.replace("{where}", "c.id = ANY(%s)"), (list(camera_ids),))
        return [_ledger(row) for row in await cur.fetchall()]

    async def save_ledgers(self, conn: Conn, ledgers: Sequence[CameraLedger]) -> None:
        if not ledgers:
            return
        cols = list(zip(*[
            (c.camera_id, c.current, c.total_entries, c.total_exits, c.last_seq, c.unique_day, c.unique_persons,
             c.anomaly_minute, c.anomaly_count, c.last_updated, c.last_event_at, c.rollup_dirty_from)
            for c in ledgers
        ], strict=True))
        await conn.execute(
            """UPDATE occupancy_state s SET
                   current_occupancy = u.cur, total_entries = u.ent, total_exits = u.ext, last_seq = u.seq,
                   unique_day = u.uday, unique_persons = u.upers, anomaly_minute = u.amin,
                   anomaly_count = u.acount, last_updated = u.lupd, last_event_at = u.levt,
                   rollup_dirty_from = u.dirty
               FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::date[],
                           %b::bigint[], %b::timestamptz[], %b::int[], %b::timestamptz[], %b::timestamptz[],
                           %b::timestamptz[])
                    AS u(camera_id, cur, ent, ext, seq, uday, upers, amin, acount, lupd, levt, dirty)
               WHERE s.camera_id = u.camera_id""",
            [list(c) for c in cols],
            binary=True,
        )

    async def insert_events(self, conn: Conn, org: str, rows: Sequence[tuple], notes: str | None = None) -> None:
        """Insert occupancy_events rows (camera_id, seq, kind, line_id, event_id, track_id, confidence,
        occurred_at, before, after) with one statement.

        COPY would be the fastest, but PostgreSQL refuses COPY FROM into a table with row-level security. Each
        column travels as one delimited string that the server splits (string_to_array) and unnest()s:
        building those strings is C-speed str.join, where adapting Python lists to arrays costs ~1 us per
        element. Text that contains the delimiter falls back to array parameters.
        """
        if not rows:
            return
        cam, seq, kind, line, eid, tid, conf, when, before, after = zip(*rows, strict=True)
        eids, tids = _texts(eid), _texts(tid)
        if eids is None or tids is None:
            await conn.execute(
                """INSERT INTO occupancy_events (org_id, camera_id, seq, kind, line_id, event_id, track_id,
                          confidence, occurred_at, occupancy_before, occupancy_after, notes)
                   SELECT %s, u.*, %s FROM unnest(%b::bigint[], %b::bigint[], %b::smallint[], %b::bigint[],
                          %b::text[], %b::text[], %b::real[], %b::timestamptz[], %b::bigint[], %b::bigint[]) AS u""",
                (org, notes, *(list(c) for c in (cam, seq, kind, line, eid, tid, conf, when, before, after))),
            )
            return
        await conn.execute(
            """INSERT INTO occupancy_events (org_id, camera_id, seq, kind, line_id, event_id, track_id, confidence,
                      occurred_at, occupancy_before, occupancy_after, notes)
               SELECT %(org)s, u.cam, u.seq, u.kind, u.line, u.eid, coalesce(u.tid, ''), u.conf,
                      TIMESTAMPTZ 'epoch' + u.us * INTERVAL '1 microsecond', u.before, u.after, %(notes)s
               FROM unnest(string_to_array(%(cam)s, ',')::bigint[], string_to_array(%(seq)s, ',')::bigint[],
                           string_to_array(%(kind)s, ',')::smallint[], string_to_array(%(line)s, ',', 'N')::bigint[],
                           string_to_array(%(eid)s, %(sep)s), string_to_array(%(tid)s, %(sep)s),
                           string_to_array(%(conf)s, ',')::real[], string_to_array(%(us)s, ',')::bigint[],
                           string_to_array(%(before)s, ',')::bigint[], string_to_array(%(after)s, ',')::bigint[])
                    AS u(cam, seq, kind, line, eid, tid, conf, us, before, after)""",
            {"org": org, "notes": notes, "sep": _SEP, "cam": _ints(cam), "seq": _ints(seq), "kind": _ints(kind),
             "line": _ints(line), "eid": eids, "tid": tids, "conf": ",".join(map(str, conf)),
             "us": _ints([(w - _EPOCH) // _US for w in when]), "before": _ints(before), "after": _ints(after)},
        )

    async def upsert_buckets(self, conn: Conn, org: str, buckets: dict[tuple[int, datetime], BucketAgg]) -> None:
        """Merge a batch's 5-minute contributions into occupancy_5m, so it is exact at commit (both paths)."""
        if not buckets:
            return
        cams, starts, ent, ext, evs, close, close_seq, peak, log_id = [], [], [], [], [], [], [], [], []
        for (cam, start), agg in buckets.items():
            cams.append(cam)
            starts.append(start)
            ent.append(agg.entries)
            ext.append(agg.exits)
            evs.append(agg.events)
            close.append(agg.close)
            close_seq.append(agg.close_seq)
            peak.append(agg.peak)
            log_id.append(agg.log_id)
        await conn.execute(
            """INSERT INTO occupancy_5m AS p (org_id, camera_id, bucket, entry_count, exit_count, event_count,
                      close_occupancy, close_seq, peak_occupancy, log_id)
               SELECT %s, * FROM unnest(%b::bigint[], %b::timestamptz[], %b::bigint[], %b::bigint[],
                                        %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[])
               ON CONFLICT (camera_id, bucket) DO UPDATE SET
                   entry_count = p.entry_count + EXCLUDED.entry_count,
                   exit_count = p.exit_count + EXCLUDED.exit_count,
                   event_count = p.event_count + EXCLUDED.event_count,
                   close_occupancy = CASE WHEN EXCLUDED.close_seq > p.close_seq
                                          THEN EXCLUDED.close_occupancy ELSE p.close_occupancy END,
                   close_seq = greatest(p.close_seq, EXCLUDED.close_seq),
                   peak_occupancy = greatest(p.peak_occupancy, EXCLUDED.peak_occupancy),
                   log_id = greatest(p.log_id, EXCLUDED.log_id)""",
            (org, cams, starts, ent, ext, evs, close, close_seq, peak, log_id),
            binary=True,
        )

    async def insert_day_tracks(self, conn: Conn, org: str,
                                tracks: set[tuple[int, date, str]]) -> list[tuple[int, date, int]]:
        """Record (camera, local day, track); return (camera, day, how many of its tracks were new)."""
        if not tracks:
            return []
        cams, days, ids = zip(*tracks, strict=True)
        joined = _texts(ids)
        if joined is None or "" in ids:
            source, params = "unnest(%b::bigint[], %b::date[], %b::text[])", (list(cams), list(days), list(ids))
        else:
            source = ("unnest(string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::date[],"
                      " string_to_array(%s, %s))")
            params = (_ints(cams), ",".join(map(str, days)), joined, _SEP)
        cur = await conn.execute(
            f"""WITH new AS (
                    INSERT INTO occupancy_day_tracks (org_id, camera_id, day, track_id)
                    SELECT %s, * FROM {source}
                    ON CONFLICT DO NOTHING RETURNING camera_id, day)
                SELECT camera_id, day, count(*) AS n FROM new GROUP BY camera_id, day""",
            (org, *params),
        )
        return [(r["camera_id"], r["day"], r["n"]) for r in await cur.fetchall()]

    async def live_row(self, conn: Conn, camera_id: int) -> dict[str, Any] | None:
        cur = await conn.execute(
            """SELECT s.camera_id, s.current_occupancy, s.total_entries, s.total_exits, s.unique_day,
                      s.unique_persons, s.last_updated
               FROM occupancy_state s WHERE s.camera_id = %s""",
            (camera_id,),
        )
        return await cur.fetchone()

    async def facility(self, conn: Conn) -> dict[str, Any]:
        cur = await conn.execute(
            """SELECT count(*) AS cameras_total,
                      count(*) FILTER (WHERE c.is_active) AS cameras_active,
                      coalesce(sum(s.current_occupancy) FILTER (WHERE c.is_active), 0) AS occupancy,
                      coalesce(sum(s.total_entries) FILTER (WHERE c.is_active), 0) AS entries,
                      coalesce(sum(s.total_exits) FILTER (WHERE c.is_active), 0) AS exits,
                      max(s.last_updated) FILTER (WHERE c.is_active) AS last_updated,
                      coalesce(sum(s.current_occupancy) FILTER (WHERE c.is_active AND c.max_occupancy > 0), 0)
                          AS occupancy_with_capacity,
                      coalesce(sum(c.max_occupancy) FILTER (WHERE c.is_active), 0) AS capacity,
                      (SELECT count(*) FROM occupancy_alerts WHERE resolved_at IS NULL) AS open_alerts
               FROM occupancy_cameras c JOIN occupancy_state s ON s.camera_id = c.id"""
        )
        return await cur.fetchone()  # type: ignore[return-value]

    # ------------------------------------------------------------------------------------ calibration

    async def insert_calibration(self, conn: Conn, org: str, camera_id: int, seq: int, when: datetime,
                                 before: int, after: int, notes: str) -> None:
        await conn.execute(
            """INSERT INTO occupancy_events (org_id, camera_id, seq, kind, line_id, event_id, track_id, confidence,
                      occurred_at, occupancy_before, occupancy_after, notes)
               VALUES (%s, %s, %s, 0, NULL, %s, '', NULL, %s, %s, %s, %s)""",
            (org, camera_id, seq, f"calibration-{camera_id}-{seq}", when, before, after, notes),
        )

    # ---------------------------------------------------------------------------------------- alerts

    async def insert_alerts(self, conn: Conn, org: str, alerts: Sequence[RaisedAlert]) -> list[Alert]:
        """Insert alerts unless one of the same camera and type is still open; return those inserted."""
        created: list[Alert] = []
        for a in alerts:
            cur = await conn.execute(
                f"""INSERT INTO occupancy_alerts (org_id, camera_id, alert_type, current_occupancy, message)
                    VALUES (%s, %s, %s, %s, %s)
                    ON CONFLICT (camera_id, alert_type) WHERE resolved_at IS NULL DO NOTHING
                    RETURNING {_ALERT_COLS}""",
                (org, a.camera_id, a.alert_type.value, a.current_occupancy, a.message),
            )
            row = await cur.fetchone()
            if row:
                created.append(_alert(row))
        return created

    async def resolve_open_alerts(self, conn: Conn, camera_ids: Sequence[int], alert_type: AlertType) -> list[Alert]:
        cur = await conn.execute(
            f"""UPDATE occupancy_alerts SET resolved_at = now()
                WHERE camera_id = ANY(%s) AND alert_type = %s AND resolved_at IS NULL RETURNING {_ALERT_COLS}""",
            (list(camera_ids), alert_type.value),
        )
        return [_alert(r) for r in await cur.fetchall()]

    async def resolve_alerts(self, conn: Conn, resolved: Iterable[tuple[int, AlertType]]) -> list[Alert]:
        """Resolve the open alerts of these (camera, type) pairs: capacity alerts the level fell back from."""
        out: list[Alert] = []
        by_type: dict[AlertType, list[int]] = {}
        for camera_id, kind in resolved:
            by_type.setdefault(kind, []).append(camera_id)
        for kind, cameras in by_type.items():
            out += await self.resolve_open_alerts(conn, sorted(cameras), kind)
        return out

    async def list_alerts(self, conn: Conn, camera_id: int | None, include_resolved: bool) -> list[Alert]:
        cur = await conn.execute(
            f"""SELECT {_ALERT_COLS} FROM occupancy_alerts
                WHERE (%s::bigint IS NULL OR camera_id = %s) AND (%s OR resolved_at IS NULL)
                ORDER BY created_at DESC, id DESC""",
            (camera_id, camera_id, include_resolved),
        )
        return [_alert(r) for r in await cur.fetchall()]

    async def resolve_alert(self, conn: Conn, alert_id: int) -> Alert | None:
        cur = await conn.execute(
            f"""UPDATE occupancy_alerts SET resolved_at = coalesce(resolved_at, now())
                WHERE id = %s RETURNING {_ALERT_COLS}""",
            (alert_id,),
        )
        row = await cur.fetchone()
        return _alert(row) if row else None

    # ------------------------------------------------------------------------------- rejected events

    async def record_rejections(self, conn: Conn, org: str, rejections: Sequence[tuple[str, str, int, str, str]]) -> None:
        """(event_id, camera_key, line_id, line_name, reason) per rejected event; repeats count attempts."""
        if not rejections:
            return
        ids, keys, line_ids, names, reasons = (list(c) for c in zip(*rejections, strict=True))
        await conn.execute(
            """INSERT INTO occupancy_rejected_events AS r (org_id, event_id, camera_key, line_id, line_name, reason)
               SELECT DISTINCT ON (u.event_id) %s, u.* FROM unnest(%s::text[], %s::text[], %s::bigint[],
                                                                   %s::text[], %s::text[])
                      AS u(event_id, camera_key, line_id, line_name, reason)
               ON CONFLICT (org_id, event_id) DO UPDATE SET attempts = r.attempts + 1, reason = EXCLUDED.reason,
                      last_seen_at = now()""",
            (org, ids, keys, [i or None for i in line_ids], names, reasons),
        )

    async def list_rejections(self, conn: Conn, limit: int = 100) -> list[dict[str, Any]]:
        cur = await conn.execute(
            """SELECT event_id, camera_key, line_id, line_name, reason, attempts, first_seen_at, last_seen_at
               FROM occupancy_rejected_events ORDER BY last_seen_at DESC LIMIT %s""",
            (limit,),
        )
        return list(await cur.fetchall())

    # --------------------------------------------------------------------------------- logs, buckets

    async def log_periods(self, conn: Conn, org: str, camera_id: int, since: datetime) -> list[OccupancyLog]:
        cur = await conn.execute(
            """WITH tracks AS (
                   SELECT date_bin(INTERVAL '5 minutes', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS bucket,
                          count(DISTINCT track_id) FILTER (WHERE track_id <> '') AS n
                   FROM occupancy_events
                   WHERE org_id = %(org)s AND camera_id = %(cam)s AND kind <> 0 AND occurred_at >= %(since)s
                   GROUP BY 1)
               SELECT b.log_id, b.bucket, b.entry_count, b.exit_count, b.close_occupancy, coalesce(t.n, 0) AS n
               FROM occupancy_5m b LEFT JOIN tracks t ON t.bucket = b.bucket
               WHERE b.org_id = %(org)s AND b.camera_id = %(cam)s AND b.bucket >= %(since)s
                     AND b.log_id IS NOT NULL
               ORDER BY b.bucket""",
            {"org": org, "cam": camera_id, "since": since},
        )
        return [OccupancyLog(r["log_id"], camera_id, r["entry_count"], r["exit_count"], r["close_occupancy"],
                             r["bucket"], r["n"]) for r in await cur.fetchall()]

    async def log_periods_raw(self, conn: Conn, org: str, camera_id: int, since: datetime,
                              period_s: int) -> list[OccupancyLog]:
        """Log periods of any length, from the event rows (the 5-minute buckets serve the default length)."""
        cur = await conn.execute(
            """SELECT date_bin(make_interval(secs => %(period)s), occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00')
                          AS bucket,
                      max(seq) FILTER (WHERE kind <> 0) AS log_id,
                      count(*) FILTER (WHERE kind = 1) AS entries, count(*) FILTER (WHERE kind = -1) AS exits,
                      (array_agg(occupancy_after ORDER BY seq DESC))[1] AS close,
                      count(DISTINCT track_id) FILTER (WHERE kind <> 0 AND track_id <> '') AS n
               FROM occupancy_events
               WHERE org_id = %(org)s AND camera_id = %(cam)s AND occurred_at >= %(since)s
               GROUP BY 1 HAVING count(*) FILTER (WHERE kind <> 0) > 0
               ORDER BY 1""",
            {"org": org, "cam": camera_id, "since": since, "period": period_s},
        )
        return [OccupancyLog(r["log_id"], camera_id, r["entries"], r["exits"], r["close"], r["bucket"], r["n"])
                for r in await cur.fetchall()]

    async def log_calibrations(self, conn: Conn, org: str, camera_id: int, since: datetime) -> list[OccupancyLog]:
        cur = await conn.execute(
            """SELECT seq, occurred_at, occupancy_after, coalesce(notes, '') AS notes FROM occupancy_events
               WHERE org_id = %s AND camera_id = %s AND kind = 0 AND occurred_at >= %s ORDER BY occurred_at, seq""",
            (org, camera_id, since),
        )
        return [OccupancyLog(r["seq"], camera_id, 0, 0, r["occupancy_after"], r["occurred_at"], 0, True, r["notes"])
                for r in await cur.fetchall()]

    async def buckets(self, conn: Conn, org: str, camera_id: int, start: datetime, end: datetime) -> list[Bucket]:
        cur = await conn.execute(
            """SELECT bucket, entry_count, exit_count, event_count, close_occupancy, peak_occupancy
               FROM occupancy_5m WHERE org_id = %s AND camera_id = %s AND bucket >= %s AND bucket < %s
               ORDER BY bucket""",
            (org, camera_id, start, end),
            binary=True,
        )
        return [Bucket(r["bucket"], r["entry_count"], r["exit_count"], r["event_count"], r["close_occupancy"],
                       r["peak_occupancy"]) for r in await cur.fetchall()]

    async def level_before(self, conn: Conn, org: str, camera_id: int, ts: datetime) -> int:
        cur = await conn.execute(
            """SELECT close_occupancy FROM occupancy_5m WHERE org_id = %s AND camera_id = %s AND bucket < %s
               ORDER BY bucket DESC LIMIT 1""",
            (org, camera_id, ts),
        )
        row = await cur.fetchone()
        return int(row["close_occupancy"]) if row else 0

    async def first_bucket(self, conn: Conn, org: str, camera_id: int) -> datetime | None:
        cur = await conn.execute(
            "SELECT min(bucket) AS b FROM occupancy_5m WHERE org_id = %s AND camera_id = %s", (org, camera_id)
        )
        row = await cur.fetchone()
        return row["b"] if row else None

    async def distinct_tracks(self, conn: Conn, org: str, camera_id: int, edges: Sequence[datetime]) -> dict[int, int]:
        """Distinct track ids per period between consecutive `edges` (keyed by period index)."""
        cur = await conn.execute(
            """SELECT width_bucket(occurred_at, %s::timestamptz[]) - 1 AS i, count(DISTINCT track_id) AS n
               FROM occupancy_events
               WHERE org_id = %s AND camera_id = %s AND kind <> 0 AND track_id <> ''
                     AND occurred_at >= %s AND occurred_at < %s
               GROUP BY 1""",
            (list(edges), org, camera_id, edges[0], edges[-1]),
        )
        return {r["i"]: r["n"] for r in await cur.fetchall()}

    # ------------------------------------------------------------------------------------- rollups

    async def watermarks(self, conn: Conn, camera_id: int, *, lock: bool = False) -> list[dict[str, Any]]:
        cur = await conn.execute(
            f"""SELECT level, time_zone, materialized_to FROM occupancy_rollup_watermarks WHERE camera_id = %s
                ORDER BY level, time_zone{' FOR UPDATE' if lock else ''}""",
            (camera_id,),
        )
        return list(await cur.fetchall())

    async def ensure_watermark(self, conn: Conn, org: str, camera_id: int, level: Level, tz: str) -> datetime | None:
        cur = await conn.execute(
            """INSERT INTO occupancy_rollup_watermarks (org_id, camera_id, level, time_zone) VALUES (%s, %s, %s, %s)
               ON CONFLICT (camera_id, level, time_zone) DO UPDATE SET level = EXCLUDED.level
               RETURNING materialized_to""",
            (org, camera_id, level.value, tz),
        )
        row = await cur.fetchone()
        return row["materialized_to"] if row else None

    async def set_watermark(self, conn: Conn, camera_id: int, level: Level, tz: str, to: datetime | None) -> None:
        await conn.execute(
            """UPDATE occupancy_rollup_watermarks SET materialized_to = %s, refreshed_at = now()
               WHERE camera_id = %s AND level = %s AND time_zone = %s""",
            (to, camera_id, level.value, tz),
        )

    async def rollup_dirty_from(self, conn: Conn, camera_id: int) -> datetime | None:
        cur = await conn.execute("SELECT rollup_dirty_from FROM occupancy_state WHERE camera_id = %s", (camera_id,))
        row = await cur.fetchone()
        return row["rollup_dirty_from"] if row else None

    async def set_rollup_state(self, conn: Conn, camera_id: int, horizon: datetime | None) -> None:
        await conn.execute(
            "UPDATE occupancy_state SET rollup_horizon = %s, rollup_dirty_from = NULL WHERE camera_id = %s",
            (horizon, camera_id),
        )

    async def delete_rollups_after(self, conn: Conn, camera_id: int, level: Level, tz: str, after: datetime) -> None:
        await conn.execute(
            """DELETE FROM occupancy_rollups WHERE camera_id = %s AND level = %s AND time_zone = %s
               AND period_end > %s""",
            (camera_id, level.value, tz, after),
        )

    async def upsert_rollups(self, conn: Conn, org: str, tz: str, rows: Sequence[RollupRow]) -> None:
        if not rows:
            return
        async with conn.cursor() as cur:
            await cur.executemany(
                """INSERT INTO occupancy_rollups (org_id, camera_id, level, time_zone, period_start, period_end,
                          label, entries, exits, avg_occupancy, peak_occupancy, peak_hour, unique_persons)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (camera_id, level, time_zone, period_start) DO UPDATE SET
                       period_end = EXCLUDED.period_end, label = EXCLUDED.label, entries = EXCLUDED.entries,
                       exits = EXCLUDED.exits, avg_occupancy = EXCLUDED.avg_occupancy,
                       peak_occupancy = EXCLUDED.peak_occupancy, peak_hour = EXCLUDED.peak_hour,
                       unique_persons = EXCLUDED.unique_persons""",
                [(org, r.camera_id, r.level.value, tz, r.period_start, r.period_end, r.label, r.entries, r.exits,
                  r.avg_occupancy, r.peak_occupancy, r.peak_hour, r.unique_persons) for r in rows],
            )

    async def read_rollups(self, conn: Conn, camera_id: int, level: Level, tz: str, start: datetime,
                           end: datetime) -> list[RollupRow]:
        cur = await conn.execute(
            """SELECT period_start, period_end, label, entries, exits, avg_occupancy, peak_occupancy, peak_hour,
                      unique_persons
               FROM occupancy_rollups
               WHERE camera_id = %s AND level = %s AND time_zone = %s AND period_start >= %s AND period_end <= %s
               ORDER BY period_start""",
            (camera_id, level.value, tz, start, end),
        )
        return [RollupRow(level, r["period_start"], r["period_end"], r["label"], camera_id, r["entries"], r["exits"],
                          r["avg_occupancy"], r["peak_occupancy"], r["peak_hour"], r["unique_persons"], tz)
                for r in await cur.fetchall()]

    # --------------------------------------------------------------------------- platform (system) jobs

    async def system_silent_cameras(self, conn: Conn, before: datetime) -> list[dict[str, Any]]:
        """Active cameras with an active line that reported nothing since `before` and have no open
        equipment_failure alert, across organisations."""
        cur = await conn.execute(
            """SELECT c.org_id, c.id, c.camera_key, s.last_event_at, c.created_at
               FROM occupancy_cameras c JOIN occupancy_state s ON s.camera_id = c.id
               WHERE c.is_active
                 AND coalesce(s.last_event_at, c.created_at) < %s
                 AND EXISTS (SELECT 1 FROM occupancy_lines l WHERE l.camera_id = c.id AND l.is_active)
                 AND NOT EXISTS (SELECT 1 FROM occupancy_alerts a WHERE a.camera_id = c.id
                                 AND a.alert_type = 'equipment_failure' AND a.resolved_at IS NULL)
               ORDER BY c.org_id, c.id""",
            (before,),
        )
        return list(await cur.fetchall())

    async def system_cameras_with_data(self, conn: Conn) -> list[tuple[str, int]]:
        cur = await conn.execute(
            "SELECT org_id, camera_id FROM occupancy_state WHERE last_seq > 0 ORDER BY org_id, camera_id"
        )
        return [(r["org_id"], r["camera_id"]) for r in await cur.fetchall()]

    async def system_prune(self, conn: Conn, *, day_tracks_before: date, processed_before: datetime,
                           consumers: Sequence[str]) -> None:
        await conn.execute("DELETE FROM occupancy_day_tracks WHERE day < %s", (day_tracks_before,))
        await conn.execute(
            "DELETE FROM processed_events WHERE consumer = ANY(%s) AND processed_at < %s",
            (list(consumers), processed_before),
        )

    async def camera_ids(self, conn: Conn) -> list[int]:
        cur = await conn.execute("SELECT id FROM occupancy_cameras ORDER BY id")
        return [r["id"] for r in await cur.fetchall()]

    async def camera_key_map(self, conn: Conn, keys: Iterable[str]) -> dict[str, int]:
        cur = await conn.execute(
            "SELECT camera_key, id FROM occupancy_cameras WHERE camera_key = ANY(%s)", (list(keys),)
        )
        return {r["camera_key"]: r["id"] for r in await cur.fetchall()}


def _ledger(row: dict[str, Any]) -> CameraLedger:
    lines = [LineRule(int(l[0]), l[1], LineDirection(l[2]), float(l[3]), bool(l[4])) for l in row["lines"]]
    return CameraLedger(
        camera_id=row["id"], camera_key=row["camera_key"], is_active=row["is_active"],
        max_occupancy=row["max_occupancy"], current=row["current_occupancy"], total_entries=row["total_entries"],
        total_exits=row["total_exits"], last_seq=row["last_seq"], unique_day=row["unique_day"],
        unique_persons=row["unique_persons"], anomaly_minute=row["anomaly_minute"],
        anomaly_count=row["anomaly_count"], last_updated=row["last_updated"], last_event_at=row["last_event_at"],
        rollup_horizon=row["rollup_horizon"], rollup_dirty_from=row["rollup_dirty_from"],
        lines_by_id={l.id: l for l in lines}, lines_by_name={l.name: l for l in lines},
        open_alerts=set(row["open_alerts"]),
    )


