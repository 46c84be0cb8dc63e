"""Who a tracked person is: the identity service's recognitions, attached to the tracks they name.

The identity service answers each face crop vision publishes; when it recognises a known customer it
publishes ``footfall.<org>.identity.customer_identified`` naming the camera and the track. Vision holds
that answer on the track while the track lives, with the customer's name and loyalty status from the
customers service, so `/cameras/{id}/tracking`, `/process-frame`, `/ws/tracking` and the GraphQL tracks
say who is there. ``footfall.<org>.identity.erased`` removes what vision holds of an erased customer.

The listener is a plain (core NATS) subscription, not a durable consumer: every vision process must see
every recognition (the track may be on any of them), and a recognition is only worth anything while its
track is in view, so nothing needs replaying after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from footfall.v1 import events_pb2
from google.protobuf.message import DecodeError

from footfall.services.core.errors import Unavailable
from footfall.services.core.events import EventBus, unpack

log = logging.getLogger(__name__)

IDENTITY_SERVICE = "identity"
CUSTOMER_IDENTIFIED = "customer_identified"
ERASED = "erased"
_LOYALTY_WORDS = {1: "bronze", 2: "silver", 3: "gold", 4: "platinum"}


@dataclass(frozen=True)
class TrackIdentity:
    """A known customer recognised on a track."""

    customer_id: int
    confidence: float
    name: str | None = None
    loyalty_status: str | None = None
    identified_at: datetime | None = None

    @property
    def user_id(self) -> str:
        """Seed 002's `user_id`: the customer id as text."""
        return str(self.customer_id)


class CustomerDirectory(Protocol):
    """Name and loyalty status of a customer; None when unknown."""

    async def describe(self, org: str, customer_id: int) -> tuple[str, str | None] | None: ...


class TrackOwner(Protocol):
    """What the listener needs of a camera session (``CameraSession``)."""

    def attach_identity(self, track_key: str, identity: TrackIdentity) -> bool: ...

    def forget_customer(self, customer_id: int) -> None: ...


class GrpcCustomerDirectory:
    """Customers by id from the customers service (``GetCustomer``), cached for ``ttl_s`` (a loyalty change
    shows within that time); ``target`` gives the gRPC address when first needed."""

    def __init__(self, target: Callable[[], str | None], *, timeout: float = 5.0, ttl_s: float = 60.0,
                 max_entries: int = 10_000, credentials: Any = None) -> None:
        self._target = target
        self.timeout = timeout
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._credentials = credentials
        self._channel: Any = None
        self._cache: OrderedDict[tuple[str, int], tuple[float, tuple[str, str | None] | None]] = OrderedDict()

    def _stub(self) -> Any:
        import grpc
        from footfall.v1 import customers_pb2_grpc

        if self._channel is None:
            target = self._target()
            if not target:
                raise Unavailable("customers service address unknown")
            self._channel = grpc.aio.insecure_channel(target)
        return customers_pb2_grpc.CustomersServiceStub(self._channel)

    async def describe(self, org: str, customer_id: int) -> tuple[str, str | None] | None:
        from footfall.v1 import customers_pb2

        from footfall.services.core.tokens import default_service_credentials

        key = (org, customer_id)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        try:
            reply = await self._stub().GetCustomer(
                customers_pb2.GetCustomerRequest(id=customer_id),
                metadata=(self._credentials or default_service_credentials()).metadata(org), timeout=self.timeout,
            )
            found: tuple[str, str | None] | None = (
                reply.customer.name, _LOYALTY_WORDS.get(int(reply.customer.loyalty_status))
            )
        except Exception as exc:  # noqa: BLE001 - not found or customers down: the track keeps its user_id only
            log.info("customer %s of %s not described (%s)", customer_id, org, type(exc).__name__)
            found = None
        self._cache[key] = (time.monotonic(), found)
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return found

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None


def track_id_of(message: events_pb2.CustomerIdentified) -> str:
    """The recognised track's published id ("<session>-<tracker id>"); empty when the event names none."""
    fields = message.DESCRIPTOR.fields_by_name
    for name in ("track_id", "track"):
        if name in fields:
            return str(getattr(message, name))
    return ""


class TrackOwners(Protocol):
    """Where the tracks are (``VisionService``): a camera's current session, and all of an org's."""

    def camera_session(self, org: str, camera_id: str) -> TrackOwner | None: ...

    def org_sessions(self, org: str) -> list[TrackOwner]: ...


class IdentityListener:
    """Subscribes to identity's recognitions and erasures of every organisation and applies them."""

    def __init__(self, bus: EventBus, owners: TrackOwners, directory: CustomerDirectory | None = None) -> None:
        self.bus = bus
        self.owners = owners
        self.directory = directory
        self._subscriptions: list[Any] = []
        self.applied = 0

    async def start(self) -> None:
        prefix = self.bus.prefix
        for event, handler in ((CUSTOMER_IDENTIFIED, self._on_identified), (ERASED, self._on_erased)):
            subscription = await self.bus.nc.subscribe(f"{prefix}.*.{IDENTITY_SERVICE}.{event}", cb=handler)
            self._subscriptions.append(subscription)
        await self.bus.nc.flush()

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            try:
                await subscription.unsubscribe()
            except Exception as exc:  # noqa: BLE001 - the connection may already be closed
                log.debug("unsubscribing from identity events: %s", exc)
        self._subscriptions.clear()
        close = getattr(self.directory, "close", None)
        if close is not None:
            await close()

    @staticmethod
    def _envelope(msg: Any) -> events_pb2.EventEnvelope | None:
        envelope = events_pb2.EventEnvelope()
        try:
            envelope.ParseFromString(msg.data)
        except DecodeError:
            return None
        return envelope

    async def _on_identified(self, msg: Any) -> None:
        envelope = self._envelope(msg)
        if envelope is None:
            return
        org = msg.subject.split(".")[-3]  # the subject names the org (publishing is authenticated)
        try:
            event = unpack(envelope, events_pb2.CustomerIdentified)
        except ValueError:
            return
        await self.apply(org, event)

    async def apply(self, org: str, event: events_pb2.CustomerIdentified) -> bool:
        """Attach one recognition to its track; False when the camera or track is not (or no longer) here."""
        track_key = track_id_of(event)
        session = self.owners.camera_session(org, event.camera_id) if track_key and event.camera_id else None
        if session is None:
            return False
        described = None
        if self.directory is not None:
            try:
                described = await asyncio.wait_for(self.directory.describe(org, event.customer_id), 10)
            except (TimeoutError, Unavailable) as exc:
                log.info("customer %s of %s not described: %s", event.customer_id, org, exc)
        seen = event.timestamp.ToDatetime(tzinfo=UTC) if event.HasField("timestamp") else datetime.now(UTC)
        identity = TrackIdentity(
            customer_id=int(event.customer_id), confidence=float(event.confidence),
            name=described[0] if described else None, loyalty_status=described[1] if described else None,
            identified_at=seen,
        )
        attached = session.attach_identity(track_key, identity)
        self.applied += int(attached)
        return attached

    async def _on_erased(self, msg: Any) -> None:
        envelope = self._envelope(msg)
        if envelope is None:
            return
        try:
            event = unpack(envelope, events_pb2.IdentityErased)
        except ValueError:
            return
        if event.HasField("customer_id"):
            self.forget_customer(msg.subject.split(".")[-3], event.customer_id)

    def forget_customer(self, org: str, customer_id: int) -> None:
        """Every track of ``org`` loses this customer's identity (an erasure)."""
        for session in self.owners.org_sessions(org):
            session.forget_customer(customer_id)
