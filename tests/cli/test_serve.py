"""The deployment split of the README as processes: `footfall serve <every service>` (gRPC only) and
`footfall serve gateway` in front of it, against the session's real PostgreSQL and NATS. The gateway's /health
asks every service it fronts, so the services process runs them all."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import grpc
import httpx
from footfall.services.core.embedded import free_port
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.cli.process import Footfall, clean_env
from tests.conftest import AuthKit, unique_org

SERVICES = ["accounts", "occupancy", "customers", "vision", "promotions", "identity"]


def _wait_serving(proc: Footfall, target: str, timeout: float = 120) -> None:
    """Until the services' gRPC health check answers SERVING (they have no HTTP port)."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            assert proc.proc.poll() is None, f"footfall serve exited early:\n{proc.output()}"
            try:
                if health.Check(health_pb2.HealthCheckRequest(service="footfall.v1.OccupancyService"),
                                timeout=2).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            assert time.monotonic() < deadline, f"footfall serve not serving in {timeout}s:\n{proc.output()}"
            time.sleep(0.2)


def test_services_and_gateway_apart(database_url: str, nats_url: str, auth: AuthKit, tmp_path: Path) -> None:
    grpc_port, http_port = free_port(), free_port()
    target, base = f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}"
    tag = uuid.uuid4().hex[:10]
    shared = {"FOOTFALL_JWT_SECRET": auth.secret, "FOOTFALL_DATA_DIR": str(tmp_path / "data")}
    services_env = clean_env(**shared, FOOTFALL_DATABASE_URL=database_url, FOOTFALL_NATS_URL=nats_url,
                             FOOTFALL_NATS_STREAM=f"CLI{tag.upper()}", FOOTFALL_NATS_SUBJECT_PREFIX=f"cli{tag}")
    gateway_env = clean_env(**shared, FOOTFALL_GRPC_TARGET=target)

    refused = Footfall(["serve", "gateway", "--port", str(http_port)], clean_env(**shared), tmp_path / "refused.log")
    assert refused.proc.wait(60) == 2 and "needs FOOTFALL_GRPC_TARGET" in refused.output()

    services = Footfall(["serve", *SERVICES, "--grpc-port", str(grpc_port)], services_env,
                        tmp_path / "services.log")
    gateway = None
    try:
        _wait_serving(services, target)
        gateway = Footfall(["serve", "gateway", "--port", str(http_port)], gateway_env, tmp_path / "gateway.log")
        gateway.wait_healthy(base)
        org = unique_org("cli")
        with httpx.Client(base_url=base, timeout=30,
                          headers={"Authorization": f"Bearer {auth.token(org)}"}) as http:
            r = http.post("/api/occupancy/cameras", json={"camera_id": "SPLIT_A", "camera_name": "Split A"})
            assert r.status_code == 201, r.text
            listed = http.get("/api/occupancy/cameras")
            assert listed.status_code == 200 and [c["camera_id"] for c in listed.json()] == ["SPLIT_A"]
            assert httpx.get(f"{base}/api/occupancy/cameras").status_code == 401  # still asks who is calling

        # The services go away: the gateway stays up and says so.
        assert services.stop(signal.SIGTERM) == 0, services.output()
        deadline = time.monotonic() + 60
        while (r := httpx.get(f"{base}/health", timeout=10)).status_code != 503:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.2)
        assert r.json()["status"] == "degraded"
        assert gateway.stop(signal.SIGINT) == 0, gateway.output()
    finally:
        services.kill()
        if gateway is not None:
            gateway.kill()
