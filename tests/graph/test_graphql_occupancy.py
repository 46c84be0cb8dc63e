"""GraphQL queries and mutations: the same capabilities as REST, against the real occupancy service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import AuthKit, unique_org
from tests.graph.conftest import bearer, cross, gql, gql_data, http_client, make_camera, make_line

CAMERA_FIELDS = (
    "id cameraId cameraName location cameraType isActive maxOccupancy resolutionWidth resolutionHeight"
)


async def test_camera_and_line_mutations_and_queries(client: httpx.AsyncClient) -> None:
    data = await gql_data(
        client,
        f"""
      mutation {{ createCamera(input: {{cameraId: "GATE_A", cameraName: "Gate A Entrance", location: "Main Gate",
                                       cameraType: "entry_only", maxOccupancy: 100}}) {{ {CAMERA_FIELDS} }} }}""",
    )
    camera = data["createCamera"]
    assert camera["cameraId"] == "GATE_A" and camera["maxOccupancy"] == 100 and camera["isActive"] is True
    cid = camera["id"]

    data = await gql_data(
        client,
        """
      mutation($input: LineInput!) { createLine(input: $input) {
        id cameraId lineName x1 y1 x2 y2 direction confidenceThreshold isActive createdAt } }""",
        {
            "input": {
                "cameraId": cid,
                "lineName": "Entrance A",
                "x1": 0,
                "y1": 300,
                "x2": 1920,
                "y2": 300,
                "direction": "ENTRY",
            }
        },
    )
    line = data["createLine"]
    assert (line["cameraId"], line["direction"], line["confidenceThreshold"]) == (cid, "ENTRY", 0.5)

    data = await gql_data(
        client,
        """
      mutation($id: ID!, $lid: ID!) {
        updateCamera(id: $id, input: {cameraName: "Gate A Main Entrance", maxOccupancy: 120}) { cameraName maxOccupancy location }
        updateLine(id: $lid, input: {confidenceThreshold: 0.6, direction: BIDIRECTIONAL}) { confidenceThreshold direction lineName }
      }""",
        {"id": cid, "lid": line["id"]},
    )
    assert data["updateCamera"] == {
        "cameraName": "Gate A Main Entrance",
        "maxOccupancy": 120,
        "location": "Main Gate",
    }
    assert data["updateLine"] == {
        "confidenceThreshold": 0.6,
        "direction": "BIDIRECTIONAL",
        "lineName": "Entrance A",
    }

    data = await gql_data(
        client,
        """
      query($id: ID!, $lid: ID!) {
        cameras { id cameraId }
        camera(id: $id) { cameraName lines { id lineName } }
        line(id: $lid) { id camera { cameraId } }
        lines(cameraId: $id) { id }
        missing: camera(id: "999999999") { id }
      }""",
        {"id": cid, "lid": line["id"]},
    )
    assert data["cameras"] == [{"id": cid, "cameraId": "GATE_A"}]
    assert data["camera"] == {
        "cameraName": "Gate A Main Entrance",
        "lines": [{"id": line["id"], "lineName": "Entrance A"}],
    }
    assert data["line"] == {"id": line["id"], "camera": {"cameraId": "GATE_A"}}
    assert data["lines"] == [{"id": line["id"]}]
    assert data["missing"] is None


async def test_live_facility_calibrate_and_record_crossing(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client, "GATE_A", max_occupancy=10)
    line = await make_line(client, camera["id"])
    result = await cross(client, "GATE_A", line["id"], "IN", track="p1", event_id="evt-1")
    assert result["applied"] is True and result["occupancy"]["currentOccupancy"] == 1
    again = await cross(client, "GATE_A", line["id"], "IN", track="p1", event_id="evt-1")
    assert again["applied"] is False and again["reason"]  # idempotent by event id
    low = await cross(client, "GATE_A", line["id"], "IN", confidence=0.1)
    assert low["applied"] is False

    cid = str(camera["id"])
    data = await gql_data(
        client,
        """
      query($id: ID!) {
        liveOccupancy(cameraId: $id) { cameraId currentOccupancy totalEntries totalExits uniquePersons lastUpdated }
        camera(id: $id) { live { currentOccupancy } }
        facilityOccupancy { facilityOccupancy totalEntriesAllCameras totalExitsAllCameras camerasActive lastUpdated }
        facilityStats { totalCameras activeCameras totalPersonsInFacility capacityUtilization activeAlerts timestamp }
      }""",
        {"id": cid},
    )
    live = data["liveOccupancy"]
    assert (
        live["cameraId"],
        live["currentOccupancy"],
        live["totalEntries"],
        live["totalExits"],
        live["uniquePersons"],
    ) == (cid, 1, 1, 0, 1)
    assert datetime.fromisoformat(live["lastUpdated"]).tzinfo is not None
    assert data["camera"]["live"]["currentOccupancy"] == 1
    assert (
        data["facilityOccupancy"]["facilityOccupancy"] == 1
        and data["facilityOccupancy"]["camerasActive"] == 1
    )
    assert data["facilityStats"]["totalPersonsInFacility"] == 1
    assert abs(data["facilityStats"]["capacityUtilization"] - 10.0) < 1e-6

    data = await gql_data(
        client,
        """
      mutation($id: ID!) { calibrateOccupancy(cameraId: $id, occupancyValue: 7, notes: "headcount") {
        cameraId occupancySetTo timestamp } }""",
        {"id": cid},
    )
    assert data["calibrateOccupancy"]["cameraId"] == cid and data["calibrateOccupancy"]["occupancySetTo"] == 7
    data = await gql_data(
        client,
        """
      query($id: ID!) { liveOccupancy(cameraId: $id) { currentOccupancy }
                        occupancyLogs(cameraId: $id, hours: 24) { isManualCalibration netOccupancy notes } }""",
        {"id": cid},
    )
    assert data["liveOccupancy"]["currentOccupancy"] == 7
    assert {"isManualCalibration": True, "netOccupancy": 7, "notes": "headcount"} in data["occupancyLogs"]


async def test_history_alerts_and_aggregation(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client, "GATE_A", max_occupancy=2)
    line = await make_line(client, camera["id"])
    at = (datetime.now(UTC) - timedelta(hours=1)).replace(minute=20, second=0, microsecond=0)
    for i in range(3):
        await cross(client, "GATE_A", line["id"], "IN", occurred_at=(at + timedelta(minutes=i)).isoformat())
    data = await gql_data(
        client,
        """
      mutation($id: ID!) {
        h: triggerAggregation(level: HOURLY, cameraId: $id) { level timestamp }
        d: triggerAggregation(level: DAILY) { level }
        m: triggerAggregation(level: MONTHLY, cameraId: $id) { level }
      }""",
        {"id": str(camera["id"])},
    )
    assert (data["h"]["level"], data["d"]["level"], data["m"]["level"]) == ("HOURLY", "DAILY", "MONTHLY")

    import asyncio

    query = """
      query($id: ID!) {
        hourlyOccupancy(cameraId: $id, days: 2, timeZone: "UTC") { hour entries exits peakOccupancy uniquePersons avgOccupancy }
        dailyOccupancy(cameraId: $id) { date entries peakHour }
        monthlyOccupancy(cameraId: $id, months: 2) { period entries avgDailyOccupancy }
        camera(id: $id) { hourly(timeZone: "Asia/Kolkata") { hour } daily { date } monthly { period } logs { entryCount } }
      }"""
    for _ in range(100):
        data = await gql_data(client, query, {"id": str(camera["id"])})
        if data["hourlyOccupancy"] and data["dailyOccupancy"] and data["monthlyOccupancy"]:
            break
        await asyncio.sleep(0.1)
    row = next(h for h in data["hourlyOccupancy"] if h["hour"] == at.strftime("%Y-%m-%d %H:00"))
    assert (row["entries"], row["exits"], row["peakOccupancy"], row["uniquePersons"]) == (3, 0, 3, 3)
    assert next(d for d in data["dailyOccupancy"] if d["date"] == at.strftime("%Y-%m-%d"))["entries"] == 3
    assert next(m for m in data["monthlyOccupancy"] if m["period"] == at.strftime("%Y-%m"))["entries"] == 3
    assert data["camera"]["hourly"] and data["camera"]["logs"]

    data = await gql_data(
        client,
        """
      query($id: ID!) { alerts { id alertType cameraId isResolved currentOccupancy message timestamp }
                        camera(id: $id) { alerts { id } } }""",
        {"id": str(camera["id"])},
    )
    exceeded = next(a for a in data["alerts"] if a["alertType"] == "CAPACITY_EXCEEDED")
    assert exceeded["cameraId"] == str(camera["id"]) and exceeded["isResolved"] is False
    assert {"id": exceeded["id"]} in data["camera"]["alerts"]
    data = await gql_data(
        client, "mutation($id: ID!) { resolveAlert(id: $id) { alertId resolvedAt } }", {"id": exceeded["id"]}
    )
    assert data["resolveAlert"]["alertId"] == exceeded["id"] and data["resolveAlert"]["resolvedAt"]
    data = await gql_data(client, "{ alerts { id } all: alerts(includeResolved: true) { id isResolved } }")
    assert exceeded["id"] not in {a["id"] for a in data["alerts"]}
    assert {"id": exceeded["id"], "isResolved": True} in data["all"]


async def test_errors_carry_codes(client: httpx.AsyncClient) -> None:
    await make_camera(client, "GATE_A")
    body = await gql(client, 'mutation { createCamera(input: {cameraId: "GATE_A", cameraName: "x"}) { id } }')
    assert body["errors"][0]["extensions"]["code"] == "ALREADY_EXISTS"
    assert body["errors"][0]["message"] == "Camera with ID 'GATE_A' already exists"
    body = await gql(client, '{ liveOccupancy(cameraId: "999999999") { currentOccupancy } }')
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["message"] == "Camera 999999999 not found"
    body = await gql(client, '{ liveOccupancy(cameraId: "abc") { currentOccupancy } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql(client, '{ occupancyLogs(cameraId: "1", hours: 0) { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql(client, '{ hourlyOccupancy(cameraId: "1", timeZone: "Mars/Olympus") { hour } }')
    assert body["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND")


async def test_graphql_organisations_are_isolated(app, client: httpx.AsyncClient, auth: AuthKit) -> None:  # type: ignore[no-untyped-def]
    camera = await make_camera(client, "GATE_A")
    query = {"query": '{ cameras { id } camera(id: "%s") { id } }' % camera["id"]}
    async with http_client(app, bearer(auth, unique_org("other"))) as other:
        assert (await other.post("/graphql", json=query)).json()["data"] == {"cameras": [], "camera": None}
    r = await client.post("/graphql", json=query, headers={"X-Footfall-Org": "someone-else"})
    assert r.status_code == 403  # an org admin may not name another organisation
    r = await client.post("/graphql", json=query, headers={"X-Footfall-Org": "BAD ORG"})
    assert r.status_code == 400 and "organisation" in r.json()["detail"]


async def test_graphql_needs_a_login_and_the_right_role(app, client, org: str, auth: AuthKit) -> None:  # type: ignore[no-untyped-def]
    async with http_client(app) as anonymous:
        for r in (
            await anonymous.post("/graphql", json={"query": "{ cameras { id } }"}),
            await anonymous.get("/graphql", headers={"accept": "text/html"}),
        ):
            assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}
    camera = await make_camera(client, "GATE_A")
    line = await make_line(client, camera["id"])
    create = 'mutation { createCamera(input: {cameraId: "B"}) { id } }'
    async with http_client(app, bearer(auth, org, "analyst")) as analyst:
        assert len((await gql_data(analyst, "{ cameras { id } }"))["cameras"]) == 1
        body = await gql(analyst, create)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with http_client(app, bearer(auth, org, "device")) as device:
        body = await gql(device, "{ cameras { id } }")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await cross(device, "GATE_A", line["id"], "IN"))["applied"]  # devices feed crossings in
        assert (await gql(device, create))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_nested_fields_cost_one_call_per_camera(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client, "GATE_A")
    await make_line(client, camera["id"])
    await make_line(client, camera["id"])
    deep = "{ cameras { id lines { id camera { id lines { id camera { id lines { id } } } } } } }"
    data = await gql_data(client, deep)
    lines = data["cameras"][0]["lines"]
    assert len(lines) == 2 and all(len(x["camera"]["lines"]) == 2 for x in lines)
    assert lines[0]["camera"]["lines"][0]["camera"]["id"] == str(camera["id"])


async def test_federation_entities(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client, "GATE_A")
    line = await make_line(client, camera["id"])
    data = await gql_data(
        client,
        """
      query($reps: [_Any!]!) { _entities(representations: $reps) {
        ... on Camera { id cameraId } ... on VirtualLine { id lineName } } }""",
        {
            "reps": [
                {"__typename": "Camera", "id": str(camera["id"])},
                {"__typename": "VirtualLine", "id": str(line["id"])},
            ]
        },
    )
    assert data["_entities"] == [
        {"id": str(camera["id"]), "cameraId": "GATE_A"},
        {"id": str(line["id"]), "lineName": line["line_name"]},
    ]
    sdl = (await gql_data(client, "{ _service { sdl } }"))["_service"]["sdl"]
    assert 'type Camera @key(fields: "id")' in sdl and 'type VirtualLine @key(fields: "id")' in sdl
    assert "federation/v2.11" in sdl


async def test_graphiql_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200 and "graphiql" in r.text.lower()
    assert "unpkg" not in r.text and "cdn" not in r.text and "https://" not in r.text  # the package's own assets
    for asset in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js",
                  "init.js"):
        assert f"static/graphiql/{asset}" in r.text
        assert (await client.get(f"/static/graphiql/{asset}")).status_code == 200, asset
