"""Assembling the identity service in a process: `start_identity(...)` -> `IdentityRuntime`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.outbox import OutboxRelay, hold_relay
from footfall.services.identity.clients import AuditTrail, CustomerDirectory
from footfall.services.identity.consumer import FaceCropConsumer
from footfall.services.identity.deps import IdentityConfig, IdentityDeps
from footfall.services.identity.erasure import Erasure
from footfall.services.identity.faces import FaceEngine
from footfall.services.identity.images import FaceImages
from footfall.services.identity.people import PeopleService
from footfall.services.identity.retention import RetentionJob
from footfall.services.identity.service import IdentityService
from footfall.services.identity.servicer import SERVICE_NAME, IdentityServicer
from footfall.services.identity.sightings import Sightings
from footfall.services.identity.vectors import open_vector_store
from footfall.v1 import identity_pb2_grpc

log = logging.getLogger(__name__)


@dataclass
class IdentityRuntime:
    deps: IdentityDeps
    identity: IdentityService
    people: PeopleService
    sightings: Sightings
    erasure: Erasure
    servicer: IdentityServicer
    consumer: FaceCropConsumer | None
    retention: RetentionJob | None
    owns_faces: bool = True
    relay: OutboxRelay | None = None

    async def stop_producing(self) -> None:
        """The retention job (it erases and announces); the platform calls this before stopping consumers."""
        if self.retention is not None:
            await self.retention.stop()

    async def stop(self) -> None:
        """Stop consuming and the retention job, close the vector store and the clients. The database, bus
        and gRPC server stay up (the caller owns them)."""
        if self.consumer is not None:
            await self.consumer.stop()
        if self.retention is not None:
            await self.retention.stop()
        await self.deps.customers.close()
        await self.deps.audit.close()
        await self.deps.vectors.close()
        if self.owns_faces:
            self.deps.faces.close()
        if self.relay is not None:
            await self.relay.release()
        log.info("identity service stopped")


async def start_identity(
    settings: Settings, db: Database, bus: EventBus | None, grpc_server: GrpcServer | None, *,
    consume: bool = True, retention: bool = True, faces: FaceEngine | None = None,
) -> IdentityRuntime:
    """Start the identity service on an open `db` and a connected `bus`.

    Registers `footfall.v1.IdentityService` on `grpc_server` (call before `grpc_server.start()`), opens the
    face vector store (embedded, or the Qdrant server at FOOTFALL_QDRANT_URL), consumes face crops
    (`consume`) and runs the unknown-face retention job (`retention`). Customer records and the audit log
    are reached at `settings.grpc_target`, else this process's own gRPC server. The face models load on
    first use; `faces` lets a caller share an already loaded engine.
    """

    def services_target() -> str | None:
        if settings.grpc_target:
            return settings.grpc_target
        return f"127.0.0.1:{grpc_server.port}" if grpc_server is not None and grpc_server.port else None

    vectors = await open_vector_store(settings)
    deps = IdentityDeps(
        db=db, bus=bus, vectors=vectors, faces=faces or FaceEngine.from_settings(settings),
        images=FaceImages(settings.data_dir / "faces", max_bytes=settings.identity_max_image_bytes),
        customers=CustomerDirectory(services_target), audit=AuditTrail(services_target),
        config=IdentityConfig.from_settings(settings),
    )
    identity, people, erasure = IdentityService(deps), PeopleService(deps), Erasure(deps)
    sightings = Sightings(deps)
    servicer = IdentityServicer(identity, people, erasure)
    if grpc_server is not None:
        grpc_server.add(identity_pb2_grpc.add_IdentityServiceServicer_to_server, servicer, SERVICE_NAME)
    consumer = None
    if consume and bus is not None:
        consumer = FaceCropConsumer(sightings, bus)
        consumer.start()
    job = None
    if retention:
        job = RetentionJob(erasure, period_s=settings.identity_retention_check_s)
        job.start()
    relay = await hold_relay(db, bus) if bus is not None else None  # publishes the staged identity events
    log.info("identity service started (vector store: %s)", "Qdrant server" if settings.qdrant_url else "embedded")
    return IdentityRuntime(deps, identity, people, sightings, erasure, servicer, consumer, job,
                           owns_faces=faces is None, relay=relay)
