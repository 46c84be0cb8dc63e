"""Pure domain rules: direction semantics, validation, the batch ledger, alert rules and rollup maths."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from footfall.services.core.errors import InvalidArgument
from footfall.services.occupancy.domain import (
    AlertRules,
    AlertType,
    Bucket,
    CameraLedger,
    Crossing,
    CrossingDirection,
    Level,
    LineDirection,
    LineRule,
    NewCamera,
    Outcome,
    apply_batch,
    bucket_start,
    build_rollups,
    capacity_alert,
    counted_delta,
    floor_period,
    lookback_start,
    next_period,
    period_edges,
    summarize_periods,
    validate_line_geometry,
    validate_new_camera,
)

IN, OUT = CrossingDirection.IN, CrossingDirection.OUT
T0 = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
UTCZ = ZoneInfo("UTC")


@pytest.mark.parametrize(("line", "crossing", "delta"), [
    (LineDirection.ENTRY, IN, 1), (LineDirection.ENTRY, OUT, None),
    (LineDirection.EXIT, IN, None), (LineDirection.EXIT, OUT, -1),
    (LineDirection.BIDIRECTIONAL, IN, 1), (LineDirection.BIDIRECTIONAL, OUT, -1),
])
def test_direction_semantics(line: LineDirection, crossing: CrossingDirection, delta: int | None) -> None:
    assert counted_delta(line, crossing) == delta


@pytest.mark.parametrize(("coords", "message"), [
    ((float("nan"), 0, 10, 10), "finite"),
    ((float("inf"), 0, 10, 10), "finite"),
    ((-1, 0, 10, 10), "negative"),
    ((5, 5, 5, 5), "zero-length"),
    ((0, 0, 1921, 10), "outside the camera frame (width 1920)"),
    ((0, 0, 10, 1081), "outside the camera frame (height 1080)"),
])
def test_line_geometry_is_validated(coords: tuple[float, float, float, float], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_line_geometry(*coords, width=1920, height=1080)


def test_line_geometry_accepts_the_frame_edges_and_unknown_resolution() -> None:
    validate_line_geometry(0, 300, 1920, 300, width=1920, height=1080)
    validate_line_geometry(0, 300, 5000, 300, width=0, height=0)


def test_camera_validation() -> None:
    assert validate_new_camera(NewCamera(" GATE_A ")).camera_name == "GATE_A"
    with pytest.raises(InvalidArgument):
        validate_new_camera(NewCamera(""))
    with pytest.raises(InvalidArgument):
        validate_new_camera(NewCamera("GATE A"))
    with pytest.raises(InvalidArgument):
        validate_new_camera(NewCamera("G", max_occupancy=-1))


def ledger(**kw: object) -> CameraLedger:
    lines = [LineRule(1, "door", LineDirection.BIDIRECTIONAL, 0.5, True),
             LineRule(2, "in-only", LineDirection.ENTRY, 0.5, True),
             LineRule(3, "off", LineDirection.ENTRY, 0.5, False)]
    base = {"camera_id": 7, "camera_key": "GATE_A", "is_active": True, "max_occupancy": 0, "current": 0, "total_entries": 0,
                "total_exits": 0, "last_seq": 0, "unique_day": None, "unique_persons": 0, "anomaly_minute": None, "anomaly_count": 0,
                "last_updated": None, "last_event_at": None, "rollup_horizon": None, "rollup_dirty_from": None,
                "lines_by_id": {ln.id: ln for ln in lines}, "lines_by_name": {ln.name: ln for ln in lines}}
    base.update(kw)
    return CameraLedger(**base)  # type: ignore[arg-type]


def x(i: int, direction: CrossingDirection = IN, *, line: str = "door", camera: str = "GATE_A",
      confidence: float = 0.9, at: datetime = T0, track: str = "") -> Crossing:
    return Crossing(f"e{i}", camera, 0, line, direction, track or f"t{i}", confidence, at)


def run(cam: CameraLedger, crossings: list[Crossing], rules: AlertRules | None = None, fresh: set[str] | None = None):  # type: ignore[no-untyped-def]
    ids = {c.event_id for c in crossings} if fresh is None else fresh
    return apply_batch({cam.camera_key: cam}, crossings, ids, now=T0, tz=UTCZ, rules=rules or AlertRules())


def test_batch_applies_in_order_and_clamps_at_zero() -> None:
    cam = ledger()
    result = run(cam, [x(1, OUT), x(2, IN), x(3, IN), x(4, OUT)])
    assert [o.outcome for o in result.outcomes] == [Outcome.APPLIED] * 4
    assert (cam.current, cam.total_entries, cam.total_exits) == (1, 2, 2)
    assert [a.alert_type for a in result.alerts] == [AlertType.NEGATIVE_COUNT]
    assert [(r[8], r[9]) for r in result.rows] == [(0, 0), (0, 1), (1, 2), (2, 1)]  # before, after
    assert [r[1] for r in result.rows] == [1, 2, 3, 4]  # per-camera seq


def test_threshold_direction_unknowns_and_duplicates() -> None:
    cam = ledger()
    result = run(cam, [
        x(1, confidence=0.49),            # below the line's threshold
        x(2, OUT, line="in-only"),        # an entry line ignores out crossings
        x(3, line="nope"),                # unknown line
        x(4, camera="GATE_B"),            # unknown camera
        x(5, line="off"),                 # inactive line
        x(6), x(6),                       # the same id twice in one batch
        x(7),                             # already applied before (not fresh)
    ], fresh={"e1", "e2", "e6"})
    outcomes = [(o.outcome, o.not_found) for o in result.outcomes]
    assert outcomes == [
        (Outcome.IGNORED, False), (Outcome.IGNORED, False), (Outcome.REJECTED, True), (Outcome.REJECTED, True),
        (Outcome.REJECTED, False), (Outcome.APPLIED, False), (Outcome.DUPLICATE, False), (Outcome.DUPLICATE, False),
    ]
    assert "below" in result.outcomes[0].reason and "does not count out" in result.outcomes[1].reason
    assert cam.current == 1 and cam.total_entries == 1


def test_capacity_rules() -> None:
    rules = AlertRules(warning_ratio=0.8)
    assert capacity_alert(80, 100, rules) is None
    assert capacity_alert(81, 100, rules)[0] is AlertType.CAPACITY_WARNING  # type: ignore[index]
    assert capacity_alert(100, 100, rules)[0] is AlertType.CAPACITY_WARNING  # type: ignore[index]
    assert capacity_alert(105, 100, rules) == (AlertType.CAPACITY_EXCEEDED, "Occupancy (105) exceeds capacity (100)")
    assert capacity_alert(1000, 0, rules) is None


def test_alerts_are_raised_once_while_open() -> None:
    cam = ledger(max_occupancy=2, current=2, open_alerts={"capacity_warning"})
    result = run(cam, [x(1), x(2), x(3)])
    assert [(a.alert_type, a.current_occupancy) for a in result.alerts] == [(AlertType.CAPACITY_EXCEEDED, 3)]


def test_anomaly_counts_crossings_per_minute_of_event_time() -> None:
    cam = ledger()
    crossings = [x(i, IN if i % 2 else OUT, at=T0 + timedelta(seconds=i % 50)) for i in range(6)]
    crossings.append(x(99, at=T0 + timedelta(minutes=1)))
    result = run(cam, crossings, AlertRules(anomaly_per_minute=5))
    assert [a.alert_type for a in result.alerts] == [AlertType.NEGATIVE_COUNT, AlertType.ANOMALY_DETECTED]
    assert cam.anomaly_count == 1 and cam.anomaly_minute == T0 + timedelta(minutes=1)


def test_buckets_and_day_tracks_of_a_batch() -> None:
    cam = ledger()
    late = T0 + timedelta(minutes=7)
    result = run(cam, [x(1, track="a"), x(2, track="a"), x(3, OUT, at=late, track="b")])
    assert set(result.buckets) == {(7, T0), (7, T0 + timedelta(minutes=5))}
    first = result.buckets[(7, T0)]
    assert (first.entries, first.exits, first.close, first.peak, first.log_id) == (2, 0, 2, 2, 2)
    second = result.buckets[(7, T0 + timedelta(minutes=5))]
    assert (second.exits, second.close, second.peak) == (1, 1, 2)  # the level before the exit counts as peak
    assert result.day_tracks == {(7, date(2025, 1, 15), "a"), (7, date(2025, 1, 15), "b")}


def test_bucket_start_is_utc_aligned() -> None:
    assert bucket_start(datetime(2025, 1, 15, 10, 7, 59, 999, tzinfo=UTC)) == datetime(2025, 1, 15, 10, 5, tzinfo=UTC)


def test_periods_in_time_zones_and_across_dst() -> None:
    paris = ZoneInfo("Europe/Paris")
    ts = datetime(2025, 3, 30, 1, 30, tzinfo=UTC)  # 03:30 CEST, the day clocks go forward
    assert floor_period(Level.DAILY, ts, paris) == datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    assert next_period(Level.DAILY, datetime(2025, 3, 29, 23, 0, tzinfo=UTC), paris) == datetime(2025, 3, 30, 22, 0, tzinfo=UTC)
    edges = period_edges(Level.HOURLY, datetime(2025, 3, 29, 23, 0, tzinfo=UTC), datetime(2025, 3, 30, 22, 0, tzinfo=UTC), paris)
    assert len(edges) - 1 == 23  # a 23-hour day
    kolkata = ZoneInfo("Asia/Kolkata")
    assert floor_period(Level.HOURLY, datetime(2025, 1, 15, 10, 7, tzinfo=UTC), kolkata) == datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
    assert floor_period(Level.MONTHLY, datetime(2025, 1, 31, 23, 30, tzinfo=UTC), paris) == datetime(2025, 1, 31, 23, 0, tzinfo=UTC)
    assert lookback_start(Level.MONTHLY, 12, datetime(2025, 1, 15, tzinfo=UTC), UTCZ) == datetime(2024, 2, 1, tzinfo=UTC)
    assert lookback_start(Level.DAILY, 1, datetime(2025, 1, 15, 10, tzinfo=UTC), UTCZ) == datetime(2025, 1, 15, tzinfo=UTC)


def b(minute: int, close: int, peak: int | None = None, entries: int = 0, exits: int = 0) -> Bucket:
    return Bucket(T0 + timedelta(minutes=minute), entries, exits, entries + exits or 1, close,
                  close if peak is None else peak)


def test_average_is_the_mean_of_five_minute_levels_carried_forward() -> None:
    # 10:00-11:00: level 40 from 10:00 (set before the hour), 50 from 10:30 -> 6 x 40 + 6 x 50 -> 45.0
    edges = [T0, T0 + timedelta(hours=1)]
    stats = summarize_periods(edges, [b(30, 50, entries=10)], initial_level=40, first_data=T0 - timedelta(days=1),
                              now=T0 + timedelta(days=1))
    assert (stats[0].avg, stats[0].peak, stats[0].slots, stats[0].entries) == (45.0, 50, 12, 10)


def test_average_counts_only_started_periods_after_the_first_data() -> None:
    edges = [T0, T0 + timedelta(hours=1)]
    # first data at 10:20, now 10:40: the periods 10:20, 10:25, 10:30, 10:35, 10:40 are averaged
    stats = summarize_periods(edges, [b(20, 10, entries=10), b(30, 20, entries=10)], initial_level=0,
                              first_data=T0 + timedelta(minutes=20), now=T0 + timedelta(minutes=40))
    assert stats[0].slots == 5
    assert stats[0].avg == (10 + 10 + 20 + 20 + 20) / 5
    assert stats[0].peak_at == T0 + timedelta(minutes=30)


def test_daily_peak_hour_and_monthly_average_of_daily_averages() -> None:
    day = datetime(2025, 1, 15, tzinfo=UTC)
    buckets = [Bucket(day + timedelta(hours=14), 5, 0, 5, 5, 5), Bucket(day + timedelta(hours=16), 0, 5, 5, 0, 5)]
    edges = period_edges(Level.DAILY, day, day + timedelta(days=1), UTCZ)
    rows = build_rollups(Level.DAILY, 7, edges, buckets, initial_level=0, first_data=day + timedelta(hours=14),
                         now=day + timedelta(days=3), tz=UTCZ, unique={0: 4})
    assert len(rows) == 1 and rows[0].peak_hour == 14 and rows[0].peak_occupancy == 5
    assert rows[0].unique_persons == 4 and rows[0].label == "2025-01-15"
    # 14:00-16:00 at 5 (24 periods), 16:00-24:00 at 0 (96 periods) -> 120/120
    assert rows[0].avg_occupancy == 1.0
    month = [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)]
    days = period_edges(Level.DAILY, month[0], month[1], UTCZ)
    rows = build_rollups(Level.MONTHLY, 7, month, buckets, initial_level=0, first_data=day + timedelta(hours=14),
                         now=datetime(2025, 1, 16, 12, tzinfo=UTC), tz=UTCZ, unique={0: 9}, day_edges=days)
    # day 15 averages 1.0 (from 14:00 on it counts 120 periods: 24 at 5 and 96 at 0), day 16 (to noon) 0.0
    assert rows[0].avg_occupancy == 0.5 and rows[0].peak_occupancy == 5 and rows[0].label == "2025-01"
    assert (rows[0].entries, rows[0].exits, rows[0].unique_persons) == (5, 5, 9)
