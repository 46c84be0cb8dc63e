"""Promotions against the real stack: PostgreSQL and NATS (tests/conftest.py), the customers and promotions
services on one authenticating gRPC server on a free port (promotions asks customers for loyalty statuses over
it), the recommendation consumer on its own JetStream stream, and the gateway (`create_app`) behind uvicorn.

Callers are the AuthKit's signed tokens: an org admin and an analyst of org A, an org admin of org B.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import httpx
import pytest
import uvicorn
from footfall.graph import promotions
from footfall.graph.app import create_app
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.core.grpc import GrpcServer
from footfall.services.customers.runtime import start_customers
from footfall.services.customers.service import CustomersConfig
from footfall.services.promotions.runtime import PromotionsRuntime, start_promotions
from footfall.v1 import customers_pb2, customers_pb2_grpc, events_pb2, promotions_pb2, promotions_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from tests.conftest import AuthKit, serving_only, unique_org


@dataclass
class Stack:
    settings: Settings
    auth: AuthKit
    bus: EventBus
    channel: grpc.aio.Channel
    base_url: str
    ws_url: str
    runtime: PromotionsRuntime
    org_a: str
    org_b: str

    def headers(self, org: str, role: str = "org_admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.auth.token(org, role)}"}

    @property
    def customers(self) -> customers_pb2_grpc.CustomersServiceStub:
        return customers_pb2_grpc.CustomersServiceStub(self.channel)

    @property
    def promotions(self) -> promotions_pb2_grpc.PromotionsServiceStub:
        return promotions_pb2_grpc.PromotionsServiceStub(self.channel)

    async def customer(self, org: str, loyalty: int, name: str = "Grace") -> int:
        reply = await self.customers.CreateCustomer(
            customers_pb2.CreateCustomerRequest(customer=customers_pb2.Customer(name=name, loyalty_status=loyalty)),
            metadata=self.auth.metadata(org))
        return reply.customer.id

    async def set_zone(self, org: str, zone: str, products: Sequence[str], cameras: Sequence[str]) -> None:
        await self.promotions.SetZoneProducts(
            promotions_pb2.SetZoneProductsRequest(zone=zone, products=list(products), camera_ids=list(cameras)),
            metadata=self.auth.metadata(org))

    def identification(self, org: str, customer_id: int, camera_id: str, confidence: float = 0.95,
                       event_id: str | None = None) -> events_pb2.EventEnvelope:
        seen = Timestamp()
        seen.FromDatetime(datetime.now(UTC))
        payload = events_pb2.CustomerIdentified(customer_id=customer_id, confidence=confidence, camera_id=camera_id,
                                                timestamp=seen)
        return make_envelope(org, "identity", "customer_identified", payload, event_id=event_id)

    async def actions(self, org: str) -> ActionWatch:
        watch = ActionWatch()
        watch.sub = await self.bus.nc.subscribe(self.bus.subject(org, "promotions", "action"), cb=watch.on_message)
        return watch


class ActionWatch:
    """`promotions.action` events of one organisation as they arrive on NATS."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[events_pb2.EventEnvelope] = asyncio.Queue()
        self.sub = None

    async def on_message(self, msg) -> None:  # type: ignore[no-untyped-def]
        envelope = events_pb2.EventEnvelope()
        envelope.ParseFromString(msg.data)
        self.queue.put_nowait(envelope)

    async def next(self, timeout: float = 30.0) -> tuple[events_pb2.EventEnvelope, promotions_pb2.PromotionAction]:
        envelope = await asyncio.wait_for(self.queue.get(), timeout)
        action = promotions_pb2.PromotionAction()
        assert envelope.payload.Unpack(action)
        return envelope, action

    async def close(self) -> None:
        if self.sub is not None:
            await self.sub.unsubscribe()


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory, database_url: str, database: Database,
                nats_url: str, auth: AuthKit) -> AsyncIterator[Stack]:
    tag = uuid.uuid4().hex[:10]
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("promotions-data")), database_url=database_url,
        default_org=unique_org("dflt"), rate_limit_enabled=False, promotions_min_confidence=0.7,
        promotions_max_recommendations=3, **auth.settings_overrides(),  # type: ignore[arg-type]
    )
    bus = EventBus(nats_url, stream=f"P{tag.upper()}", subject_prefix=f"p{tag}")
    await bus.connect()
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    customers_runtime = await serving_only(await start_customers(
        settings, database, None, server, config=CustomersConfig(idle_flush_s=3600), consume=False))
    runtime = await start_promotions(settings, database, bus, server)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    app = create_app(settings, channel, domains=(promotions.DOMAIN,), authenticator=auth.authenticator)
    http_port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=http_port, ws="websockets-sansio",
                                       lifespan="off", log_level="warning"))
    uv.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # pytest owns the signals
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield Stack(settings, auth, bus, channel, f"http://127.0.0.1:{http_port}", f"ws://127.0.0.1:{http_port}/graphql",
                runtime, unique_org("proma"), unique_org("promb"))
    uv.should_exit = True
    await asyncio.wait_for(task, 10)
    await channel.close()
    await runtime.stop()
    await customers_runtime.stop()
    await server.stop(0)
    with contextlib.suppress(Exception):
        await bus.js.delete_stream(bus.stream)
    await bus.close()


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        yield client
