"""Every REST route of seed 001 (`/api/occupancy`) against the real occupancy service."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import AuthKit, unique_org
from tests.graph.conftest import bearer, cross, http_client, make_camera, make_line

API = "/api/occupancy"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CAMERA_FIELDS = {"id", "camera_id", "camera_name", "location", "camera_type", "is_active", "max_occupancy"}
LINE_FIELDS = {
    "id",
    "camera_id",
    "line_name",
    "x1",
    "y1",
    "x2",
    "y2",
    "direction",
    "is_active",
    "created_at",
    "confidence_threshold",
}


# Cameras


async def test_create_camera_returns_the_seed_shape(client: httpx.AsyncClient) -> None:
    body = {
        "camera_id": "GATE_A",
        "camera_name": "Gate A Entrance",
        "location": "Main Gate",
        "camera_type": "entry_only",
        "max_occupancy": 100,
        "resolution_width": 1920,
        "resolution_height": 1080,
    }
    r = await client.post(f"{API}/cameras", json=body)
    assert r.status_code == 201, r.text
    camera = r.json()
    assert CAMERA_FIELDS <= set(camera)
    assert isinstance(camera["id"], int)
    assert {k: camera[k] for k in CAMERA_FIELDS - {"id"}} == {
        "camera_id": "GATE_A",
        "camera_name": "Gate A Entrance",
        "location": "Main Gate",
        "camera_type": "entry_only",
        "is_active": True,
        "max_occupancy": 100,
    }
    assert (camera["resolution_width"], camera["resolution_height"]) == (1920, 1080)


async def test_create_camera_minimal_body_as_in_the_curl_example(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/cameras", json={"camera_id": "GATE_A", "camera_name": "Gate A", "camera_type": "entry_only"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["max_occupancy"] is None  # no capacity configured


async def test_duplicate_camera_is_409_with_the_seed_detail(client: httpx.AsyncClient) -> None:
    await make_camera(client, "GATE_A")
    r = await client.post(f"{API}/cameras", json={"camera_id": "GATE_A", "camera_name": "again"})
    assert r.status_code == 409
    assert r.json() == {"detail": "Camera with ID 'GATE_A' already exists"}


@pytest.mark.parametrize(
    "body",
    [
        {"camera_name": "no key"},  # camera_id missing
        {"camera_id": "X", "max_occupancy": "lots"},  # wrong type
        {"camera_id": "X", "max_occupancy": -5},  # the domain refuses it
        {"camera_id": "has space"},  # the domain refuses it
        {"camera_id": "X", "camera_type": "weird"},  # not one of the seed's camera types
        [1, 2, 3],  # not an object
    ],
)
async def test_invalid_camera_is_400(client: httpx.AsyncClient, body: object) -> None:
    r = await client.post(f"{API}/cameras", json=body)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"detail"} and r.json()["detail"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/cameras", content=b'{"camera_id": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("Invalid JSON body")


async def test_list_cameras_lists_the_active_ones(client: httpx.AsyncClient) -> None:
    a = await make_camera(client, "GATE_A")
    b = await make_camera(client, "GATE_B")
    r = await client.get(f"{API}/cameras")
    assert r.status_code == 200
    assert {c["id"] for c in r.json()} == {a["id"], b["id"]}
    assert all(CAMERA_FIELDS <= set(c) for c in r.json())
    r = await client.put(f"{API}/cameras/{b['id']}", json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert [c["id"] for c in (await client.get(f"{API}/cameras")).json()] == [a["id"]]


async def test_get_camera_and_its_errors(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client)
    r = await client.get(f"{API}/cameras/{camera['id']}")
    assert r.status_code == 200 and r.json() == camera
    r = await client.get(f"{API}/cameras/999999999")
    assert r.status_code == 404
    assert r.json() == {"detail": "Camera 999999999 not found"}
    for bad in ("abc", "1.5", "99999999999999999999999"):
        r = await client.get(f"{API}/cameras/{bad}")
        assert r.status_code == 422, bad
        assert "camera_id" in r.json()["detail"]


async def test_update_camera_changes_only_the_fields_given(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client, "GATE_A", camera_name="Gate A Entrance", max_occupancy=100)
    r = await client.put(
        f"{API}/cameras/{camera['id']}", json={"camera_name": "Gate A Main Entrance", "max_occupancy": 120}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {**camera, "camera_name": "Gate A Main Entrance", "max_occupancy": 120}
    assert (await client.get(f"{API}/cameras/{camera['id']}")).json()["max_occupancy"] == 120
    assert (await client.put(f"{API}/cameras/999999999", json={"camera_name": "x"})).status_code == 404
    assert (await client.put(f"{API}/cameras/{camera['id']}", json={"max_occupancy": -1})).status_code == 400
    assert (await client.put(f"{API}/cameras/{camera['id']}", json={"max_occupancy": "x"})).status_code == 400
    r = await client.put(f"{API}/cameras/{camera['id']}", json={"camera_type": "weird"})
    assert r.status_code == 400 and "camera_type must be one of entry_only, exit_only, bidirectional" in r.text
    assert (await client.put(f"{API}/cameras/nope", json={})).status_code == 422


# Virtual lines


async def test_create_line_returns_the_seed_shape(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client)
    body = {
        "camera_id": camera["id"],
        "line_name": "Entrance A",
        "x1": 0,
        "y1": 300,
        "x2": 1920,
        "y2": 300,
        "direction": "entry",
        "confidence_threshold": 0.5,
    }
    r = await client.post(f"{API}/lines", json=body)
    assert r.status_code == 201, r.text
    line = r.json()
    assert set(line) == LINE_FIELDS
    assert {
        k: line[k] for k in ("camera_id", "line_name", "x1", "y1", "x2", "y2", "direction", "is_active")
    } == {
        "camera_id": camera["id"],
        "line_name": "Entrance A",
        "x1": 0,
        "y1": 300,
        "x2": 1920,
        "y2": 300,
        "direction": "entry",
        "is_active": True,
    }
    assert '"x1":0,' in r.text  # whole coordinates are written as the seed writes them
    assert ISO_Z.match(line["created_at"])
    assert line["confidence_threshold"] == 0.5


async def test_line_errors(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client)
    base = {
        "camera_id": camera["id"],
        "line_name": "L",
        "x1": 0,
        "y1": 300,
        "x2": 1920,
        "y2": 300,
        "direction": "entry",
    }
    assert (await client.post(f"{API}/lines", json={**base, "direction": "sideways"})).status_code == 400
    assert (await client.post(f"{API}/lines", json={**base, "confidence_threshold": 1.5})).status_code == 400
    assert (
        await client.post(f"{API}/lines", json={k: v for k, v in base.items() if k != "x1"})
    ).status_code == 400
    r = await client.post(f"{API}/lines", json={**base, "camera_id": 999999999})
    assert r.status_code == 404 and r.json() == {"detail": "Camera 999999999 not found"}


async def test_camera_lines_line_details_and_update(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client)
    line = await make_line(client, camera["id"], "entry")
    other = await make_line(client, camera["id"], "exit")
    r = await client.get(f"{API}/cameras/{camera['id']}/lines")
    assert r.status_code == 200
    assert {x["id"] for x in r.json()} == {line["id"], other["id"]}
    assert all(
        {"id", "camera_id", "line_name", "x1", "y1", "x2", "y2", "direction", "is_active"} <= set(x)
        for x in r.json()
    )
    r = await client.get(f"{API}/lines/{line['id']}")
    assert r.status_code == 200 and r.json() == line
    r = await client.put(f"{API}/lines/{line['id']}", json={"confidence_threshold": 0.6})
    assert r.status_code == 200, r.text
    assert r.json() == {**line, "confidence_threshold": 0.6}
    r = await client.put(f"{API}/lines/{line['id']}", json={"direction": "bidirectional"})
    assert r.json()["direction"] == "bidirectional"
    assert (await client.get(f"{API}/lines/999999999")).status_code == 404
    assert (await client.put(f"{API}/lines/999999999", json={"line_name": "x"})).status_code == 404
    assert (
        await client.put(f"{API}/lines/{line['id']}", json={"confidence_threshold": 7})
    ).status_code == 400
    assert (await client.get(f"{API}/lines/one")).status_code == 422
    assert (await client.get(f"{API}/cameras/999999999/lines")).status_code == 404


# Live occupancy


async def test_live_occupancy_follows_crossings(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client, "GATE_A")
    line = await make_line(client, camera["id"], "bidirectional")
    r = await client.get(f"{API}/cameras/{camera['id']}/live")
    assert r.status_code == 200
    assert r.json() == {
        "camera_id": camera["id"],
        "current_occupancy": 0,
        "total_entries": 0,
        "total_exits": 0,
        "unique_persons": 0,
        "last_updated": r.json()["last_updated"],
    }
    for track in ("p1", "p2", "p3"):
        assert (await cross(client, "GATE_A", line["id"], "IN", track=track))["applied"]
    await cross(client, "GATE_A", line["id"], "OUT", track="p1")
    live = (await client.get(f"{API}/cameras/{camera['id']}/live")).json()
    assert {
        k: live[k]
        for k in ("camera_id", "current_occupancy", "total_entries", "total_exits", "unique_persons")
    } == {
        "camera_id": camera["id"],
        "current_occupancy": 2,
        "total_entries": 3,
        "total_exits": 1,
        "unique_persons": 3,
    }
    assert ISO_Z.match(live["last_updated"])
    assert (await client.get(f"{API}/cameras/999999999/live")).status_code == 404
    assert (await client.get(f"{API}/cameras/x/live")).status_code == 422


async def test_facility_live_sums_the_cameras(client: httpx.AsyncClient) -> None:
    a, b = await make_camera(client, "GATE_A"), await make_camera(client, "GATE_B")
    la, lb = await make_line(client, a["id"]), await make_line(client, b["id"])
    for _ in range(3):
        await cross(client, "GATE_A", la["id"], "IN")
    await cross(client, "GATE_B", lb["id"], "IN")
    await cross(client, "GATE_B", lb["id"], "IN")
    await cross(client, "GATE_B", lb["id"], "OUT")
    r = await client.get(f"{API}/facility/live")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "facility_occupancy",
        "total_entries_all_cameras",
        "total_exits_all_cameras",
        "cameras_active",
        "last_updated",
    }
    assert (
        body["facility_occupancy"],
        body["total_entries_all_cameras"],
        body["total_exits_all_cameras"],
        body["cameras_active"],
    ) == (4, 5, 1, 2)
    assert ISO_Z.match(body["last_updated"])


async def test_calibrate(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client)
    r = await client.post(
        f"{API}/cameras/{camera['id']}/calibrate",
        json={"occupancy_value": 50, "notes": "Manual headcount performed at 10:30"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {
        "status": "success",
        "camera_id": camera["id"],
        "occupancy_set_to": 50,
        "timestamp": body["timestamp"],
    }
    assert ISO_Z.match(body["timestamp"])
    assert (await client.get(f"{API}/cameras/{camera['id']}/live")).json()["current_occupancy"] == 50
    logs = (await client.get(f"{API}/cameras/{camera['id']}/logs")).json()
    assert any(g["is_manual_calibration"] and g["net_occupancy"] == 50 for g in logs), logs
    assert (await client.post(f"{API}/cameras/{camera['id']}/calibrate", json={})).status_code == 400
    r = await client.post(f"{API}/cameras/{camera['id']}/calibrate", json={"occupancy_value": -3})
    assert r.status_code == 400
    r = await client.post(f"{API}/cameras/999999999/calibrate", json={"occupancy_value": 1})
    assert r.status_code == 404


# History


async def test_logs(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client)
    line = await make_line(client, camera["id"])
    await cross(client, camera["camera_id"], line["id"], "IN", track="a")
    await cross(client, camera["camera_id"], line["id"], "IN", track="b")
    await cross(client, camera["camera_id"], line["id"], "OUT", track="a")
    r = await client.get(f"{API}/cameras/{camera['id']}/logs?hours=24")
    assert r.status_code == 200, r.text
    logs = r.json()
    assert logs and all(
        {"id", "camera_id", "entry_count", "exit_count", "net_occupancy", "timestamp", "tracked_persons"}
        <= set(g)
        for g in logs
    )
    assert sum(g["entry_count"] for g in logs) == 2 and sum(g["exit_count"] for g in logs) == 1
    assert logs[-1]["net_occupancy"] == 1
    assert all(ISO_Z.match(g["timestamp"]) for g in logs)
    assert (await client.get(f"{API}/cameras/{camera['id']}/logs")).json() == logs  # hours defaults to 24
    for bad in ("abc", "0", "-1", "2.5"):
        r = await client.get(f"{API}/cameras/{camera['id']}/logs", params={"hours": bad})
        assert r.status_code == 422, bad
        assert "hours" in r.json()["detail"]
    assert (await client.get(f"{API}/cameras/999999999/logs")).status_code == 404


async def _history_camera(client: httpx.AsyncClient) -> tuple[dict, datetime]:
    """A camera with crossings two hours ago (whole-minute timestamps), rolled up."""
    camera = await make_camera(client)
    line = await make_line(client, camera["id"])
    at = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=10, second=0, microsecond=0)
    for i in range(3):
        await cross(
            client,
            camera["camera_id"],
            line["id"],
            "IN",
            track=f"t{i}",
            occurred_at=(at + timedelta(minutes=i)).isoformat(),
        )
    await cross(
        client,
        camera["camera_id"],
        line["id"],
        "OUT",
        track="t0",
        occurred_at=(at + timedelta(minutes=5)).isoformat(),
    )
    for level in ("hourly", "daily", "monthly"):
        r = await client.post(
            f"{API}/aggregate", json={"camera_id": camera["id"], "aggregation_level": level}
        )
        assert r.status_code == 202
    return camera, at


async def _eventually(client: httpx.AsyncClient, url: str, params: dict | None = None) -> list[dict]:
    import asyncio

    for _ in range(100):
        r = await client.get(url, params=params)
        assert r.status_code == 200, r.text
        if r.json():
            return r.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} stayed empty")


async def test_hourly_daily_monthly(client: httpx.AsyncClient) -> None:
    camera, at = await _history_camera(client)
    cid = camera["id"]
    hours = await _eventually(client, f"{API}/cameras/{cid}/hourly", {"days": 7})
    row = next(h for h in hours if h["hour"] == at.strftime("%Y-%m-%d %H:00"))
    assert set(row) == {
        "hour",
        "camera_id",
        "entries",
        "exits",
        "avg_occupancy",
        "peak_occupancy",
        "unique_persons",
        "utc_offset",
        "start",
    }
    assert row["utc_offset"] == "+00:00" and row["start"] == at.strftime("%Y-%m-%dT%H:00:00+00:00")
    assert (row["camera_id"], row["entries"], row["exits"], row["peak_occupancy"], row["unique_persons"]) == (
        cid,
        3,
        1,
        3,
        3,
    )
    assert isinstance(row["avg_occupancy"], float)
    assert (await client.get(f"{API}/cameras/{cid}/hourly")).json() == hours  # days defaults to 7

    days = await _eventually(client, f"{API}/cameras/{cid}/daily", {"days": 30})
    day = next(d for d in days if d["date"] == at.strftime("%Y-%m-%d"))
    assert set(day) == {
        "date",
        "camera_id",
        "entries",
        "exits",
        "avg_occupancy",
        "peak_occupancy",
        "peak_hour",
        "unique_persons",
        "utc_offset",
        "start",
    }
    assert (day["entries"], day["exits"], day["peak_occupancy"], day["peak_hour"]) == (3, 1, 3, at.hour)

    months = await _eventually(client, f"{API}/cameras/{cid}/monthly", {"months": 12})
    month = next(m for m in months if m["period"] == at.strftime("%Y-%m"))
    assert set(month) == {
        "period",
        "camera_id",
        "entries",
        "exits",
        "avg_daily_occupancy",
        "peak_occupancy",
        "unique_persons",
    }
    assert (month["entries"], month["exits"], month["peak_occupancy"]) == (3, 1, 3)

    for path, name in (("hourly", "days"), ("daily", "days"), ("monthly", "months")):
        r = await client.get(f"{API}/cameras/{cid}/{path}", params={name: "many"})
        assert r.status_code == 422 and name in r.json()["detail"]
        assert (await client.get(f"{API}/cameras/999999999/{path}")).status_code == 404


async def test_history_in_a_time_zone(client: httpx.AsyncClient) -> None:
    camera, at = await _history_camera(client)
    for tz in ("Asia/Kolkata", "America/New_York"):
        local = at.astimezone(ZoneInfo(tz))
        hours = await _eventually(client, f"{API}/cameras/{camera['id']}/hourly", {"tz": tz})
        assert local.strftime("%Y-%m-%d %H:00") in {h["hour"] for h in hours}, (tz, hours)
        row = next(h for h in hours if h["hour"] == local.strftime("%Y-%m-%d %H:00"))
        assert row["start"] == local.replace(minute=0, second=0, microsecond=0).isoformat()
        assert row["utc_offset"] == row["start"][-6:]
        days = await _eventually(client, f"{API}/cameras/{camera['id']}/daily", {"tz": tz})
        assert next(d for d in days if d["date"] == local.strftime("%Y-%m-%d"))["peak_hour"] == local.hour
    r = await client.get(f"{API}/cameras/{camera['id']}/hourly", params={"tz": "Mars/Olympus"})
    assert r.status_code == 400 and "Mars/Olympus" in r.json()["detail"]


# Alerts


async def test_alerts_filter_and_resolve(client: httpx.AsyncClient) -> None:
    small = await make_camera(client, "SMALL", max_occupancy=2)
    other = await make_camera(client, "OTHER", max_occupancy=1)
    ls, lo = await make_line(client, small["id"]), await make_line(client, other["id"])
    for _ in range(3):
        await cross(client, "SMALL", ls["id"], "IN")
    for _ in range(2):
        await cross(client, "OTHER", lo["id"], "IN")
    r = await client.get(f"{API}/alerts")
    assert r.status_code == 200
    alerts = r.json()
    assert {a["camera_id"] for a in alerts} == {small["id"], other["id"]}
    exceeded = next(
        a for a in alerts if a["camera_id"] == small["id"] and a["alert_type"] == "capacity_exceeded"
    )
    assert set(exceeded) == {
        "id",
        "camera_id",
        "alert_type",
        "current_occupancy",
        "message",
        "is_resolved",
        "timestamp",
    }
    assert exceeded["current_occupancy"] == 3 and exceeded["is_resolved"] is False
    assert ISO_Z.match(exceeded["timestamp"]) and exceeded["message"]
    assert all(
        a["alert_type"]
        in {
            "capacity_exceeded",
            "capacity_warning",
            "anomaly_detected",
            "negative_count",
            "equipment_failure",
        }
        for a in alerts
    )

    only_small = (await client.get(f"{API}/alerts", params={"camera_id": small["id"]})).json()
    assert only_small and {a["camera_id"] for a in only_small} == {small["id"]}

    r = await client.put(f"{API}/alerts/{exceeded['id']}/resolve")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"status": "success", "alert_id": exceeded["id"], "resolved_at": body["resolved_at"]}
    assert ISO_Z.match(body["resolved_at"])
    assert exceeded["id"] not in {a["id"] for a in (await client.get(f"{API}/alerts")).json()}
    assert (await client.put(f"{API}/alerts/999999999/resolve")).status_code == 404
    assert (await client.put(f"{API}/alerts/abc/resolve")).status_code == 422
    assert (await client.get(f"{API}/alerts", params={"camera_id": "abc"})).status_code == 422


async def test_facility_stats(client: httpx.AsyncClient) -> None:
    a = await make_camera(client, "GATE_A", max_occupancy=10)
    await make_camera(client, "GATE_B", max_occupancy=10)
    line = await make_line(client, a["id"])
    for _ in range(5):
        await cross(client, "GATE_A", line["id"], "IN")
    r = await client.get(f"{API}/facility/stats")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "total_cameras",
        "active_cameras",
        "total_persons_in_facility",
        "capacity_utilization",
        "active_alerts",
        "timestamp",
    }
    assert (body["total_cameras"], body["active_cameras"], body["total_persons_in_facility"]) == (2, 2, 5)
    assert body["capacity_utilization"] == pytest.approx(25.0)
    assert body["active_alerts"] == 0
    assert ISO_Z.match(body["timestamp"])


# Administration


async def test_trigger_aggregation(client: httpx.AsyncClient) -> None:
    for level in ("hourly", "daily", "monthly"):
        r = await client.post(f"{API}/aggregate", json={"camera_id": None, "aggregation_level": level})
        assert r.status_code == 202, r.text
        body = r.json()
        assert body == {"status": "aggregation_triggered", "level": level, "timestamp": body["timestamp"]}
        assert ISO_Z.match(body["timestamp"])
    r = await client.post(f"{API}/aggregate", json={"aggregation_level": "weekly"})
    assert r.status_code == 400
    assert (await client.post(f"{API}/aggregate", json={"camera_id": 999999999})).status_code == 404


# Paths, methods and organisations


async def test_paths_are_exact(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/cameras/")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = await client.post(f"{API}/cameras/", json={"camera_id": "X"})
    assert r.status_code == 404  # never a redirect that would drop the body
    r = await client.delete(f"{API}/cameras")
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}


async def test_organisations_are_isolated(app, client: httpx.AsyncClient, auth: AuthKit) -> None:  # type: ignore[no-untyped-def]
    camera = await make_camera(client, "GATE_A")
    other_org = unique_org("other")
    async with http_client(app, bearer(auth, other_org)) as other:
        assert (await other.get(f"{API}/cameras")).json() == []
        r = await other.get(f"{API}/cameras/{camera['id']}")
        assert r.status_code == 404
        # the same external key is free in another organisation
        r = await other.post(f"{API}/cameras", json={"camera_id": "GATE_A"})
        assert r.status_code == 201


async def test_the_organisation_comes_from_the_credential(client: httpx.AsyncClient, org: str) -> None:
    await make_camera(client, "GATE_A")
    r = await client.get(f"{API}/cameras", headers={"X-Footfall-Org": unique_org("forged")})
    assert r.status_code == 403 and r.json()["detail"]
    r = await client.get(f"{API}/cameras", headers={"X-Footfall-Org": "Not A Valid Org!"})
    assert r.status_code == 400 and "organisation" in r.json()["detail"]
    assert len((await client.get(f"{API}/cameras", headers={"X-Footfall-Org": org})).json()) == 1


async def test_a_platform_admin_may_act_on_another_organisation(app, client, org, auth) -> None:  # type: ignore[no-untyped-def]
    camera = await make_camera(client, "GATE_A")
    admin = bearer(auth, unique_org("platform"), "platform_admin")
    async with http_client(app, {**admin, "X-Footfall-Org": org}) as c:
        assert (await c.get(f"{API}/cameras/{camera['id']}")).status_code == 200
    async with http_client(app, admin) as c:  # without the header: the admin's own organisation
        assert (await c.get(f"{API}/cameras/{camera['id']}")).status_code == 404


async def test_anonymous_and_bad_credentials_are_401(app) -> None:  # type: ignore[no-untyped-def]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "ff_nope"}, {"Authorization": "Basic x"}):
        async with http_client(app, headers) as c:
            for method, path in (("GET", f"{API}/cameras"), ("POST", f"{API}/cameras"), ("GET", f"{API}/alerts")):
                r = await c.request(method, path, json={"camera_id": "X"} if method == "POST" else None)
                assert r.status_code == 401, (headers, path, r.text)
                assert r.json() == {"detail": "Not authenticated"}
                assert r.headers["www-authenticate"] == "Bearer"


async def test_roles(app, client: httpx.AsyncClient, org: str, auth: AuthKit) -> None:
    camera = await make_camera(client, "GATE_A")
    async with http_client(app, bearer(auth, org, "analyst")) as analyst:
        assert (await analyst.get(f"{API}/cameras/{camera['id']}/live")).status_code == 200
        for method, path, body in (
            ("POST", f"{API}/cameras", {"camera_id": "B"}),
            ("PUT", f"{API}/cameras/{camera['id']}", {"camera_name": "x"}),
            ("POST", f"{API}/cameras/{camera['id']}/calibrate", {"occupancy_value": 3}),
            ("POST", f"{API}/aggregate", {}),
        ):
            r = await analyst.request(method, path, json=body)
            assert r.status_code == 403 and r.json()["detail"], (path, r.text)
    async with http_client(app, bearer(auth, org, "device")) as device:
        assert (await device.get(f"{API}/cameras")).status_code == 403
        assert (await device.post(f"{API}/cameras", json={"camera_id": "C"})).status_code == 403
