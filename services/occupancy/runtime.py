"""Assembling the occupancy service in a process: `start_occupancy(...)` -> `OccupancyRuntime`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from footfall.v1 import occupancy_pb2_grpc

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.outbox import OutboxRelay, hold_relay
from footfall.services.occupancy.consumer import CrossingConsumer, SourceStatusConsumer
from footfall.services.occupancy.scheduler import Scheduler
from footfall.services.occupancy.service import OccupancyService
from footfall.services.occupancy.servicer import SERVICE_NAME, OccupancyServicer

log = logging.getLogger(__name__)


@dataclass
class OccupancyRuntime:
    service: OccupancyService
    servicer: OccupancyServicer
    consumers: list[CrossingConsumer | SourceStatusConsumer]
    scheduler: Scheduler | None
    relay: OutboxRelay | None = None

    async def stop_producing(self) -> None:
        """The scheduler (equipment checks raise alerts); the platform calls this before stopping consumers."""
        if self.scheduler is not None:
            await self.scheduler.stop()

    async def stop(self) -> None:
        """Stop fetching (the batch in progress commits and is acked first), stop the scheduler and wait for
        background aggregations and alert publishes. The database, bus and gRPC server stay up (the caller
        owns them)."""
        for consumer in self.consumers:
            await consumer.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.service.wait_background()
        if self.relay is not None:
            await self.relay.release()
        log.info("occupancy service stopped")


async def start_occupancy(
    settings: Settings, db: Database, bus: EventBus | None, grpc_server: GrpcServer | None, *,
    consume: bool = True, schedule: bool = True, ack_wait_s: float = 10.0,
    rollup_refresh_s: float = 60.0, equipment_check_s: float | None = None,
) -> OccupancyRuntime:
    """Start the occupancy service on an open `db` and a connected `bus`.

    Registers the `footfall.v1.OccupancyService` servicer on `grpc_server` (call this before
    `grpc_server.start()`; None registers nothing), starts the durable NATS consumers for crossings and
    camera source status (`consume`) and the background scheduler (`schedule`: equipment-failure checks,
    rollup refreshes every `rollup_refresh_s`, pruning). `await runtime.stop()` undoes it all.
    """
    service = OccupancyService(db, settings, bus)
    servicer = OccupancyServicer(service)
    if grpc_server is not None:
        grpc_server.add(occupancy_pb2_grpc.add_OccupancyServiceServicer_to_server, servicer, SERVICE_NAME)
    consumers: list[CrossingConsumer | SourceStatusConsumer] = []
    if consume and bus is not None:
        consumers = [
            CrossingConsumer(service, bus, batch=settings.ingest_batch_size, ack_wait_s=ack_wait_s),
            SourceStatusConsumer(service, bus, batch=100, ack_wait_s=ack_wait_s),
        ]
        for consumer in consumers:
            consumer.start()
    scheduler = None
    if schedule:
        scheduler = Scheduler(service, rollup_refresh_s=rollup_refresh_s, equipment_check_s=equipment_check_s)
        scheduler.start()
    relay = await hold_relay(db, bus) if bus is not None else None  # publishes the alerts' outbox rows
    log.info("occupancy service started")
    return OccupancyRuntime(service, servicer, consumers, scheduler, relay)
