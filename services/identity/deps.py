"""What every part of the identity service works with: database, bus, vector store, face models, images,
the customers service and the audit log, and the settings that matter to identity."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from footfall.services.core import outbox
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.principal import Principal
from footfall.services.identity.clients import AuditTrail, CustomerDirectory
from footfall.services.identity.faces import FaceEngine
from footfall.services.identity.images import FaceImages
from footfall.services.identity.vectors import FaceVectorStore
from footfall.v1 import events_pb2
from google.protobuf.message import Message
from psycopg import AsyncConnection

log = logging.getLogger(__name__)

SOURCE = "identity"
PERSON_JOINED = "person_joined"
CUSTOMER_IDENTIFIED = "customer_identified"
ERASED = "erased"


@dataclass(frozen=True)
class IdentityConfig:
    threshold: float = 0.6
    cross_camera_window_s: float = 1800.0
    unknown_face_retention_s: float = 24 * 3600.0
    max_crop_bytes: int = 256 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> IdentityConfig:
        return cls(settings.identity_match_threshold, settings.identity_cross_camera_window_s,
                   settings.unknown_face_retention.total_seconds(), settings.identity_max_crop_bytes)


@dataclass
class IdentityDeps:
    db: Database
    bus: EventBus | None
    vectors: FaceVectorStore
    faces: FaceEngine
    images: FaceImages
    customers: CustomerDirectory
    audit: AuditTrail
    config: IdentityConfig

    async def stage(self, conn: AsyncConnection, org: str, event: str, payload: Message, *,
                    event_id: str | None = None, occurred_at: datetime | None = None) -> None:
        """In the transaction that makes the change: its event, published once it commits (the outbox), when a
        bus is attached. Event ids derived from a source event make redeliveries duplicates that JetStream and
        consumers drop."""
        if self.bus is None:
            return
        await outbox.stage_event(conn, self.bus, org, SOURCE, event, payload, event_id=event_id,
                                 occurred_at=occurred_at)


def requester(principal: Principal | None) -> str:
    """`user:alice`, `api_key:12`, `service:gateway`: who asked, for consents and the audit log."""
    if principal is None:
        return "service:identity"
    return f"{principal.kind}:{principal.subject}"


def erased_event(person_ids: list[str], customer_id: int | None, at: datetime) -> events_pb2.IdentityErased:
    event = events_pb2.IdentityErased(person_ids=person_ids)
    if customer_id is not None:
        event.customer_id = customer_id
    event.occurred_at.FromDatetime(at)
    return event
