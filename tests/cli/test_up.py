"""`footfall up` as a user runs it: start, /health ok, real counts from a real video stream, Ctrl-C, start again on
the same data directory (every count kept), SIGTERM, start again (still kept)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from footfall.services.core.embedded import free_port

from tests.cli.process import Footfall, clean_env, data_dir

pytestmark = pytest.mark.data

VIDEO = "video/pets2009_s2l1_480x360.avi"
PASSWORD = "cli-test-password-1"
CAMERA = "CLI_DOOR"


class Api:
    """The running gateway, logged in as the platform admin."""

    def __init__(self, base_url: str) -> None:
        r = httpx.post(f"{base_url}/admin/login", json={"username": "admin", "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        self.http = httpx.Client(base_url=base_url, timeout=30,
                                 headers={"Authorization": f"Bearer {r.json()['access_token']}"})

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert r.status_code == 200 and not r.json().get("errors"), r.text
        return r.json()["data"]

    def live(self, camera: int) -> tuple[int, int]:
        r = self.http.get(f"/api/occupancy/cameras/{camera}/live")
        assert r.status_code == 200, r.text
        return r.json()["total_entries"], r.json()["total_exits"]


def _until(check: Any, what: str, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.3)
    return value


def _count_a_video(api: Api, video: Path) -> tuple[int, tuple[int, int]]:
    """A camera with a door line, 300 frames of PETS streamed through it; (camera id, door (in, out))."""
    r = api.http.post("/api/occupancy/cameras", json={"camera_id": CAMERA, "camera_name": "CLI door",
                                                      "camera_type": "bidirectional", "resolution_width": 480,
                                                      "resolution_height": 360})
    assert r.status_code == 201, r.text
    camera = r.json()["id"]
    r = api.http.post("/api/occupancy/lines", json={"camera_id": camera, "line_name": "door", "x1": 240, "y1": 0,
                                                    "x2": 240, "y2": 360, "direction": "bidirectional",
                                                    "confidence_threshold": 0.0})
    assert r.status_code == 201, r.text
    api.gql("mutation($i: StartStreamInput!) { startStream(input: $i) { status } }",
            {"i": {"cameraId": CAMERA, "path": str(video), "maxFrames": 300}})

    def finished() -> dict[str, Any] | None:
        stream = api.gql("query($c: ID!) { visionStream(cameraId: $c) { status statusDetail frames "
                         "lines { name inCount outCount } } }", {"c": CAMERA})["visionStream"]
        assert stream["status"] != "FAILED", stream
        return stream if stream["status"] == "STOPPED" else None

    stream = _until(finished, "the stream did not finish")
    assert stream["frames"] == 300
    door = stream["lines"][0]
    counted = (door["inCount"], door["outCount"])
    assert sum(counted) >= 6, counted  # 9 true crossings of x=240 in these frames
    _until(lambda: api.live(camera) == counted, f"live occupancy never reached {counted}", 60)
    return camera, counted


def test_up_restarts_on_the_same_data_dir_with_every_count(shared_data: Path) -> None:
    with data_dir() as path:
        http_port, grpc_port = free_port(), free_port()
        base = f"http://127.0.0.1:{http_port}"
        env = clean_env(FOOTFALL_DATA_DIR=str(path), FOOTFALL_ADMIN_PASSWORD=PASSWORD,
                        FOOTFALL_MEDIA_ROOTS=json.dumps([str(shared_data)]))
        args = ["up", "--port", str(http_port), "--grpc-port", str(grpc_port)]
        logs = path.parent / "footfall.log"
        for start, stop_with in enumerate([signal.SIGINT, signal.SIGTERM, signal.SIGTERM]):
            up = Footfall(args, env, logs)
            try:
                up.wait_healthy(base)
                assert httpx.get(f"{base}/health").json() == {"status": "healthy"}
                api = Api(base)
                if start == 0:
                    camera, counted = _count_a_video(api, shared_data / VIDEO)
                else:  # the same camera, line and counts, without a single new frame
                    assert api.live(camera) == counted
                    cameras = api.http.get("/api/occupancy/cameras").json()
                    assert [(c["id"], c["camera_id"]) for c in cameras] == [(camera, CAMERA)]
                    lines = api.http.get(f"/api/occupancy/cameras/{camera}/lines").json()
                    assert [line["line_name"] for line in lines] == ["door"]
                api.http.close()
                assert up.stop(stop_with) == 0, up.output()
            finally:
                up.kill()
