"""The promotions service's behaviours, each in one method that REST, GraphQL and gRPC all end in.

Recommendations: an identification event is applied once (its id claimed in the transaction that records the
action); the action row is an outbox, published to NATS as `footfall.<org>.promotions.action` after the
commit with a deterministic event id and marked published, so a crash between the two re-publishes it on
redelivery and JetStream drops the duplicate. Displays learn of changes through core-NATS notifications on
`live.<prefix>.<org>.promotions.display_changed` (carrying the zone; empty for every zone).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from footfall.services.core import outbox
from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument, NotFound, Unavailable
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.core.idempotency import claim_events
from footfall.services.promotions import convert, store
from footfall.services.promotions.domain import (
    Action,
    Display,
    DisplayContent,
    Identification,
    NewPromotion,
    Promotion,
    StoreZone,
    build_action,
    checked_promotion,
    customer_promotions,
    display_content,
    product_list,
    recommend,
    same_screen,
    text,
    zone_name,
)
from footfall.v1 import promotions_pb2

log = logging.getLogger(__name__)

SERVICE = "promotions"
ACTION = "action"
DISPLAY_CHANGED = "display_changed"
CONSUMER = "promotions.recommendations"
DEFAULT_PAGE, MAX_PAGE = 100, 1000
#: A watcher re-checks at least this often even when nothing is due (clock changes, lost notifications).
WATCH_RECHECK_S = 60.0

Clock = Callable[[], datetime]
LoyaltyOf = Callable[[str, int], Awaitable[str]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PromotionsConfig:
    min_confidence: float = 0.7
    max_recommendations: int = 3
    offer_ttl_s: float = 120.0
    history_days: int = 365

    @classmethod
    def from_settings(cls, settings: object) -> PromotionsConfig:
        return cls(
            min_confidence=getattr(settings, "promotions_min_confidence", cls.min_confidence),
            max_recommendations=getattr(settings, "promotions_max_recommendations", cls.max_recommendations),
            offer_ttl_s=getattr(settings, "promotions_offer_ttl_s", cls.offer_ttl_s),
            history_days=getattr(settings, "promotions_history_days", cls.history_days),
        )


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative")
    return min(requested or DEFAULT_PAGE, MAX_PAGE)


def before_id(token: str) -> int | None:
    if not token:
        return None
    if not token.isdigit() or len(token) > 18:
        raise InvalidArgument("page_token is not a token of this list")
    return int(token)


class Promotions:
    """Every method acts inside one organisation, `org`."""

    def __init__(self, db: Database, bus: EventBus | None, loyalty_of: LoyaltyOf, *,
                 config: PromotionsConfig | None = None, clock: Clock = utc_now) -> None:
        self.db = db
        self.bus = bus
        self.loyalty_of = loyalty_of
        self.config = config or PromotionsConfig()
        self.clock = clock

    # ------------------------------------------------------------------------------------ promotions

    async def create_promotion(self, org: str, new: NewPromotion) -> Promotion:
        new = checked_promotion(new)
        async with self.db.tenant(org) as conn:
            created = await store.insert_promotion(conn, org, new)
        await self._display_changed(org, created.zone)
        return created

    async def list_promotions(self, org: str, size: int = 0, token: str = "", *, include_expired: bool = False,
                              zone: str = "") -> tuple[list[Promotion], str, int]:
        limit = page_size(size)
        async with self.db.tenant(org) as conn:
            rows, total = await store.list_promotions(
                conn, valid_at=None if include_expired else self.clock(), zone=zone.strip(),
                before_id=before_id(token), limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, str(rows[-1].id) if more else "", total

    async def customer_promotions(self, org: str, customer_id: int) -> tuple[str, tuple[Promotion, ...]]:
        """The customer's loyalty status and the promotions valid now for it (and for everyone)."""
        status = await self.loyalty_of(org, customer_id)
        now = self.clock()
        async with self.db.tenant(org) as conn:
            candidates = await store.current_and_future_promotions(conn, now, None)
        return status, customer_promotions(candidates, status, now)

    # ----------------------------------------------------------------------------------------- zones

    async def set_zone(self, org: str, zone: str, products: Sequence[str], camera_ids: Sequence[str]) -> StoreZone:
        zone = zone_name(zone)
        products = product_list(products)
        cameras = product_list(camera_ids, "camera_ids")
        async with self.db.tenant(org) as conn:
            return await store.replace_zone(conn, org, zone, products, cameras)

    async def get_zone(self, org: str, zone: str) -> StoreZone:
        async with self.db.tenant(org) as conn:
            found = await store.zone_by_name(conn, zone_name(zone))
        if found is None:
            raise NotFound("Zone not found")
        return found

    # -------------------------------------------------------------------------------------- displays

    async def create_display(self, org: str, name: str, zone: str) -> Display:
        async with self.db.tenant(org) as conn:
            return await store.insert_display(conn, org, text(name, "name", most=200), zone_name(zone))

    async def display(self, org: str, display_id: int) -> DisplayContent:
        now = self.clock()
        async with self.db.tenant(org) as conn:
            found = await store.display_by_id(conn, display_id)
            if found is None:
                raise NotFound("Display not found")
            personal = await store.presence_in_zone(conn, found.zone, now)
            candidates = await store.current_and_future_promotions(conn, now, found.zone)
        return display_content(found, personal, candidates, now)

    async def watch_display(self, org: str, display_id: int) -> AsyncIterator[DisplayContent]:
        """What the display shows now, then each change: a promotion or a recommendation for its zone, an
        offer or promotion starting or ending (across processes, through core-NATS notifications)."""
        if self.bus is None or not self.bus.connected:
            raise Unavailable("live updates need NATS, which is not connected")
        changed = asyncio.Event()

        async def on_message(msg) -> None:  # type: ignore[no-untyped-def]
            changed.set()

        sub = await self.bus.nc.subscribe(self.bus.live_subject(org, SERVICE, DISPLAY_CHANGED), cb=on_message)
        try:
            shown = await self.display(org, display_id)
            yield shown
            while True:
                wait_s = WATCH_RECHECK_S
                if shown.next_change_at is not None:
                    due = (shown.next_change_at - self.clock()).total_seconds()
                    wait_s = min(wait_s, max(due, 0.0) + 0.05)
                try:
                    await asyncio.wait_for(changed.wait(), wait_s)
                except TimeoutError:
                    pass
                changed.clear()
                current = await self.display(org, display_id)
                if not same_screen(current, shown):
                    yield current
                shown = current
        finally:
            try:
                await sub.unsubscribe()
            except Exception:  # the connection is closing
                pass

    async def _display_changed(self, org: str, zone: str) -> None:
        if self.bus is None or not self.bus.connected:
            return
        try:
            await self.bus.notify(self.bus.live_subject(org, SERVICE, DISPLAY_CHANGED), promotions_pb2.Display(zone=zone))
        except Exception as err:  # a lost notification only delays a display until its next re-check
            log.debug("display notification failed: %s", err)

    # --------------------------------------------------------------------------------- recommendations

    async def list_actions(self, org: str, customer_id: int = 0, size: int = 0,
                           token: str = "") -> tuple[list[Action], str]:
        limit = page_size(size)
        async with self.db.tenant(org) as conn:
            rows = await store.list_actions(conn, customer_id=customer_id, before_id=before_id(token),
                                            limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return [a for _, a in rows], str(rows[-1][0]) if more else ""

    async def apply_identification(self, org: str, ident: Identification) -> Action | None:
        """Recommend for one identification (once per event id); publish the action. None: nothing to do
        (below the confidence threshold, unknown customer, camera covering no zone, or applied before)."""
        if ident.confidence < self.config.min_confidence:
            log.info("org %s: identification %s below confidence threshold (%.2f < %.2f); nothing recommended",
                     org, ident.event_id, ident.confidence, self.config.min_confidence)
            return None
        try:
            status = await self.loyalty_of(org, ident.customer_id)
        except NotFound:
            log.warning("org %s: identification %s names unknown customer %d", org, ident.event_id, ident.customer_id)
            return None
        since = self.clock() - timedelta(days=self.config.history_days)
        action = None
        async with self.db.tenant(org) as conn:
            if await claim_events(conn, CONSUMER, org, [ident.event_id]):
                zone = await store.zone_of_camera(conn, ident.camera_id)
                if zone is None:
                    log.info("org %s: camera %s covers no store zone; nothing recommended", org, ident.camera_id)
                else:
                    history = await store.product_history(conn, ident.customer_id, zone.products, since)
                    products = recommend(zone.products, history, self.config.max_recommendations)
                    action = build_action(ident, status, zone.zone, products,
                                          timedelta(seconds=self.config.offer_ttl_s))
                    await store.insert_action(conn, org, action)
        await self.publish_pending(org, [ident.event_id])
        return action

    async def publish_pending(self, org: str, identification_event_ids: Sequence[str]) -> None:
        """Stage the actions of these identifications not yet sent in the outbox (published to NATS once this
        transaction commits), and mark them published in the same transaction."""
        async with self.db.tenant(org) as conn:
            pending = await store.unpublished_actions(conn, identification_event_ids)
            if not pending:
                return
            if self.bus is None:
                raise Unavailable("NATS is not connected")
            for action in pending:
                await outbox.stage(conn, self.bus, make_envelope(
                    org, SERVICE, ACTION, convert.action(action), event_id=action.event_id,
                    occurred_at=action.identified_at))
            await store.mark_published(conn, [a.event_id for a in pending])
        for zone in {a.store_zone for a in pending}:
            await self._display_changed(org, zone)
