"""`footfall serve gateway`: the gateway alone in front of services elsewhere, no servers of its own."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import httpx
import pytest

from footfall.deploy.platform import Platform
from footfall.services.core.config import Settings
from tests.conftest import AuthKit, unique_org


async def test_gateway_alone_reaches_the_services_and_starts_nothing(
    database_url: str, nats_url: str, tmp_path: Path, auth: AuthKit
) -> None:
    tag = uuid.uuid4().hex[:12]
    common = dict(grpc_host="127.0.0.1", rate_limit_enabled=False, admin_password="gateway-test-pw",
                  admin_username=f"admin{tag[:6]}", admin_email=f"admin{tag[:6]}@example.com",
                  default_org=unique_org("gw"), **auth.settings_overrides())
    services = Platform(Settings(data_dir=tmp_path / "services", database_url=database_url, nats_url=nats_url,
                                 nats_stream=f"G{tag.upper()}", nats_subject_prefix=f"g{tag}", grpc_port=0,
                                 **common),  # type: ignore[arg-type]
                        services=["accounts", "occupancy"], gateway=False)
    await services.start()
    gateway_dir = tmp_path / "gateway"
    gateway = Platform(Settings(data_dir=gateway_dir, grpc_target=f"127.0.0.1:{services.grpc_port}",
                                **common),  # type: ignore[arg-type]
                       services=[], gateway=True)
    try:
        await gateway.start()
        assert gateway.infra is None and gateway.grpc_server is None and not gateway.runtimes
        assert not gateway_dir.exists()  # no embedded PostgreSQL or NATS store was created
        transport = httpx.ASGITransport(app=gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            assert (await client.get("/api/occupancy/cameras")).status_code == 401
            login = await client.post("/admin/login", json={"username": common["admin_username"],
                                                            "password": "gateway-test-pw"})
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            created = await client.post("/api/occupancy/cameras", headers=headers,
                                        json={"camera_id": "GW_1", "camera_name": "Gateway door"})
            assert created.status_code in (200, 201), created.text
            listed = (await client.get("/api/occupancy/cameras", headers=headers)).json()
            assert [c["camera_id"] for c in listed] == ["GW_1"]
    finally:
        await gateway.stop()
        assert services.infra is not None
        with contextlib.suppress(Exception):
            await services.infra.bus.js.delete_stream(services.infra.bus.stream)
        await services.stop()


async def test_gateway_alone_needs_a_target(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="FOOTFALL_GRPC_TARGET"):
        await Platform(Settings(data_dir=tmp_path), services=[], gateway=True).start()
    assert not (tmp_path / "postgres").exists()
