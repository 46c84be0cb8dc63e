"""The customers service's behaviour, one implementation behind gRPC, REST shapes and event handlers.

:class:`Customers` ties the plain domain (journey building, behaviour rules, conversion matching) to the
store: every method runs inside one tenant transaction, so a redelivered event, a retried call or a crash
half-way never double counts.

Online journeys: the vision service's ``zone_entered``, ``zone_exited`` and ``track_ended`` events of one
camera drive a :class:`~footfall.services.customers.journeys.JourneyBuilder` whose state is saved per camera
(``journey_builder_state``, locked per transaction). Its ``customer_entry`` / ``journey_complete`` events
become journeys rows plus outbox rows (``customer_events``) in the same transaction; the dispatcher
publishes those to NATS and fans them out to webhooks. A camera that goes quiet is advanced by wall-clock
time (:meth:`Customers.flush_quiet_cameras`) so its last visits complete without a further event.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.core.idempotency import claim_events
from footfall.services.core.netguard import TargetPolicy
from footfall.services.customers import exports, store
from footfall.services.customers.behavior import BehaviorRules, resolve_rules
from footfall.services.customers.webhook_targets import check_webhook_target, validate_webhook_url, webhook_policy
from footfall.services.customers.conversion import (
    DEFAULT_WINDOW_S,
    NO_PURCHASE,
    PURCHASED,
    POSTransaction,
    Presence,
    match_journey,
    match_transaction,
)
from footfall.services.customers.journeys import (
    CustomerEntry,
    JourneyBuilder,
    JourneyComplete,
    JourneyConfig,
    JourneyEvent,
    natural_ids,
)
from footfall.services.customers.models import (
    CUSTOMER_ENTRY,
    JOURNEY_COMPLETE,
    DEFAULT_WEBHOOK_EVENTS,
    WEBHOOK_EVENTS,
    JourneyFilter,
    JourneyRecord,
    JourneyStats,
    TransactionRecord,
    Webhook,
    WebhookDelivery,
    to_datetime,
)

log = logging.getLogger(__name__)

CONSUMER = "customers.journeys"
_EVENT_NS = uuid.UUID("5b0f3c4e-7d1a-4c1e-9a57-6f6f74666c6c")
MAX_PAGE = 1000
DEFAULT_PAGE = 100

VisionKind = Literal["zone_entered", "zone_exited", "track_ended"]


@dataclass(frozen=True)
class VisionEvent:
    """One vision event as the journey builder needs it (decoded from its protobuf by the consumer)."""

    event_id: str
    kind: VisionKind
    camera_id: str
    track_id: str
    time: float
    zone: str = ""
    dwell_s: float | None = None
    first_seen: float | None = None
    last_seen: float | None = None
    path: tuple[tuple[float, float, float], ...] = ()
    point: tuple[float, float] | None = None


@dataclass(frozen=True)
class CustomersConfig:
    """Settings of the customers service (see :meth:`from_settings`)."""

    # Online, tracks are known only from their zone events until they end: an open track counts as present,
    # and customer_entry waits 3 s (> vision's 2 s lost-track buffer) so a late track end can still stitch.
    journey: JourneyConfig = field(default_factory=lambda: JourneyConfig(confirm_s=3.0, open_tracks_present=True))
    match_window_s: float = DEFAULT_WINDOW_S
    # A camera with visits in progress and no event for this long is advanced by the wall clock.
    idle_flush_s: float = 10.0
    webhook_max_attempts: int = 8
    webhook_backoff_s: float = 1.0
    webhook_backoff_max_s: float = 300.0
    webhook_timeout_s: float = 10.0
    dispatch_interval_s: float = 0.5
    # Webhook targets (see webhook_targets.py): https only unless allowed; these CIDRs may be private/loopback.
    webhook_allow_http: bool = False
    webhook_allowed_networks: tuple[str, ...] = ()

    @property
    def webhook_policy(self) -> TargetPolicy:
        return webhook_policy(self.webhook_allowed_networks)

    @classmethod
    def from_settings(cls, settings: Any) -> CustomersConfig:
        """Reads the optional `journey_*` / `webhook_*` / `conversion_window_s` settings when present."""
        base = cls()
        journey_kw = {}
        for name in ("stitch_gap_s", "stitch_distance_px", "confirm_s", "min_duration_s", "path_sample_s",
                     "max_path_points"):
            value = getattr(settings, f"journey_{name}", None)
            if value is not None:
                journey_kw[name] = value
        kw: dict[str, Any] = {}
        if journey_kw:
            kw["journey"] = replace(base.journey, **journey_kw)
        mapping = {"conversion_window_s": "match_window_s", "journey_idle_flush_s": "idle_flush_s",
                   "webhook_max_attempts": "webhook_max_attempts", "webhook_backoff_s": "webhook_backoff_s",
                   "webhook_backoff_max_s": "webhook_backoff_max_s", "webhook_timeout_s": "webhook_timeout_s",
                   "webhook_allow_http": "webhook_allow_http"}
        for setting, name in mapping.items():
            value = getattr(settings, setting, None)
            if value is not None:
                kw[name] = value
        networks = getattr(settings, "webhook_allowed_networks", None)
        if networks:
            kw["webhook_allowed_networks"] = tuple(networks)
        return replace(base, **kw)


def event_id_for(org: str, session_id: str, event: str) -> str:
    """Deterministic id of a customers event: a replayed visit publishes the same ids (deduplicated)."""
    return str(uuid.uuid5(_EVENT_NS, f"{org}/{session_id}/{event}"))


def encode_token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("invalid page_token") from None
    if not isinstance(data, dict):
        raise InvalidArgument("invalid page_token")
    return data


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must be >= 0")
    return min(requested or DEFAULT_PAGE, MAX_PAGE)


def presence_of(rec: JourneyRecord) -> Presence:
    j = rec.journey
    return Presence(
        rec.id, j.entry_time, j.exit_time, tuple((s.zone, s.enter_time, s.exit_time) for s in rec.zone_stays),
        rec.camera_id, converted=bool(rec.transaction_ids) or PURCHASED in j.conversion_status,
    )


class Customers:
    """The customers domain over the store (see the module docstring)."""

    def __init__(
        self, db: Database, *, config: CustomersConfig | None = None, rules: Any = None,
    ) -> None:
        self.db = db
        self.config = config or CustomersConfig()
        self.rules: BehaviorRules = resolve_rules(rules)
        # Set whenever new outbox rows were committed: wakes the dispatcher at once.
        self.outbox_signal = asyncio.Event()

    # ---- journeys from vision events --------------------------------------------------------------

    def _builder(self, org: str, camera_id: str, state: dict[str, Any] | None) -> JourneyBuilder:
        # Natural ids: a visit rebuilt from replayed events keeps its session id, hence its journey row and
        # event ids (see store.insert_active_journey / complete_journey / add_event).
        return JourneyBuilder.from_state(
            state, camera_id, config=self.config.journey, rules=self.rules,
            id_factory=natural_ids(f"{org}/{camera_id}"),
        )

    async def apply_vision_events(self, org: str, events: Sequence[VisionEvent]) -> list[JourneyEvent]:
        """Apply vision events (any cameras, any order, redeliveries included) exactly once."""
        by_camera: dict[str, list[VisionEvent]] = {}
        for ev in events:
            by_camera.setdefault(ev.camera_id, []).append(ev)
        out: list[JourneyEvent] = []
        for camera_id, group in by_camera.items():
            async with self.db.tenant(org) as conn:
                fresh = await claim_events(conn, CONSUMER, org, [e.event_id for e in group])
                todo = sorted((e for e in group if e.event_id in fresh), key=lambda e: (e.time, e.kind != "zone_entered"))
                if not todo:
                    continue
                builder = self._builder(org, camera_id, await store.lock_builder_state(conn, org, camera_id))
                produced: list[JourneyEvent] = []
                for ev in todo:
                    produced += self._apply(builder, ev)
                produced += builder.advance(max(e.time for e in todo))
                await self._persist(conn, org, produced)
                await store.save_builder_state(conn, camera_id, builder.to_state(), builder.now, not builder.waiting)
                out += produced
        if out:
            self.outbox_signal.set()
        return out

    @staticmethod
    def _apply(builder: JourneyBuilder, ev: VisionEvent) -> list[JourneyEvent]:
        if ev.kind == "zone_entered":
            return builder.zone_entered(ev.track_id, ev.zone, ev.time, ev.point, ev.first_seen)
        if ev.kind == "zone_exited":
            return builder.zone_exited(ev.track_id, ev.zone, ev.time, ev.dwell_s)
        return builder.track_ended(ev.track_id, ev.first_seen, ev.last_seen, ev.path or None)

    async def flush_quiet_cameras(self) -> list[JourneyEvent]:
        """Advance cameras that have had no event for ``idle_flush_s`` by the wall-clock time since."""
        async with self.db.system() as conn:
            quiet = await store.stale_builders_system(conn, self.config.idle_flush_s)
        out: list[JourneyEvent] = []
        for row in quiet:
            org, camera_id = row["org_id"], row["camera_id"]
            async with self.db.tenant(org) as conn:
                state = await store.lock_builder_state(conn, org, camera_id)
                if not state:
                    continue
                builder = self._builder(org, camera_id, state)
                elapsed = await store.builder_quiet_seconds(conn, camera_id)
                produced = builder.advance((builder.now or 0.0) + elapsed)
                await self._persist(conn, org, produced)
                # The stream clock moved on with the wall clock; the next flush adds the next quiet spell.
                await store.save_builder_state(conn, camera_id, builder.to_state(), builder.now, not builder.waiting)
                out += produced
        if out:
            self.outbox_signal.set()
        return out

    async def _persist(self, conn: Any, org: str, produced: Sequence[JourneyEvent]) -> None:
        from footfall.v1 import customers_pb2

        from footfall.services.customers import convert  # protobuf only where events leave the domain

        for ev in produced:
            if isinstance(ev, CustomerEntry):
                journey_id = await store.insert_active_journey(conn, org, ev)
                msg = customers_pb2.CustomerEntered(
                    journey_id=journey_id, customer_id=ev.customer_id, session_id=ev.session_id, camera_id=ev.camera_id,
                )
                msg.entry_time.CopyFrom(convert.ts(ev.timestamp))
                await store.add_event(
                    conn, org, event_id_for(org, ev.session_id, CUSTOMER_ENTRY), CUSTOMER_ENTRY,
                    ev.webhook_payload(), msg.SerializeToString(), ev.timestamp,
                )
            else:
                rec = await self._complete(conn, org, ev)
                if rec is None:
                    continue  # completed before (a replay): the first completion and its event stand
                payload = customers_pb2.JourneyCompleted(journey=convert.journey_pb(rec))
                await store.add_event(
                    conn, org, event_id_for(org, ev.journey.session_id, JOURNEY_COMPLETE), JOURNEY_COMPLETE,
                    ev.webhook_payload(), payload.SerializeToString(), ev.journey.exit_time or ev.journey.entry_time,
                )

    async def _complete(self, conn: Any, org: str, done: JourneyComplete) -> JourneyRecord | None:
        """Store a finished journey and claim the unmatched transactions made during it; None when the
        journey was already complete (a replay may carry only part of its events: it must not rewrite it)."""
        journey_id = await store.complete_journey(conn, org, done)
        if journey_id is None:
            return None
        rec = await store.get_journey(conn, journey_id)
        assert rec is not None
        j, w = rec.journey, self.config.match_window_s
        exit_time = j.exit_time if j.exit_time is not None else j.entry_time
        pending = [store.txn_domain(t) for t in await store.unmatched_transactions(conn, j.entry_time - w, exit_time + w)]
        if pending:
            others = [presence_of(r) for r in await store.journeys_near(conn, j.entry_time - 2 * w, exit_time + 2 * w)
                      if r.id != rec.id]
            for txn in match_journey(presence_of(rec), pending, others, w):
                await store.assign_transaction(conn, txn.transaction_id, rec.id)
                rec.transaction_ids.append(txn.transaction_id)
        conversion = PURCHASED if rec.transaction_ids else NO_PURCHASE
        await store.set_conversion(conn, rec.id, conversion)
        done.journey.conversion_status = conversion
        updated = await store.get_journey(conn, rec.id)
        assert updated is not None
        return updated

    # ---- transactions -------------------------------------------------------------------------------

    async def record_transaction(
        self, org: str, txn: POSTransaction
    ) -> tuple[TransactionRecord, JourneyRecord | None, bool]:
        """Store ``txn`` (idempotent by id) and convert the journey it matches; see ``conversion``."""
        async with self.db.tenant(org) as conn:
            created = await store.insert_transaction(conn, org, txn)
            if created:
                w = self.config.match_window_s
                candidates = await store.journeys_near(conn, txn.time - w, txn.time + w, txn.camera_id)
                match = match_transaction(txn, [presence_of(r) for r in candidates], w)
                if match is not None:
                    await store.assign_transaction(conn, txn.transaction_id, match.key)
                    rec = next(r for r in candidates if r.id == match.key)
                    conversion = rec.journey.conversion_status if rec.journey.exit_time is None else PURCHASED
                    await store.set_conversion(conn, match.key, conversion)
            stored = await store.get_transaction(conn, txn.transaction_id)
            assert stored is not None
            journey = await store.get_journey(conn, stored.journey_id) if stored.journey_id else None
            return stored, journey, created

    # ---- erasure -----------------------------------------------------------------------------------

    async def forget_persons(self, org: str, person_ids: Sequence[str]) -> int:
        """Unlink identity's erased persons from carts and journeys (see erasure.py); rows changed."""
        async with self.db.tenant(org) as conn:
            return await store.unlink_persons(conn, person_ids)

    # ---- queries ------------------------------------------------------------------------------------

    async def list_journeys(
        self, org: str, f: JourneyFilter, size: int = 0, token: str = ""
    ) -> tuple[list[JourneyRecord], str]:
        limit = page_size(size)
        after = None
        if token:
            data = decode_token(token)
            try:
                after = (datetime.fromisoformat(data["t"]), int(data["id"]))
            except (KeyError, TypeError, ValueError):
                raise InvalidArgument("invalid page_token") from None
        async with self.db.tenant(org) as conn:
            rows = await store.list_journeys(conn, f, limit + 1, after)
        next_token = ""
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_token = encode_token({"t": to_datetime(last.journey.entry_time).isoformat(), "id": last.id})
        return rows, next_token

    async def latest_journeys(self, org: str, limit: int = 100) -> list[JourneyRecord]:
        rows, _ = await self.list_journeys(org, JourneyFilter(), limit)
        return rows

    async def get_journey(self, org: str, journey_id: int) -> JourneyRecord:
        async with self.db.tenant(org) as conn:
            rec = await store.get_journey(conn, journey_id)
        if rec is None:
            raise NotFound(f"journey {journey_id} not found")
        return rec

    async def journey_stats(self, org: str, f: JourneyFilter | None = None) -> JourneyStats:
        async with self.db.tenant(org) as conn:
            return await store.journey_stats(conn, f or JourneyFilter())

    async def count_journeys(self, org: str) -> int:
        async with self.db.tenant(org) as conn:
            return await store.count_journeys(conn)

    async def export_journeys(self, org: str, f: JourneyFilter, fmt: str) -> tuple[str, str, bytes]:
        """(filename, content type, file bytes) of the filtered journeys, oldest first."""
        records: list[JourneyRecord] = []
        token = ""
        while True:
            page, token = await self.list_journeys(org, f, MAX_PAGE, token)
            records.extend(page)
            if not token:
                break
        records.reverse()
        return exports.export(records, fmt)

    # ---- webhooks -----------------------------------------------------------------------------------

    async def create_webhook(
        self, org: str, url: str, events: Iterable[str] = (), secret: str = ""
    ) -> tuple[Webhook, str]:
        url = validate_webhook_url(url, allow_http=self.config.webhook_allow_http)
        await check_webhook_target(url, self.config.webhook_policy)
        wanted = list(dict.fromkeys(e.strip() for e in events if e.strip())) or list(DEFAULT_WEBHOOK_EVENTS)
        unknown = [e for e in wanted if e not in WEBHOOK_EVENTS]
        if unknown:
            raise InvalidArgument(f"unknown webhook events {unknown}; use {list(WEBHOOK_EVENTS)}")
        secret = secret or secrets.token_urlsafe(32)
        async with self.db.tenant(org) as conn:
            hook = await store.create_webhook(conn, org, url, wanted, secret)
        return hook, secret

    async def list_webhooks(self, org: str, size: int = 0, token: str = "") -> tuple[list[Webhook], str]:
        limit = page_size(size)
        after = int(decode_token(token).get("id", 0)) if token else 0
        async with self.db.tenant(org) as conn:
            rows = await store.list_webhooks(conn, limit + 1, after)
        if len(rows) > limit:
            return rows[:limit], encode_token({"id": rows[limit - 1].id})
        return rows, ""

    async def delete_webhook(self, org: str, webhook_id: int) -> None:
        async with self.db.tenant(org) as conn:
            if not await store.delete_webhook(conn, webhook_id):
                raise NotFound(f"webhook {webhook_id} not found")

    async def list_deliveries(
        self, org: str, webhook_id: int, size: int = 0, token: str = ""
    ) -> tuple[list[WebhookDelivery], str]:
        limit = page_size(size)
        before = int(decode_token(token).get("id", 0)) if token else None
        async with self.db.tenant(org) as conn:
            if await store.get_webhook(conn, webhook_id) is None:
                raise NotFound(f"webhook {webhook_id} not found")
            rows = await store.list_deliveries(conn, webhook_id, limit + 1, before)
        if len(rows) > limit:
            return rows[:limit], encode_token({"id": rows[limit - 1].id})
        return rows, ""


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): base, 2 base, 4 base, ... capped."""
    return min(max_s, base_s * math.pow(2, max(0, attempt - 1)))
