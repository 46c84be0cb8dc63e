"""Every OccupancyService RPC through a real grpc.aio server, with the seed document's examples."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from footfall.v1 import common_pb2, occupancy_pb2

from footfall.services.occupancy import OccupancyRuntime
from tests.occupancy.conftest import Api, create_camera, create_line

IN, OUT = common_pb2.CROSSING_DIRECTION_IN, common_pb2.CROSSING_DIRECTION_OUT
SEED_CAMERA = {"camera_id": "GATE_A", "camera_name": "Gate A Entrance", "location": "Main Gate", "camera_type": "entry_only",
                   "max_occupancy": 100, "resolution_width": 1920, "resolution_height": 1080}


async def expect_code(call, code: grpc.StatusCode) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, info.value.details()
    return info.value.details() or ""


async def cross(api: Api, event_id: str, direction: int = IN, *, camera: str = "GATE_A", line: str = "Entrance A",
                confidence: float = 0.9, track: str = "", at: datetime | None = None) -> occupancy_pb2.RecordCrossingResponse:
    request = occupancy_pb2.RecordCrossingRequest(event_id=event_id, camera_id=camera, line_name=line,
                                                  direction=direction, track_id=track or event_id, confidence=confidence)
    if at is not None:
        request.occurred_at.FromDatetime(at)
    return await api.RecordCrossing(request)


async def seed_camera(api: Api) -> tuple[occupancy_pb2.Camera, occupancy_pb2.VirtualLine]:
    camera = (await api.CreateCamera(**SEED_CAMERA)).camera
    line = (await api.CreateLine(camera_id=camera.id, line_name="Entrance A", x1=0, y1=300, x2=1920, y2=300,
                                 direction=common_pb2.LINE_DIRECTION_BIDIRECTIONAL, confidence_threshold=0.5)).line
    return camera, line


async def test_cameras_create_get_list_update(api: Api) -> None:
    camera = (await api.CreateCamera(**SEED_CAMERA)).camera
    assert (camera.camera_id, camera.camera_name, camera.location, camera.camera_type, camera.is_active,
            camera.max_occupancy) == ("GATE_A", "Gate A Entrance", "Main Gate", "entry_only", True, 100)
    assert camera.id > 0 and camera.created_at.seconds > 0

    details = await expect_code(api.CreateCamera(**SEED_CAMERA), grpc.StatusCode.ALREADY_EXISTS)
    assert details == "Camera with ID 'GATE_A' already exists"

    assert (await api.GetCamera(id=camera.id)).camera == camera
    assert await expect_code(api.GetCamera(id=999_999_999), grpc.StatusCode.NOT_FOUND) == "Camera 999999999 not found"

    updated = (await api.UpdateCamera(id=camera.id, camera_name="Gate A Main Entrance", max_occupancy=120)).camera
    assert (updated.camera_name, updated.max_occupancy, updated.location) == ("Gate A Main Entrance", 120, "Main Gate")
    await expect_code(api.UpdateCamera(id=camera.id, max_occupancy=-5), grpc.StatusCode.INVALID_ARGUMENT)
    await expect_code(api.UpdateCamera(id=999_999_999, camera_name="x"), grpc.StatusCode.NOT_FOUND)
    await expect_code(api.CreateCamera(camera_id=""), grpc.StatusCode.INVALID_ARGUMENT)
    weird = await expect_code(api.CreateCamera(camera_id="GATE_W", camera_type="weird"),
                              grpc.StatusCode.INVALID_ARGUMENT)
    assert weird == "camera_type must be one of entry_only, exit_only, bidirectional (or empty), not 'weird'"
    await expect_code(api.UpdateCamera(id=camera.id, camera_type="weird"), grpc.StatusCode.INVALID_ARGUMENT)

    minimal = (await api.CreateCamera(camera_id="GATE_B")).camera  # the seed's curl example names no camera
    assert minimal.camera_name == "GATE_B"
    await api.UpdateCamera(id=minimal.id, is_active=False)
    active = (await api.ListCameras()).cameras
    assert [c.camera_id for c in active] == ["GATE_A"]
    everything = (await api.ListCameras(include_inactive=True)).cameras
    assert [c.camera_id for c in everything] == ["GATE_A", "GATE_B"]


async def test_camera_pages(api: Api) -> None:
    for i in range(5):
        await api.CreateCamera(camera_id=f"CAM_{i}")
    seen, token = [], ""
    while True:
        page = await api.ListCameras(page_size=2, page_token=token)
        assert len(page.cameras) <= 2
        seen += [c.camera_id for c in page.cameras]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"CAM_{i}" for i in range(5)]
    await expect_code(api.ListCameras(page_token="garbage!"), grpc.StatusCode.INVALID_ARGUMENT)


async def test_lines_create_get_list_update_and_validation(api: Api) -> None:
    camera, line = await seed_camera(api)
    assert (line.camera_id, line.line_name, line.x1, line.y1, line.x2, line.y2, line.direction, line.is_active) == (
        camera.id, "Entrance A", 0, 300, 1920, 300, common_pb2.LINE_DIRECTION_BIDIRECTIONAL, True)
    assert line.confidence_threshold == 0.5 and line.created_at.seconds > 0

    default = (await api.CreateLine(camera_id=camera.id, line_name="Side", x1=10, y1=10, x2=10, y2=500,
                                    direction=common_pb2.LINE_DIRECTION_ENTRY)).line
    assert default.confidence_threshold == 0.5  # unset -> 0.5

    assert (await api.GetLine(id=line.id)).line == line
    assert [ln.line_name for ln in (await api.ListLines(camera_id=camera.id)).lines] == ["Entrance A", "Side"]
    await expect_code(api.ListLines(camera_id=999_999_999), grpc.StatusCode.NOT_FOUND)
    await expect_code(api.GetLine(id=999_999_999), grpc.StatusCode.NOT_FOUND)

    updated = (await api.UpdateLine(id=line.id, confidence_threshold=0.6)).line
    assert updated.confidence_threshold == 0.6 and updated.x2 == 1920 and updated.direction == line.direction

    bad = {
        "outside the frame": {"x1": 0, "y1": 300, "x2": 1921, "y2": 300},
        "negative": {"x1": -1, "y1": 300, "x2": 100, "y2": 300},
        "zero length": {"x1": 5, "y1": 5, "x2": 5, "y2": 5},
        "not finite": {"x1": float("nan"), "y1": 5, "x2": 5, "y2": 5},
    }
    for coords in bad.values():
        await expect_code(api.CreateLine(camera_id=camera.id, line_name="bad", direction=common_pb2.LINE_DIRECTION_ENTRY,
                                         **coords), grpc.StatusCode.INVALID_ARGUMENT)
    details = await expect_code(api.CreateLine(camera_id=camera.id, line_name="bad", x1=0, y1=0, x2=10, y2=10),
                                grpc.StatusCode.INVALID_ARGUMENT)
    assert "direction is required" in details
    await expect_code(api.CreateLine(camera_id=camera.id, line_name="bad", x1=0, y1=0, x2=10, y2=10,
                                     direction=common_pb2.LINE_DIRECTION_ENTRY, confidence_threshold=1.5),
                      grpc.StatusCode.INVALID_ARGUMENT)
    await expect_code(api.CreateLine(camera_id=999_999_999, line_name="x", x1=0, y1=0, x2=10, y2=10,
                                     direction=common_pb2.LINE_DIRECTION_ENTRY), grpc.StatusCode.NOT_FOUND)
    await expect_code(api.UpdateLine(id=line.id, x2=5000), grpc.StatusCode.INVALID_ARGUMENT)
    await expect_code(api.CreateLine(camera_id=camera.id, line_name="Entrance A", x1=0, y1=0, x2=10, y2=10,
                                     direction=common_pb2.LINE_DIRECTION_ENTRY), grpc.StatusCode.ALREADY_EXISTS)


async def test_record_crossing_live_threshold_and_idempotency(api: Api) -> None:
    camera, _ = await seed_camera(api)
    first = await cross(api, "e1")
    assert first.applied and first.reason == "" and first.occupancy.current_occupancy == 1
    again = await cross(api, "e1")
    assert not again.applied and again.reason == "event already processed" and again.occupancy.total_entries == 1
    low = await cross(api, "e2", confidence=0.4)
    assert not low.applied and "below" in low.reason
    await cross(api, "e3", track="p1")
    await cross(api, "e4", OUT, track="p1")
    live = (await api.GetLiveOccupancy(camera_id=camera.id)).occupancy
    assert (live.camera_id, live.current_occupancy, live.total_entries, live.total_exits, live.unique_persons) == (
        camera.id, 1, 2, 1, 2)
    assert live.last_updated.seconds > 0

    await expect_code(cross(api, "e5", camera="NOPE"), grpc.StatusCode.NOT_FOUND)
    await expect_code(cross(api, "e6", line="nope"), grpc.StatusCode.NOT_FOUND)
    await expect_code(cross(api, "", line="nope"), grpc.StatusCode.INVALID_ARGUMENT)
    await expect_code(cross(api, "e7", common_pb2.CROSSING_DIRECTION_UNSPECIFIED), grpc.StatusCode.INVALID_ARGUMENT)
    await expect_code(api.GetLiveOccupancy(camera_id=999_999_999), grpc.StatusCode.NOT_FOUND)


async def test_entry_and_exit_lines(api: Api) -> None:
    camera = await create_camera(api)
    await create_line(api, camera.id, "in", common_pb2.LINE_DIRECTION_ENTRY)
    await create_line(api, camera.id, "out", common_pb2.LINE_DIRECTION_EXIT, y1=500, y2=500)
    assert (await cross(api, "a", IN, line="in")).applied
    assert not (await cross(api, "b", OUT, line="in")).applied  # an entry line ignores out crossings
    assert not (await cross(api, "c", IN, line="out")).applied  # an exit line ignores in crossings
    assert (await cross(api, "d", OUT, line="out")).applied      # and counts out crossings as exits
    live = (await api.GetLiveOccupancy(camera_id=camera.id)).occupancy
    assert (live.total_entries, live.total_exits, live.current_occupancy) == (1, 1, 0)


async def test_facility_live_and_stats(api: Api) -> None:
    _a, _ = await seed_camera(api)
    b = await create_camera(api, "GATE_B", max_occupancy=100)
    await create_line(api, b.id, "door")
    c = await create_camera(api, "STOCK")  # no capacity
    await create_line(api, c.id, "door")
    for i in range(60):
        await cross(api, f"a{i}")
    for i in range(15):
        await cross(api, f"b{i}", camera="GATE_B", line="door")
    for i in range(5):
        await cross(api, f"c{i}", camera="STOCK", line="door")
    await cross(api, "b-out", OUT, camera="GATE_B", line="door")
    facility = (await api.GetFacilityOccupancy()).occupancy
    assert (facility.facility_occupancy, facility.total_entries_all_cameras, facility.total_exits_all_cameras,
            facility.cameras_active) == (79, 80, 1, 3)
    stats = (await api.GetFacilityStats()).stats
    assert (stats.total_cameras, stats.active_cameras, stats.total_persons_in_facility) == (3, 3, 79)
    assert stats.capacity_utilization == 37.0  # (60 + 14) of (100 + 100)
    assert stats.active_alerts == 0 and stats.timestamp.seconds > 0
    await api.UpdateCamera(id=c.id, is_active=False)
    facility = (await api.GetFacilityOccupancy()).occupancy
    assert (facility.facility_occupancy, facility.cameras_active) == (74, 2)
    assert (await api.GetFacilityStats()).stats.total_cameras == 3


async def test_calibration_and_logs(api: Api) -> None:
    camera, _ = await seed_camera(api)
    now = datetime.now(UTC)
    # On a 5-minute boundary: the five crossings 0-4 s after it share one bucket whatever the time now.
    start = now - timedelta(minutes=30)
    start = start.replace(minute=start.minute - start.minute % 5, second=0, microsecond=0)
    for i in range(5):
        await cross(api, f"e{i}", at=start + timedelta(seconds=i), track=f"p{i % 3}")
    await cross(api, "x1", OUT, at=start + timedelta(minutes=10))
    result = await api.CalibrateOccupancy(camera_id=camera.id, occupancy_value=50, notes="Manual headcount performed at 10:30")
    assert (result.camera_id, result.occupancy_set_to) == (camera.id, 50) and result.timestamp.seconds > 0
    live = (await api.GetLiveOccupancy(camera_id=camera.id)).occupancy
    assert (live.current_occupancy, live.total_entries, live.total_exits) == (50, 5, 1)
    await expect_code(api.CalibrateOccupancy(camera_id=camera.id, occupancy_value=-1), grpc.StatusCode.INVALID_ARGUMENT)
    await expect_code(api.CalibrateOccupancy(camera_id=999_999_999, occupancy_value=1), grpc.StatusCode.NOT_FOUND)

    logs = (await api.ListOccupancyLogs(camera_id=camera.id, hours=24)).logs
    periods = [entry for entry in logs if not entry.is_manual_calibration]
    calibrations = [entry for entry in logs if entry.is_manual_calibration]
    assert [(p.entry_count, p.exit_count, p.net_occupancy, p.tracked_persons) for p in periods] == [(5, 0, 5, 3), (0, 1, 4, 1)]
    assert all(p.timestamp.ToDatetime(tzinfo=UTC).minute % 5 == 0 for p in periods)
    assert [(c.net_occupancy, c.notes) for c in calibrations] == [(50, "Manual headcount performed at 10:30")]
    assert logs[-1].is_manual_calibration  # ordered by time
    assert len({entry.id for entry in logs}) == len(logs)
    assert (await api.ListOccupancyLogs(camera_id=camera.id, hours=0)).logs == logs  # 0 -> 24 hours
    await expect_code(api.ListOccupancyLogs(camera_id=999_999_999), grpc.StatusCode.NOT_FOUND)


async def test_rollup_rpcs_and_trigger_aggregation(grpc_runtime: tuple[OccupancyRuntime, Api]) -> None:
    runtime, api = grpc_runtime
    camera, _ = await seed_camera(api)
    at = datetime.now(UTC) - timedelta(hours=1)
    for i in range(4):
        await cross(api, f"e{i}", at=at, track=f"p{i}")
    hourly = (await api.ListHourlyOccupancy(camera_id=camera.id, days=7)).hours
    assert [(h.entries, h.exits, h.peak_occupancy, h.unique_persons) for h in hourly] == [(4, 0, 4, 4)]
    assert hourly[0].hour == at.strftime("%Y-%m-%d %H:00") and hourly[0].avg_occupancy > 0
    daily = (await api.ListDailyOccupancy(camera_id=camera.id)).days
    assert daily[0].entries == 4 and daily[0].peak_hour == at.hour
    monthly = (await api.ListMonthlyOccupancy(camera_id=camera.id)).months
    assert monthly[0].period == at.strftime("%Y-%m") and monthly[0].avg_daily_occupancy > 0

    accepted = await api.TriggerAggregation(camera_id=camera.id, level=occupancy_pb2.AGGREGATION_LEVEL_HOURLY)
    assert accepted.level == occupancy_pb2.AGGREGATION_LEVEL_HOURLY and accepted.timestamp.seconds > 0
    await api.TriggerAggregation()  # every camera, every level
    await expect_code(api.TriggerAggregation(camera_id=999_999_999), grpc.StatusCode.NOT_FOUND)
    # the results do not change once periods are materialized: wait for the background aggregations, which
    # must have materialized the closed hour (an aggregation that failed wrote nothing, and logged why)
    await runtime.service.wait_background()
    async with runtime.service.db.tenant(api.org) as conn:
        cur = await conn.execute(
            "SELECT level, count(*) AS n FROM occupancy_rollups WHERE camera_id = %s GROUP BY level", (camera.id,))
        materialized = {r["level"]: r["n"] for r in await cur.fetchall()}
    assert materialized.get("hourly", 0) >= 1, materialized
    assert (await api.ListHourlyOccupancy(camera_id=camera.id, days=7)).hours == hourly
    await expect_code(api.ListHourlyOccupancy(camera_id=camera.id, time_zone="Mars/Base"), grpc.StatusCode.INVALID_ARGUMENT)
    await expect_code(api.ListDailyOccupancy(camera_id=999_999_999), grpc.StatusCode.NOT_FOUND)


async def test_alerts_list_and_resolve(api: Api) -> None:
    camera = await create_camera(api, max_occupancy=2)
    await create_line(api, camera.id)
    for i in range(3):
        await cross(api, f"e{i}", line="door")
    alerts = (await api.ListAlerts()).alerts
    kinds = {a.alert_type: a for a in alerts}
    assert set(kinds) == {occupancy_pb2.ALERT_TYPE_CAPACITY_WARNING, occupancy_pb2.ALERT_TYPE_CAPACITY_EXCEEDED}
    exceeded = kinds[occupancy_pb2.ALERT_TYPE_CAPACITY_EXCEEDED]
    assert (exceeded.message, exceeded.current_occupancy, exceeded.is_resolved) == (
        "Occupancy (3) exceeds capacity (2)", 3, False)
    assert (await api.ListAlerts(camera_id=camera.id)).alerts == alerts
    await expect_code(api.ListAlerts(camera_id=999_999_999), grpc.StatusCode.NOT_FOUND)

    resolved = await api.ResolveAlert(id=exceeded.id)
    assert resolved.alert_id == exceeded.id and resolved.resolved_at.seconds > 0
    open_now = (await api.ListAlerts()).alerts
    assert [a.alert_type for a in open_now] == [occupancy_pb2.ALERT_TYPE_CAPACITY_WARNING]
    everything = (await api.ListAlerts(include_resolved=True)).alerts
    assert {a.id: a.is_resolved for a in everything}[exceeded.id] is True
    await expect_code(api.ResolveAlert(id=999_999_999), grpc.StatusCode.NOT_FOUND)
    await cross(api, "e9", line="door")  # still over capacity: raised again now that it was resolved
    assert len((await api.ListAlerts()).alerts) == 2


async def test_watch_occupancy_streams_current_value_changes_and_alerts(api: Api) -> None:
    camera = await create_camera(api, max_occupancy=2)
    other = await create_camera(api, "OTHER")
    await create_line(api, camera.id)
    await create_line(api, other.id)
    await cross(api, "e0", line="door")
    stream = api.WatchOccupancy(camera_id=camera.id)
    first = await asyncio.wait_for(stream.read(), 30)
    assert first.occupancy.current_occupancy == 1 and first.occupancy.camera_id == camera.id

    await cross(api, "o1", camera="OTHER", line="door")  # another camera's change is not streamed
    await cross(api, "e1", line="door")
    await cross(api, "e2", line="door")
    seen_levels, alerts = [], []
    while len(seen_levels) < 2 or len(alerts) < 2:
        update = await asyncio.wait_for(stream.read(), 30)
        if update.HasField("alert"):
            alerts.append(update.alert.alert_type)
        else:
            assert update.occupancy.camera_id == camera.id
            seen_levels.append(update.occupancy.current_occupancy)
    assert seen_levels == [2, 3]
    assert alerts == [occupancy_pb2.ALERT_TYPE_CAPACITY_WARNING, occupancy_pb2.ALERT_TYPE_CAPACITY_EXCEEDED]
    stream.cancel()

    missing = api.WatchOccupancy(camera_id=999_999_999)
    await expect_code(missing.read(), grpc.StatusCode.NOT_FOUND)


async def test_tenant_isolation_over_grpc(api: Api) -> None:
    camera, line = await seed_camera(api)
    await cross(api, "e1")
    other = api.as_org("other-" + api.org)
    assert (await other.ListCameras(include_inactive=True)).cameras == []
    await expect_code(other.GetCamera(id=camera.id), grpc.StatusCode.NOT_FOUND)
    await expect_code(other.UpdateCamera(id=camera.id, camera_name="hijacked"), grpc.StatusCode.NOT_FOUND)
    await expect_code(other.GetLine(id=line.id), grpc.StatusCode.NOT_FOUND)
    await expect_code(other.UpdateLine(id=line.id, line_name="hijacked"), grpc.StatusCode.NOT_FOUND)
    await expect_code(other.GetLiveOccupancy(camera_id=camera.id), grpc.StatusCode.NOT_FOUND)
    await expect_code(other.CalibrateOccupancy(camera_id=camera.id, occupancy_value=99), grpc.StatusCode.NOT_FOUND)
    await expect_code(other.ListOccupancyLogs(camera_id=camera.id), grpc.StatusCode.NOT_FOUND)
    await expect_code(cross(other, "e2"), grpc.StatusCode.NOT_FOUND)  # its GATE_A does not exist
    # the same external key is free in another organisation
    assert (await other.CreateCamera(camera_id="GATE_A")).camera.id != camera.id
    assert (await other.GetFacilityOccupancy()).occupancy.facility_occupancy == 0
    assert (await api.GetCamera(id=camera.id)).camera.camera_name == "Gate A Entrance"
    assert (await api.GetLiveOccupancy(camera_id=camera.id)).occupancy.current_occupancy == 1
    bad_org = api.stub.ListCameras(occupancy_pb2.ListCamerasRequest(),
                                   metadata=api.auth.metadata(api.org, "platform_admin", acting_on="Bad Org!"))
    await expect_code(bad_org, grpc.StatusCode.INVALID_ARGUMENT)
    anonymous = api.stub.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=(("x-footfall-org", api.org),))
    assert await expect_code(anonymous, grpc.StatusCode.UNAUTHENTICATED) == "Not authenticated"
    forged = api.stub.GetCamera(occupancy_pb2.GetCameraRequest(id=camera.id),
                                metadata=api.auth.metadata(other.org, acting_on=api.org))
    await expect_code(forged, grpc.StatusCode.PERMISSION_DENIED)
    analyst = api.stub.CalibrateOccupancy(occupancy_pb2.CalibrateOccupancyRequest(camera_id=camera.id, occupancy_value=5),
                                          metadata=api.auth.metadata(api.org, "analyst"))
    await expect_code(analyst, grpc.StatusCode.PERMISSION_DENIED)


async def test_credential_org_when_no_org_metadata(api: Api) -> None:
    created = await api.CreateCamera(camera_id=f"CRED_{api.org}")
    only_credential = (("authorization", f"Bearer {api.auth.token(api.org)}"),)
    reply = await api.stub.ListCameras(occupancy_pb2.ListCamerasRequest(page_size=1000), metadata=only_credential,
                                       timeout=30)
    assert created.camera.id in [c.id for c in reply.cameras]  # answered for the credential's organisation
