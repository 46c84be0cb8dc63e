"""The occupancy ledger's edges that mutation testing (tests/tools/mutation.py occupancy_domain) showed untested:
why a crossing is rejected, lines by id, bucket alignment in any zone and period, the capacity alert thresholds
and their hysteresis, the defaults of the alert rules, and a camera's live view."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from footfall.services.occupancy.domain import (
    AlertRules,
    AlertType,
    Crossing,
    CrossingOutcome,
    Outcome,
    apply_batch,
    bucket_start,
    capacity_alert,
    capacity_resolved,
    reject_reason,
    resolve_line,
)
from tests.occupancy.test_domain import IN, OUT, T0, UTCZ, ledger, run, x

WARNING, EXCEEDED = AlertType.CAPACITY_WARNING, AlertType.CAPACITY_EXCEEDED


def test_why_a_crossing_is_rejected() -> None:
    cams = {"GATE_A": ledger(), "SHUT": ledger(camera_id=8, camera_key="SHUT", is_active=False)}
    assert reject_reason(cams, x(1)) is None
    assert reject_reason(cams, Crossing("", "GATE_A", 0, "door", IN, "t", 0.9, T0)) == ("event without event_id", False)
    assert reject_reason(cams, x(2, camera="NOPE")) == ("unknown camera 'NOPE'", True)
    assert reject_reason(cams, x(3, camera="SHUT")) == ("camera 'SHUT' is inactive", False)
    assert reject_reason(cams, Crossing("e4", "GATE_A", 0, "door", None, "t", 0.9, T0)) == (
        "crossing direction unspecified", False)
    assert reject_reason(cams, x(5, line="nope")) == ("unknown line 'nope' on camera 'GATE_A'", True)
    assert reject_reason(cams, x(6, line="off")) == ("line 'off' on camera 'GATE_A' is inactive", False)


def test_lines_are_found_by_id_before_name() -> None:
    cam = ledger()
    by_id = Crossing("e1", "GATE_A", 2, "ignored name", IN, "t", 0.9, T0)
    assert resolve_line(cam, by_id).name == "in-only"  # type: ignore[union-attr]
    assert resolve_line(cam, Crossing("e2", "GATE_A", 99, "door", IN, "t", 0.9, T0)) == \
        "unknown line 99 on camera 'GATE_A'"
    assert resolve_line(cam, Crossing("e3", "GATE_A", 3, "", IN, "t", 0.9, T0)) == \
        "line 'off' on camera 'GATE_A' is inactive"


def test_rejected_crossings_report_their_reason_and_camera() -> None:
    cam = ledger()
    result = run(cam, [x(1, line="nope"), x(2, camera="ELSEWHERE"), x(3)])
    rejected = result.outcomes[:2]
    assert [(o.outcome, o.reason, o.camera_id, o.not_found) for o in rejected] == [
        (Outcome.REJECTED, "unknown line 'nope' on camera 'GATE_A'", 7, True),
        (Outcome.REJECTED, "unknown camera 'ELSEWHERE'", None, True),
    ]
    assert [o.applied for o in result.outcomes] == [False, False, True]
    assert CrossingOutcome("e", Outcome.DUPLICATE).applied is False
    with pytest.raises(ValueError):  # one verdict per crossing, or nothing is applied
        apply_batch({"GATE_A": cam}, [x(4), x(5)], {"e4", "e5"}, now=T0, tz=UTCZ, rules=AlertRules(),
                    rejections=[None])


def test_a_batch_bucket_of_a_single_crossing() -> None:
    cam = ledger(last_seq=41)
    entry = run(cam, [x(1)]).buckets[(7, T0)]
    assert (entry.entries, entry.exits, entry.events, entry.close, entry.close_seq, entry.peak) == (1, 0, 1, 1, 42, 1)
    cam = ledger()
    exit_at_zero = run(cam, [x(2, OUT)]).buckets[(7, T0)]
    assert (exit_at_zero.entries, exit_at_zero.exits, exit_at_zero.events, exit_at_zero.close,
            exit_at_zero.peak) == (0, 1, 1, 0, 0)


@pytest.mark.parametrize(("ts", "period", "start"), [
    (datetime(2025, 1, 15, 12, 7, 30, tzinfo=timezone(timedelta(hours=2))), timedelta(minutes=5),
     datetime(2025, 1, 15, 10, 5, tzinfo=UTC)),  # any zone: the UTC bucket
    (datetime(2025, 1, 15, 10, 59, 59, 999_999, tzinfo=UTC), timedelta(hours=1), datetime(2025, 1, 15, 10, tzinfo=UTC)),
    (datetime(2025, 1, 15, 11, 0, 0, 1, tzinfo=UTC), timedelta(hours=1), datetime(2025, 1, 15, 11, tzinfo=UTC)),
    (datetime(2025, 1, 15, 10, 7, tzinfo=timezone(timedelta(hours=-3))), timedelta(days=1),
     datetime(2025, 1, 15, tzinfo=UTC)),
    (datetime(2025, 1, 15, 10, 7, 40, tzinfo=UTC), timedelta(seconds=15), datetime(2025, 1, 15, 10, 7, 30, tzinfo=UTC)),
])
def test_buckets_align_to_utc_in_any_period(ts: datetime, period: timedelta, start: datetime) -> None:
    assert bucket_start(ts, period) == start


def test_capacity_alert_thresholds() -> None:
    rules = AlertRules()
    assert capacity_alert(2, 1, rules) == (EXCEEDED, "Occupancy (2) exceeds capacity (1)")
    assert capacity_alert(1, 1, rules) == (WARNING, "Occupancy (1) exceeds 80% of capacity (1)")
    assert capacity_alert(5, 0, rules) is None and capacity_alert(5, -1, rules) is None
    assert capacity_alert(8, 10, AlertRules(warning_ratio=0.75))[1] == "Occupancy (8) exceeds 75% of capacity (10)"  # type: ignore[index]


def test_capacity_alerts_resolve_below_their_threshold_by_the_margin() -> None:
    rules = AlertRules()  # warning over 80 % of 100; each resolves 10 % of capacity below its threshold
    both = {EXCEEDED.value, WARNING.value}
    assert capacity_resolved(91, 100, both, rules) == []
    assert capacity_resolved(90, 100, both, rules) == [EXCEEDED]
    assert capacity_resolved(71, 100, {WARNING.value}, rules) == []
    assert capacity_resolved(70, 100, {WARNING.value}, rules) == [WARNING]  # only the open one, exceeded not
    assert capacity_resolved(70, 100, both, rules) == [EXCEEDED, WARNING]
    assert capacity_resolved(70, 100, set(), rules) == []
    assert capacity_resolved(500, 0, both, rules) == [EXCEEDED, WARNING]  # capacity unset: nothing to exceed
    assert capacity_resolved(1, 1, both, rules) == [] and capacity_resolved(0, 1, both, rules) == [EXCEEDED, WARNING]
    assert capacity_resolved(94, 100, both, AlertRules(resolve_margin=0.05)) == [EXCEEDED]


def test_the_default_alert_rules() -> None:
    rules = AlertRules()
    assert (rules.warning_ratio, rules.anomaly_per_minute, rules.resolve_margin) == (0.8, 120, 0.1)
    cam = ledger()
    crossings = [x(i, IN, at=T0 + timedelta(seconds=i % 60)) for i in range(121)]
    assert [a.alert_type for a in run(cam, crossings[:120]).alerts] == []  # 120 in a minute: busy, not odd
    assert [a.alert_type for a in run(cam, crossings[120:]).alerts] == [AlertType.ANOMALY_DETECTED]


def test_live_view_counts_unique_people_of_today_only() -> None:
    cam = ledger(current=3, total_entries=5, total_exits=2, unique_day=date(2025, 1, 15), unique_persons=4,
                 last_updated=T0)
    today = cam.live(date(2025, 1, 15))
    assert (today.camera_id, today.current_occupancy, today.total_entries, today.total_exits, today.unique_persons,
            today.last_updated) == (7, 3, 5, 2, 4, T0)
    assert cam.live(date(2025, 1, 16)).unique_persons == 0


def test_a_confidence_equal_to_the_threshold_counts() -> None:
    cam = ledger()
    result = run(cam, [x(1, confidence=0.5), x(2, confidence=0.4999)])
    assert [o.outcome for o in result.outcomes] == [Outcome.APPLIED, Outcome.IGNORED]


def test_the_last_person_leaving_empties_the_camera_without_an_alert() -> None:
    cam = ledger(current=1)
    result = run(cam, [x(1, OUT)])
    assert (cam.current, cam.total_exits, cam.changed) == (0, 1, True)
    assert result.alerts == [] and [(r[8], r[9]) for r in result.rows] == [(1, 0)]
    clamped = run(cam, [x(2, OUT)])  # one more exit than entries: kept at 0, and said so at level 0
    assert [(a.alert_type, a.current_occupancy) for a in clamped.alerts] == [(AlertType.NEGATIVE_COUNT, 0)]


def test_unique_people_are_counted_on_the_local_day_around_a_quarter_hour_midnight() -> None:
    from zoneinfo import ZoneInfo

    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+5:45: local midnight falls at 18:15 UTC
    cam = ledger()
    at = datetime(2025, 1, 15, 18, 15, tzinfo=UTC)
    crossings = [x(1, track="a", at=at - timedelta(seconds=1)), x(2, track="b", at=at),
                 x(3, track="c", at=at + timedelta(minutes=14, seconds=59)),
                 x(4, track="d", at=datetime(2025, 1, 15, 18, 58, tzinfo=UTC))]
    result = apply_batch({"GATE_A": cam}, crossings, {c.event_id for c in crossings}, now=T0, tz=kathmandu,
                         rules=AlertRules())
    assert sorted(result.day_tracks) == [(7, date(2025, 1, 15), "a"), (7, date(2025, 1, 16), "b"),
                                         (7, date(2025, 1, 16), "c"), (7, date(2025, 1, 16), "d")]


def test_a_capacity_alert_raised_by_a_batch_says_why() -> None:
    cam = ledger(max_occupancy=2, current=2)
    [alert] = run(cam, [x(1)]).alerts
    assert (alert.camera_id, alert.alert_type, alert.current_occupancy, alert.message) == (
        7, EXCEEDED, 3, "Occupancy (3) exceeds capacity (2)")


def test_a_crossing_recovers_only_a_camera_reported_failing() -> None:
    failing = ledger(open_alerts={AlertType.EQUIPMENT_FAILURE.value, WARNING.value}, max_occupancy=100)
    result = run(failing, [x(1)])
    assert result.recovered == {7} and failing.open_alerts == {WARNING.value}
    busy = ledger(open_alerts={WARNING.value}, max_occupancy=100)
    assert run(busy, [x(2)]).recovered == set() and busy.open_alerts == {WARNING.value}


def test_rules_and_raised_alerts_cannot_be_changed_once_made() -> None:
    import dataclasses

    from footfall.services.occupancy.domain import LineDirection, LineRule, RaisedAlert

    for frozen, field in ((LineRule(1, "door", LineDirection.ENTRY, 0.5, True), "is_active"),
                          (AlertRules(), "warning_ratio"), (RaisedAlert(7, WARNING, 1, "m"), "message")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(frozen, field, None)


def test_a_batch_that_applies_nothing_leaves_the_ledger_unchanged() -> None:
    cam = ledger()
    result = run(cam, [x(1, line="nope"), x(2, confidence=0.1), x(3)], fresh={"e1", "e2"})
    assert [o.outcome for o in result.outcomes] == [Outcome.REJECTED, Outcome.IGNORED, Outcome.DUPLICATE]
    assert cam.changed is False and (cam.current, cam.last_seq) == (0, 0) and result.rows == []


def test_a_capacity_of_one_alerts_like_any_other() -> None:
    cam = ledger(max_occupancy=1)
    assert [(a.alert_type, a.current_occupancy) for a in run(cam, [x(1)]).alerts] == [(WARNING, 1)]
    assert [(a.alert_type, a.current_occupancy) for a in run(cam, [x(2)]).alerts] == [(EXCEEDED, 2)]


def test_an_exit_at_zero_resolves_a_capacity_alert_left_open() -> None:
    """An alert can stay open at occupancy 0 (capacity raised, or it was open when the ledger was loaded): the
    next exit, even one clamped at 0, is below every threshold by the margin and resolves it (issue 9)."""
    cam = ledger(open_alerts={WARNING.value, EXCEEDED.value}, max_occupancy=10)
    result = run(cam, [x(1, OUT)])
    assert result.resolved == {(7, WARNING), (7, EXCEEDED)}
    assert cam.open_alerts == {AlertType.NEGATIVE_COUNT.value} and cam.current == 0
