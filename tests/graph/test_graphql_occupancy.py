"""GraphQL queries and mutations: the same capabilities as REST, against the real occupancy service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import AuthKit, unique_org
from tests.graph.conftest import bearer, cross, gql, gql_data, http_client, make_camera, make_line

CAMERA_FIELDS = "id cameraName location cameraType isActive maxOccupancy resolutionWidth resolutionHeight"


async def test_camera_and_line_mutations_and_queries(client: httpx.AsyncClient) -> None:
    data = await gql_data(
        client,
        f"""
      mutation {{ createCamera(input: {{id: "GATE_A", cameraName: "Gate A Entrance", location: "Main Gate",
                                       cameraType: ENTRY_ONLY, maxOccupancy: 100}}) {{ {CAMERA_FIELDS} }} }}""",
    )
    camera = data["createCamera"]
    assert camera["id"] == "GATE_A" and camera["maxOccupancy"] == 100 and camera["isActive"] is True
    assert camera["cameraType"] == "ENTRY_ONLY"
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
        updateCamera(id: $id, input: {cameraName: "Gate A Main Entrance", maxOccupancy: 120, cameraType: BIDIRECTIONAL}) {
          cameraName maxOccupancy location cameraType }
        updateLine(id: $lid, input: {confidenceThreshold: 0.6, direction: BIDIRECTIONAL}) { confidenceThreshold direction lineName }
      }""",
        {"id": cid, "lid": line["id"]},
    )
    assert data["updateCamera"] == {
        "cameraName": "Gate A Main Entrance",
        "maxOccupancy": 120,
        "location": "Main Gate",
        "cameraType": "BIDIRECTIONAL",
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
        cameras { totalCount edges { cursor node { id cameraName } } pageInfo { hasNextPage endCursor } }
        camera(id: $id) { cameraName lines { nodes { id lineName } } }
        line(id: $lid) { id cameraId camera { id } }
        lines(cameraId: $id) { totalCount nodes { id } }
        missing: camera(id: "NOPE") { id }
      }""",
        {"id": cid, "lid": line["id"]},
    )
    cameras = data["cameras"]
    assert cameras["totalCount"] == 1 and cameras["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert [e["node"] for e in cameras["edges"]] == [{"id": cid, "cameraName": "Gate A Main Entrance"}]
    assert cameras["edges"][0]["cursor"]
    assert data["camera"] == {
        "cameraName": "Gate A Main Entrance",
        "lines": {"nodes": [{"id": line["id"], "lineName": "Entrance A"}]},
    }
    assert data["line"] == {"id": line["id"], "cameraId": "GATE_A", "camera": {"id": "GATE_A"}}
    assert data["lines"] == {"totalCount": 1, "nodes": [{"id": line["id"]}]}
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

    cid = "GATE_A"  # the camera's public id is its key, never the database number
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
                        occupancyLogs(cameraId: $id, hours: 24) { nodes { isManualCalibration netOccupancy notes } } }""",
        {"id": cid},
    )
    assert data["liveOccupancy"]["currentOccupancy"] == 7
    assert {"isManualCalibration": True, "netOccupancy": 7, "notes": "headcount"} in data["occupancyLogs"]["nodes"]


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
        {"id": "GATE_A"},
    )
    assert (data["h"]["level"], data["d"]["level"], data["m"]["level"]) == ("HOURLY", "DAILY", "MONTHLY")

    import asyncio

    query = """
      query($id: ID!) {
        hourlyOccupancy(cameraId: $id, days: 2, timeZone: "UTC") { totalCount nodes {
          hour cameraId entries exits peakOccupancy uniquePersons avgOccupancy utcOffset start } }
        dailyOccupancy(cameraId: $id) { nodes { date entries peakHour utcOffset start } }
        monthlyOccupancy(cameraId: $id, months: 2) { nodes { period entries avgDailyOccupancy } }
        camera(id: $id) { hourly(timeZone: "Asia/Kolkata") { nodes { hour } } daily { nodes { date } }
                          monthly { nodes { period } } logs { nodes { entryCount } } }
      }"""
    for _ in range(100):
        data = await gql_data(client, query, {"id": "GATE_A"})
        if all(data[k]["nodes"] for k in ("hourlyOccupancy", "dailyOccupancy", "monthlyOccupancy")):
            break
        await asyncio.sleep(0.1)
    row = next(h for h in data["hourlyOccupancy"]["nodes"] if h["hour"] == at.strftime("%Y-%m-%d %H:00"))
    assert (row["cameraId"], row["entries"], row["exits"], row["peakOccupancy"], row["uniquePersons"]) == (
        "GATE_A", 3, 0, 3, 3)
    assert (row["utcOffset"], row["start"]) == ("+00:00", at.strftime("%Y-%m-%dT%H:00:00+00:00"))
    assert data["hourlyOccupancy"]["totalCount"] == len(data["hourlyOccupancy"]["nodes"])
    daily = data["dailyOccupancy"]["nodes"]
    assert next(d for d in daily if d["date"] == at.strftime("%Y-%m-%d"))["entries"] == 3
    monthly = data["monthlyOccupancy"]["nodes"]
    assert next(m for m in monthly if m["period"] == at.strftime("%Y-%m"))["entries"] == 3
    assert data["camera"]["hourly"]["nodes"] and data["camera"]["logs"]["nodes"]

    data = await gql_data(
        client,
        """
      query($id: ID!) { alerts { nodes { id alertType cameraId isResolved currentOccupancy message timestamp } }
                        camera(id: $id) { alerts { nodes { id } } } }""",
        {"id": "GATE_A"},
    )
    exceeded = next(a for a in data["alerts"]["nodes"] if a["alertType"] == "CAPACITY_EXCEEDED")
    assert exceeded["cameraId"] == "GATE_A" and exceeded["isResolved"] is False
    assert {"id": exceeded["id"]} in data["camera"]["alerts"]["nodes"]
    data = await gql_data(
        client, "mutation($id: ID!) { resolveAlert(id: $id) { alertId resolvedAt } }", {"id": exceeded["id"]}
    )
    assert data["resolveAlert"]["alertId"] == exceeded["id"] and data["resolveAlert"]["resolvedAt"]
    data = await gql_data(
        client, "{ alerts { nodes { id } } all: alerts(includeResolved: true) { nodes { id isResolved } } }"
    )
    assert exceeded["id"] not in {a["id"] for a in data["alerts"]["nodes"]}
    assert {"id": exceeded["id"], "isResolved": True} in data["all"]["nodes"]


