"""Issue 7 end to end: a customer registered with consent is recognised on a camera stream and appears, with name
and loyalty status, in `/cameras/{id}/tracking`; a stranger stays unknown.

Everything runs as deployed: `Platform` with every service on one authenticating gRPC server, the session's
PostgreSQL and NATS, the real person detector and face models, the gateway app reached over HTTP. The camera
streams the shared Hamilton clip (looped), which shows Lin-Manuel Miranda, enrolled here from his photo, and
people who were never enrolled.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from footfall.deploy.platform import Platform

from tests.e2e.conftest import gql, log_in_as_platform_admin

pytestmark = pytest.mark.data

EXAMPLES = "faces/face_recognition/examples"
CLIP = f"{EXAMPLES}/short_hamilton_clip.mp4"
ENROLLED_PHOTO = f"{EXAMPLES}/lin-manuel-miranda.png"
NAME = "Lin-Manuel Miranda"
DEADLINE_S = 120.0
PERSONS = "query { persons(first: 100) { nodes { id customerId cameras } } }"


@pytest.fixture
def media_roots(shared_data: Path) -> list[Path]:
    """The shared clips' folder, the only one a stream may read files from."""
    if not (shared_data / CLIP).is_file():
        pytest.skip(f"{shared_data / CLIP} not found")
    return [shared_data / EXAMPLES]


async def test_registered_customer_is_recognised_on_a_stream_and_a_stranger_is_not(
    platform: Platform, shared_data: Path
) -> None:
    transport = httpx.ASGITransport(app=platform.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as http:
        await log_in_as_platform_admin(http, platform.settings)

        # Enrolment with consent (seed 002), then the loyalty status in the CRM (seed 004).
        photo = base64.b64encode((shared_data / ENROLLED_PHOTO).read_bytes()).decode("ascii")
        r = await http.post("/register", json={
            "name": NAME, "email": "lin@example.com", "face_image_b64": photo,
            "consent": {"method": "kiosk", "purpose": "recognition in store"}})
        assert r.status_code == 200, r.text
        customer_id = r.json()["customer_id"]
        r = await http.put(f"/api/v1/customers/{customer_id}", json={"loyalty_status": "gold"})
        assert r.status_code == 200 and r.json()["loyalty_status"] == "gold", r.text

        camera = f"FOYER-{uuid.uuid4().hex[:6]}"
        r = await http.post("/api/occupancy/cameras", json={
            "camera_id": camera, "camera_name": "Foyer", "location": "Lobby", "camera_type": "entry_only",
            "max_occupancy": 50, "resolution_width": 640, "resolution_height": 360})
        assert r.status_code == 201, r.text

        data = await gql(http, "mutation($c: ID!, $p: String!) { startStream(input: {cameraId: $c, path: $p, "
                                "loop: true}) { sessionId } }", {"c": camera, "p": str(shared_data / CLIP)})
        assert data["startStream"]["sessionId"], data
        try:
            watch = await _watch(http, camera, customer_id)
        finally:
            await gql(http, "mutation($c: ID!) { stopStream(cameraId: $c) { status } }", {"c": camera})

    # The customer, on a track, as the tracking view shows it.
    assert watch.recognised["name"] == NAME and watch.recognised["loyalty_status"] == "gold"
    assert 0 < watch.recognised["identification_confidence"] <= 1
    # Nobody else was ever named: every other track stayed anonymous while the stream ran ...
    assert watch.named_tracks <= watch.customer_tracks
    assert watch.anonymous_tracks - watch.customer_tracks, "no track of anyone but the customer was seen"
    # ... and every person identity made of this camera's faces is the customer or no one. (The clip's other
    # people never yield a face crop good enough to send: their faces are small, turned or cut off.)
    assert watch.linked_customers <= {str(customer_id)}, watch.linked_customers


class _Watch:
    """What the tracking view and the identity service showed while the stream ran."""

    def __init__(self) -> None:
        self.recognised: dict[str, Any] = {}
        self.customer_tracks: set[str] = set()  # tracks that carried the customer at some poll
        self.named_tracks: set[str] = set()  # tracks that carried anyone's name at some poll
        self.anonymous_tracks: set[str] = set()  # tracks that carried no one at some poll
        self.linked_customers: set[str] = set()  # customers that identity linked this camera's persons to

    @property
    def done(self) -> bool:
        return bool(self.recognised and self.anonymous_tracks - self.customer_tracks)


async def _watch(http: httpx.AsyncClient, camera: str, customer_id: str) -> _Watch:
    """Polls until the customer and someone else are on tracks (or the deadline)."""
    watch = _Watch()
    deadline = time.monotonic() + DEADLINE_S
    while not watch.done and time.monotonic() < deadline:
        r = await http.get(f"/cameras/{camera}/tracking")
        if r.status_code == 200:  # 503 until the first frame
            for o in r.json()["tracked_objects"]:
                if o["user_id"] == str(customer_id):
                    watch.recognised = o
                    watch.customer_tracks.add(o["object_id"])
                if o["name"] is not None or o["user_id"] is not None:
                    watch.named_tracks.add(o["object_id"])
                else:
                    watch.anonymous_tracks.add(o["object_id"])
        await asyncio.sleep(0.2)
    assert watch.recognised, f"{NAME} was not recognised on {camera} within {DEADLINE_S:.0f} s"
    persons = (await gql(http, PERSONS, {}))["persons"]["nodes"]
    watch.linked_customers = {p["customerId"] for p in persons if camera in p["cameras"] and p["customerId"]}
    return watch
