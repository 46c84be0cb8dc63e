"""Starting the customers service inside a process: servicer, NATS consumer, outbox/webhook dispatcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from footfall.v1 import customers_pb2, customers_pb2_grpc

from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.outbox import OutboxRelay, hold_relay
from footfall.services.customers.behavior import BehaviorRules
from footfall.services.customers.commerce.service import Commerce
from footfall.services.customers.commerce.summary import summary_writer
from footfall.services.customers.consumer import JourneyConsumer
from footfall.services.customers.erasure import ErasureConsumer
from footfall.services.customers.platform_events import PlatformEventsConsumer
from footfall.services.customers.service import Customers, CustomersConfig
from footfall.services.customers.servicer import CustomersServicer
from footfall.services.customers.webhooks import Dispatcher

log = logging.getLogger(__name__)

SERVICE_NAME = customers_pb2.DESCRIPTOR.services_by_name["CustomersService"].full_name


@dataclass
class CustomersRuntime:
    customers: Customers
    servicer: CustomersServicer
    consumer: JourneyConsumer | None
    dispatcher: Dispatcher
    platform_events: PlatformEventsConsumer | None = None
    relay: OutboxRelay | None = None
    erasures: ErasureConsumer | None = None

    async def stop_producing(self) -> None:
        """The dispatcher (it completes quiet cameras' visits and sends webhooks); the platform calls this
        before stopping consumers. What is committed meanwhile waits in the outbox for the next start."""
        await self.dispatcher.stop()

    async def stop(self) -> None:
        """Stops consuming and dispatching (the database, bus and gRPC server belong to the caller)."""
        if self.consumer is not None:
            await self.consumer.stop()
        if self.platform_events is not None:
            await self.platform_events.stop()
        if self.erasures is not None:
            await self.erasures.stop()
        await self.dispatcher.stop()
        if self.relay is not None:
            await self.relay.release()


async def start_customers(
    settings: Any, db: Database, bus: EventBus | None, grpc_server: GrpcServer | None, *,
    rules: BehaviorRules | str | None = None, config: CustomersConfig | None = None,
    consume: bool = True,
) -> CustomersRuntime:
    """Register the gRPC servicer (call before ``grpc_server.start()``), start consuming vision events and
    start the dispatcher. ``rules``: a rule set or a JSON/TOML file; default the
    ``customers_behavior_rules`` setting when present, else the built-in rules."""
    config = config or CustomersConfig.from_settings(settings)
    if rules is None:
        rules = getattr(settings, "customers_behavior_rules", None) or None
    customers = Customers(db, config=config, rules=rules)
    commerce = Commerce(db, customers, summaries=summary_writer(settings), zone=getattr(settings, "timezone", "UTC"))
    servicer = CustomersServicer(customers, getattr(settings, "default_org", "default"), commerce=commerce)
    if grpc_server is not None:
        grpc_server.add(customers_pb2_grpc.add_CustomersServiceServicer_to_server, servicer, SERVICE_NAME)
    consumer = None
    platform_events = None
    erasures = None
    if bus is not None and consume:
        consumer = JourneyConsumer(customers, bus)
        consumer.start()
        platform_events = PlatformEventsConsumer(customers, bus)
        platform_events.start()
        erasures = ErasureConsumer(customers, bus)  # identity's erasures unlink carts and journeys
        erasures.start()
    dispatcher = Dispatcher(customers, bus, config=config)
    dispatcher.start()
    relay = await hold_relay(db, bus) if bus is not None else None  # publishes what the dispatcher stages
    log.info("customers service started (consumer: %s)", "on" if consumer else "off")
    return CustomersRuntime(customers, servicer, consumer, dispatcher, platform_events, relay,
                            erasures=erasures)
