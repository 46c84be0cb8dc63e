"""Telling the world: live notifications (core NATS) and durable `occupancy.alert_raised` events.

Subjects (`<prefix>` is `settings.nats_subject_prefix`, `footfall` by default):

* `live.<prefix>.<org>.occupancy.updated` — a `footfall.v1.LiveOccupancy`, after each committed batch or
  calibration that changed a camera (one message per camera per batch). Not durable.
* `live.<prefix>.<org>.occupancy.alert_raised` — a `footfall.v1.Alert`, when an alert is raised. Not durable.
* `<prefix>.<org>.occupancy.alert_raised` — JetStream (durable): an `EventEnvelope` whose payload is the
  `footfall.v1.Alert`; its event id is `occupancy-alert-<id>`, so a retried publish is dropped as a
  duplicate. Staged in the outbox by the transaction that stores the alert (`stage`), published after it
  commits (services/core/outbox.py): a NATS outage or a shutdown delays it, never loses it.

Alert *rules* are pure functions in `domain.py` (`capacity_alert`, `apply_batch`); this module only
announces what the service committed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import psycopg
from footfall.services.core import outbox
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.occupancy import convert
from footfall.services.occupancy.domain import Alert, LiveOccupancy

log = logging.getLogger(__name__)

SERVICE = "occupancy"
UPDATED = "updated"
ALERT_RAISED = "alert_raised"


class Notifier:
    def __init__(self, bus: EventBus | None) -> None:
        self.bus = bus

    async def occupancy(self, org: str, lives: Sequence[LiveOccupancy]) -> None:
        if self.bus is None or not lives:
            return
        subject = self.bus.live_subject(org, SERVICE, UPDATED)
        for lo in lives:
            await self._notify(subject, convert.live(lo))

    async def stage(self, conn: psycopg.AsyncConnection, org: str, alerts: Sequence[Alert]) -> None:
        """In the transaction that stored `alerts`: their durable `alert_raised` events (the outbox)."""
        if self.bus is None:
            return
        for a in alerts:
            await outbox.stage(conn, self.bus, make_envelope(
                org, SERVICE, ALERT_RAISED, convert.alert(a), event_id=f"occupancy-alert-{a.id}",
                occurred_at=a.timestamp))

    async def alerts(self, org: str, alerts: Sequence[Alert]) -> None:
        """After the commit: the live notifications (the durable events were staged with the alerts)."""
        if self.bus is None or not alerts:
            return
        subject = self.bus.live_subject(org, SERVICE, ALERT_RAISED)
        for a in alerts:
            log.warning("alert raised for org %s camera %s: %s (%s)", org, a.camera_id, a.alert_type.value, a.message)
            await self._notify(subject, convert.alert(a))

    async def _notify(self, subject: str, payload) -> None:  # type: ignore[no-untyped-def]
        assert self.bus is not None
        try:
            await self.bus.notify(subject, payload)
        except Exception as err:  # live updates are best effort; the state is in the database
            log.debug("live notification on %s failed: %s", subject, err)

    async def drain(self, timeout: float = 10.0) -> None:
        """Nothing to wait for on shutdown: durable events leave through the outbox relay."""