async def test_errors_carry_codes(client: httpx.AsyncClient) -> None:
    await make_camera(client, "GATE_A")
    body = await gql(client, 'mutation { createCamera(input: {id: "GATE_A", cameraName: "x"}) { id } }')
    assert body["errors"][0]["extensions"]["code"] == "ALREADY_EXISTS"
    assert body["errors"][0]["message"] == "Camera with ID 'GATE_A' already exists"
    body = await gql(client, '{ liveOccupancy(cameraId: "NOPE") { currentOccupancy } }')
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["message"] == "Camera NOPE not found"
    body = await gql(client, '{ liveOccupancy(cameraId: "") { currentOccupancy } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql(client, '{ occupancyLogs(cameraId: "GATE_A", hours: 0) { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql(client, '{ hourlyOccupancy(cameraId: "GATE_A", timeZone: "Mars/Olympus") { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND")
    for bad in ('cameras(first: 0)', 'cameras(first: 1001)', 'cameras(after: "garbage!")'):
        body = await gql(client, "{ " + bad + " { totalCount } }")
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", bad
    body = await gql(client, 'mutation { createCamera(input: {id: "C", cameraType: OTHER}) { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_graphql_organisations_are_isolated(app, client: httpx.AsyncClient, auth: AuthKit) -> None:  # type: ignore[no-untyped-def]
    camera = await make_camera(client, "GATE_A")
    query = {"query": '{ cameras { totalCount } camera(id: "GATE_A") { id } }'}
    assert camera["camera_id"] == "GATE_A"
    async with http_client(app, bearer(auth, unique_org("other"))) as other:
        body = (await other.post("/graphql", json=query)).json()
        assert body["data"] == {"cameras": {"totalCount": 0}, "camera": None}
    r = await client.post("/graphql", json=query, headers={"X-Footfall-Org": "someone-else"})
    assert r.status_code == 403  # an org admin may not name another organisation
    r = await client.post("/graphql", json=query, headers={"X-Footfall-Org": "BAD ORG"})
    assert r.status_code == 400 and "organisation" in r.json()["detail"]


async def test_graphql_needs_a_login_and_the_right_role(app, client, org: str, auth: AuthKit) -> None:  # type: ignore[no-untyped-def]
    async with http_client(app) as anonymous:
        for r in (
            await anonymous.post("/graphql", json={"query": "{ cameras { totalCount } }"}),
            await anonymous.get("/graphql", headers={"accept": "text/html"}),
        ):
            assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}
    camera = await make_camera(client, "GATE_A")
    line = await make_line(client, camera["id"])
    create = 'mutation { createCamera(input: {id: "B"}) { id } }'
    async with http_client(app, bearer(auth, org, "analyst")) as analyst:
        assert (await gql_data(analyst, "{ cameras { totalCount } }"))["cameras"]["totalCount"] == 1
        body = await gql(analyst, create)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with http_client(app, bearer(auth, org, "device")) as device:
        body = await gql(device, "{ cameras { totalCount } }")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await cross(device, "GATE_A", line["id"], "IN"))["applied"]  # devices feed crossings in
        assert (await gql(device, create))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_nested_fields_cost_one_call_per_camera(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client, "GATE_A")
    await make_line(client, camera["id"])
    await make_line(client, camera["id"])
    deep = ("{ cameras { nodes { id lines { nodes { id camera { id lines { nodes { id camera { id "
            "lines { totalCount } } } } } } } } } }")
    data = await gql_data(client, deep)
    lines = data["cameras"]["nodes"][0]["lines"]["nodes"]
    assert len(lines) == 2 and all(len(x["camera"]["lines"]["nodes"]) == 2 for x in lines)
    assert lines[0]["camera"]["lines"]["nodes"][0]["camera"]["id"] == camera["camera_id"]


async def test_federation_entities(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client, "GATE_A")
    line = await make_line(client, camera["id"])
    data = await gql_data(
        client,
        """
      query($reps: [_Any!]!) { _entities(representations: $reps) {
        ... on Camera { id cameraName } ... on VirtualLine { id lineName } } }""",
        {
            "reps": [
                {"__typename": "Camera", "id": "GATE_A"},
                {"__typename": "VirtualLine", "id": str(line["id"])},
            ]
        },
    )
    assert data["_entities"] == [
        {"id": "GATE_A", "cameraName": "GATE_A camera"},
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


async def test_every_list_is_a_connection_paged_by_cursor(client: httpx.AsyncClient) -> None:
    for key in ("CAM_1", "CAM_2", "CAM_3"):
        await make_camera(client, key)
    query = """query($after: String) { cameras(first: 2, after: $after) {
        totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""
    first = (await gql_data(client, query))["cameras"]
    assert first["totalCount"] == 3 and len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    rest = (await gql_data(client, query, {"after": first["pageInfo"]["endCursor"]}))["cameras"]
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": None} and len(rest["edges"]) == 1
    # resuming after any edge's cursor works too
    again = (await gql_data(client, query, {"after": first["edges"][0]["cursor"]}))["cameras"]
    seen = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert sorted(seen) == ["CAM_1", "CAM_2", "CAM_3"]
    assert [e["node"]["id"] for e in again["edges"]] == seen[1:3]


async def test_schema_has_no_unspecified_enum_values_and_no_bare_lists(client: httpx.AsyncClient) -> None:
    sdl = (await gql_data(client, "{ _service { sdl } }"))["_service"]["sdl"]
    assert "UNSPECIFIED" not in sdl
    for field in ("cameras(", "alerts(", "lines(", "hourlyOccupancy(", "occupancyLogs("):
        assert field in sdl
    assert "CameraConnection!" in sdl and "pageInfo: PageInfo!" in sdl and "totalCount: Int" in sdl
