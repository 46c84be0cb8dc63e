"""Starting the promotions service inside a process: servicer, recommendation consumer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.outbox import OutboxRelay, hold_relay
from footfall.services.promotions.consumer import IdentificationConsumer
from footfall.services.promotions.customers_client import LoyaltyLookup
from footfall.services.promotions.service import Promotions, PromotionsConfig
from footfall.services.promotions.servicer import SERVICE_NAME, PromotionsServicer
from footfall.v1 import promotions_pb2_grpc

log = logging.getLogger(__name__)


@dataclass
class PromotionsRuntime:
    promotions: Promotions
    servicer: PromotionsServicer
    consumer: IdentificationConsumer | None
    loyalty: LoyaltyLookup
    relay: OutboxRelay | None = None

    async def stop(self) -> None:
        """Stops consuming (the database, bus and gRPC server belong to the caller)."""
        if self.consumer is not None:
            await self.consumer.stop()
        await self.loyalty.close()
        if self.relay is not None:
            await self.relay.release()


async def start_promotions(
    settings: Settings, db: Database, bus: EventBus | None, grpc_server: GrpcServer | None, *, consume: bool = True,
) -> PromotionsRuntime:
    """Register `footfall.v1.PromotionsService` (call before `grpc_server.start()`) and consume identifications.

    Loyalty statuses come from the customers service at `settings.grpc_target`, else this process's own gRPC
    server."""

    def customers_target() -> str | None:
        if settings.grpc_target:
            return settings.grpc_target
        return f"127.0.0.1:{grpc_server.port}" if grpc_server is not None and grpc_server.port else None

    loyalty = LoyaltyLookup(customers_target)
    promotions = Promotions(db, bus, loyalty, config=PromotionsConfig.from_settings(settings))
    servicer = PromotionsServicer(promotions)
    if grpc_server is not None:
        grpc_server.add(promotions_pb2_grpc.add_PromotionsServiceServicer_to_server, servicer, SERVICE_NAME)
    consumer = None
    if bus is not None and consume:
        consumer = IdentificationConsumer(promotions, bus)
        consumer.start()
    relay = await hold_relay(db, bus) if bus is not None else None  # publishes the staged actions
    log.info("promotions service started (consumer: %s)", "on" if consumer else "off")
    return PromotionsRuntime(promotions, servicer, consumer, loyalty, relay)
