"""Configuration changes made over gRPC land in the audit log with who, what, target, where and outcome."""

from __future__ import annotations

import uuid

import grpc
import pytest
from footfall.v1 import occupancy_pb2, occupancy_pb2_grpc

from footfall.services.accounts.audit_sink import AccountsAuditSink
from footfall.services.accounts.runtime import build_accounts
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.occupancy import start_occupancy
from tests.conftest import AuthKit


async def test_camera_changes_and_calibrations_are_audited(database: Database, event_bus: EventBus,
                                                         auth: AuthKit) -> None:
    settings = Settings(equipment_timeout_s=0)
    accounts, _ = build_accounts(settings, database, auth.authenticator)
    org = f"audit-{uuid.uuid4().hex[:8]}"
    await accounts.ensure_org(org)
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator, audit=AccountsAuditSink(accounts))
    runtime = await start_occupancy(settings, database, event_bus, server, schedule=False)
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = occupancy_pb2_grpc.OccupancyServiceStub(channel)
            md = (*auth.metadata(org, "org_admin"), ("x-forwarded-for", "203.0.113.7"))
            camera = (await stub.CreateCamera(occupancy_pb2.CreateCameraRequest(
                camera_id="DOOR_1", camera_name="Door"), metadata=md)).camera
            await stub.CalibrateOccupancy(occupancy_pb2.CalibrateOccupancyRequest(
                camera_id=camera.id, occupancy_value=4, notes="headcount"), metadata=md)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.CalibrateOccupancy(occupancy_pb2.CalibrateOccupancyRequest(
                    camera_id=camera.id + 1000, occupancy_value=1), metadata=md)
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND
            # Reads are not audited.
            await stub.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=md)
        entries, _, _ = await accounts.list_audit(org, 50, "")
    finally:
        await runtime.stop()
        await server.stop(0)
    seen = [(e.action, e.target, e.outcome, e.actor, e.ip) for e in reversed(entries)]
    assert seen == [
        ("camera.create", "DOOR_1", "success", "tester", "203.0.113.7"),
        ("occupancy.calibrate", str(camera.id), "success", "tester", "203.0.113.7"),
        ("occupancy.calibrate", str(camera.id + 1000), "failure", "tester", "203.0.113.7"),
    ]
    calibration = next(e for e in entries if e.action == "occupancy.calibrate" and e.outcome == "success")
    assert calibration.detail["notes"] == "headcount" and calibration.detail["occupancy_value"] == "4"
