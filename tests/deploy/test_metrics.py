"""Every process serves Prometheus metrics: `footfall serve accounts occupancy customers` and `footfall serve
gateway`, started as real processes, are scraped after real events (a crossing on NATS, a platform event
delivered to a webhook, REST calls) and their series carry the values those events produced. The Grafana
dashboard's queries only name series a scrape returns; JSON log records carry the organisation."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from footfall.services.core.embedded import free_port
from footfall.services.core.events import EventBus, make_envelope
from footfall.v1 import common_pb2, events_pb2
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import AuthKit, unique_org
from tests.customers.test_webhooks import Receiver, receiver  # noqa: F401  (fixture)
from tests.deploy.test_manifests import dashboard_series, declared

FOOTFALL = Path(sys.executable).parent / "footfall"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Samples, set[str]]:
    """(sample name and labels -> value, every family name the exposition declares, samples or not)."""
    samples: Samples = {}
    families: set[str] = set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, families


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample `name` whose labels include `labels` (summed over the others), None when there is none."""
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    return sum(found) if found else None


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen([str(FOOTFALL), *args], env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_healthy(self, http: httpx.AsyncClient, url: str, timeout: float = 120,
                           ok: tuple[int, ...] = (200,)) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()[-3000:]
            try:
                if (await http.get(url, timeout=2)).status_code in ok:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        pytest.fail(f"{url} never answered {ok}:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


@pytest.fixture
def platform_env(database_url: str, nats_url: str, auth: AuthKit, tmp_path: Path) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:10]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    env.update({
        "FOOTFALL_DATA_DIR": str(tmp_path / "data"), "FOOTFALL_DATABASE_URL": database_url,
        "FOOTFALL_NATS_URL": nats_url, "FOOTFALL_NATS_STREAM": f"M{tag.upper()}",
        "FOOTFALL_NATS_SUBJECT_PREFIX": f"m{tag}", "FOOTFALL_JWT_SECRET": auth.secret,
        "FOOTFALL_ADMIN_USERNAME": f"admin{tag}", "FOOTFALL_ADMIN_PASSWORD": "metrics-test-password",
        "FOOTFALL_ADMIN_EMAIL": f"admin{tag}@example.com", "FOOTFALL_DEFAULT_ORG": unique_org("met"),
        "FOOTFALL_RATE_LIMIT_ENABLED": "false", "FOOTFALL_LOG_JSON": "1",
        "FOOTFALL_WEBHOOK_ALLOW_HTTP": "true", "FOOTFALL_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    })
    yield env


async def test_every_process_serves_the_series_real_events_produce(
    platform_env: dict[str, str], auth: AuthKit, tmp_path: Path, receiver: Receiver,  # noqa: F811
) -> None:
    receiver.fail_first = 0
    org = unique_org("met")
    grpc_port, services_http, gateway_http = free_port(), free_port(), free_port()
    services = Proc(["serve", "accounts", "occupancy", "customers", "--port", str(services_http),
                     "--grpc-port", str(grpc_port)], platform_env, tmp_path / "services.log")
    gateway_env = {**platform_env, "FOOTFALL_GRPC_TARGET": f"127.0.0.1:{grpc_port}",
                   "FOOTFALL_METRICS_TOKEN": "scrape-token"}
    gateway: Proc | None = None
    bus = EventBus(platform_env["FOOTFALL_NATS_URL"], stream=platform_env["FOOTFALL_NATS_STREAM"],
                   subject_prefix=platform_env["FOOTFALL_NATS_SUBJECT_PREFIX"])
    http = httpx.AsyncClient()
    try:
        await services.wait_healthy(http, f"http://127.0.0.1:{services_http}/health")
        gateway = Proc(["serve", "gateway", "--port", str(gateway_http)], gateway_env, tmp_path / "gateway.log")
        # 503 "degraded" is up too: the services it fronts here are not all of them (no vision, identity...)
        await gateway.wait_healthy(http, f"http://127.0.0.1:{gateway_http}/health", ok=(200, 503))
        services_metrics = f"http://127.0.0.1:{services_http}/metrics"
        gateway_metrics = f"http://127.0.0.1:{gateway_http}/metrics"

        # The services' /metrics: the gateway's policy (no token configured here: a platform admin only).
        assert (await http.get(services_metrics)).status_code == 401
        assert (await http.get(services_metrics, headers=_bearer(auth.token(org, "org_admin")))).status_code == 403
        admin = _bearer(auth.token(org, "platform_admin"))
        assert (await http.get(services_metrics, headers=admin)).status_code == 200
        assert (await http.get(gateway_metrics, headers=admin)).status_code == 401  # the gateway wants its token
        scrape = {"Authorization": "Bearer scrape-token"}

        # Real traffic: a camera and its line through the gateway, a webhook, then events on NATS.
        api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_http}",
                                headers={**_bearer(auth.token(org, "org_admin")), "X-Footfall-Org": org})
        async with api:
            r = await api.post("/api/occupancy/cameras", json={"camera_id": "DOOR_1", "camera_name": "Door"})
            assert r.status_code == 201, r.text
            camera = r.json()["id"]
            r = await api.post("/api/occupancy/lines", json={"camera_id": camera, "line_name": "door", "x1": 0, "y1": 0,
                                                       "x2": 100, "y2": 0, "direction": "bidirectional"})
            assert r.status_code == 201, r.text
            r = await api.post(f"/api/occupancy/cameras/{camera}/calibrate", json={"occupancy_value": 0, "notes": "open"})
            assert r.status_code == 200, r.text
            r = await api.post("/api/webhooks", json={"url": receiver.url, "events": ["person_joined"]})
            assert r.status_code == 201, r.text

        await bus.connect()
        for i in (1, 2):
            crossing = events_pb2.LineCrossed(camera_id="DOOR_1", line_name="door", track_id=f"t{i}",
                                              direction=common_pb2.CROSSING_DIRECTION_IN, confidence=0.9)
            crossing.occurred_at.GetCurrentTime()
            await bus.publish(make_envelope(org, "vision", "crossing", crossing, event_id=f"{org}-x{i}"))
        await bus.publish(make_envelope(org, "identity", "person_joined", events_pb2.PersonJoined(person_id="p-1"),
                                        event_id=f"{org}-pj"))

        expected = {
            ("footfall_occupancy", (("org", org), ("camera", "DOOR_1"))): 2.0,
            ("footfall_crossings_total", (("org", org), ("camera", "DOOR_1"), ("direction", "in"))): 2.0,
            ("footfall_occupancy_crossing_outcomes_total", (("outcome", "applied"),)): None,  # >= 2, shared
            ("footfall_webhook_deliveries_total", (("kind", "person_joined"), ("outcome", "delivered"))): None,
            ("footfall_consumer_lag", (("consumer", "occupancy-crossings"),)): 0.0,
            ("footfall_consumer_lag", (("consumer", "customers_webhooks_identity_person_joined"),)): 0.0,
        }
        deadline = time.monotonic() + 60
        while True:
            samples, families = parse((await http.get(services_metrics, headers=admin)).text)
            got = {key: value(samples, key[0], **dict(key[1])) for key in expected}
            if all(g is not None and (want is None or g == want) for (key, want), g in zip(
                    expected.items(), got.values(), strict=True)):
                break
            assert time.monotonic() < deadline, f"series never reached their values: {got}"
            await asyncio.sleep(0.3)
        assert (value(samples, "footfall_occupancy_crossing_outcomes_total", outcome="applied") or 0) >= 2
        assert (value(samples, "footfall_webhook_deliveries_total", kind="person_joined", outcome="delivered") or 0) >= 1
        assert [h for h in receiver.hits if h["event_id"] == f"{org}-pj"]
        assert (value(samples, "process_resident_memory_bytes") or 0) > 0

        # The gateway: its HTTP series and the services' registry in one exposition, each family once.
        text = (await http.get(gateway_metrics, headers=scrape)).text
        gw, gw_families = parse(text)
        assert value(gw, "footfall_gateway_http_requests_total", route="/api/occupancy/cameras", method="POST",
                     status="201") == 1
        assert value(gw, "footfall_gateway_http_request_duration_seconds_count", route="/api/occupancy/lines") == 1
        assert len(re.findall(r"^# TYPE process_cpu_seconds_total ", text, re.MULTILINE)) == 1
        assert "footfall_occupancy" in gw_families and "footfall_detector_latency_seconds" in gw_families

        # The dashboard asks only for series these endpoints declare.
        for name in dashboard_series():
            assert declared(name, families | gw_families), f"dashboard queries {name}, which no process exports"

        # Log records of a gRPC call name the caller's organisation (FOOTFALL_LOG_JSON=1).
        records = [json.loads(line) for line in services.log().splitlines() if line.startswith("{")]
        calibrated = [r for r in records if "calibrated" in r["message"]]
        assert calibrated and calibrated[0].get("org") == org, services.log()[-2000:]
    finally:
        await http.aclose()
        if bus.connected:
            try:
                await bus.js.delete_stream(bus.stream)
            finally:
                await bus.close()
        if gateway is not None:
            gateway.stop()
        services.stop()
    assert services.proc.returncode == 0, services.log()[-3000:]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.data
async def test_a_live_stream_fills_the_vision_series(
    platform_env: dict[str, str], auth: AuthKit, tmp_path: Path, shared_data: Path
) -> None:
    """`footfall serve ... vision` with the demo camera (the PETS 2009 clip): stream state, fps, frames analysed
    and detector latency come from the running stream, on the same endpoint."""
    video = shared_data / "video" / "pets2009_s2l1_480x360.avi"
    assert video.is_file(), video
    sample = Path(platform_env["FOOTFALL_DATA_DIR"]) / "samples" / "vtest.avi"  # where the demo looks
    sample.parent.mkdir(parents=True)
    sample.symlink_to(video)
    org = platform_env["FOOTFALL_DEFAULT_ORG"]
    http_port = free_port()
    env = {**platform_env, "FOOTFALL_DEMO": "true", "FOOTFALL_FACES_ENABLED": "false"}
    services = Proc(["serve", "accounts", "occupancy", "vision", "--port", str(http_port), "--grpc-port",
                     str(free_port())], env, tmp_path / "vision.log")
    admin = _bearer(auth.token(org, "platform_admin"))
    try:
        async with httpx.AsyncClient() as http:
            await services.wait_healthy(http, f"http://127.0.0.1:{http_port}/health")
            deadline = time.monotonic() + 120
            while True:
                text = (await http.get(f"http://127.0.0.1:{http_port}/metrics", headers=admin)).text
                samples, _ = parse(text)
                got = {
                    "connected": value(samples, "footfall_stream_state", org=org, camera="DEMO", state="connected"),
                    "fps": value(samples, "footfall_stream_fps", org=org, camera="DEMO"),
                    "frames": value(samples, "footfall_frames_analysed_total", org=org, camera="DEMO"),
                    "detections": value(samples, "footfall_detector_latency_seconds_count"),
                }
                if got["connected"] == 1 and all((v or 0) > 0 for v in got.values()):
                    break
                assert time.monotonic() < deadline, f"the stream's series never filled: {got}"
                await asyncio.sleep(0.5)
            assert value(samples, "footfall_stream_state", org=org, camera="DEMO", state="reconnecting") == 0
    finally:
        services.stop()
    assert services.proc.returncode == 0, services.log()[-3000:]


async def test_log_records_name_the_org_and_camera_of_their_task() -> None:
    """JSON lines carry `org` and `camera` from the task's context (each task its own), `extra` wins."""
    import io
    import logging

    from footfall.services.core.logging import bind_log_context, log_context, setup_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging("INFO", json_lines=True)
    stream = io.StringIO()
    root.handlers[0].stream = stream  # type: ignore[attr-defined]
    log = logging.getLogger("footfall.test")
    try:
        async def camera_task(camera: str) -> None:
            bind_log_context(org="org-a", camera=camera)
            await asyncio.sleep(0)
            log.info("frame from %s", camera)

        await asyncio.gather(camera_task("CAM_1"), camera_task("CAM_2"))
        with log_context(org="org-b"):
            log.warning("in a call")
            log.warning("explicit", extra={"org": "org-c"})
        log.info("outside")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    records = {r["message"]: r for r in map(json.loads, stream.getvalue().splitlines())}
    assert (records["frame from CAM_1"]["org"], records["frame from CAM_1"]["camera"]) == ("org-a", "CAM_1")
    assert records["frame from CAM_2"]["camera"] == "CAM_2"
    assert records["in a call"]["org"] == "org-b" and "camera" not in records["in a call"]
    assert records["explicit"]["org"] == "org-c"
    assert "org" not in records["outside"]
