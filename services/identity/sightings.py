"""Face crops from cameras become persons: embed once per track, re-embed only for a clearly better crop,
recognise customers, follow a person across cameras, and say so on NATS.

Per crop event, at most once (the event id is claimed in the transaction that applies it):
- a new track is embedded; a known track only when `clearly_better` says the crop beats the embedded one;
- a face matching an enrolled customer within the threshold links the person to that customer, publishes
  `customer_identified` (once per track and customer) and writes the recognition to the audit log;
- a new track whose face matches a person last seen within the cross-camera window (on any camera) joins
  that person; otherwise it starts a new person and `person_joined` is published;
- an unknown person's face is stored (one vector per person, replaced by better crops) without consent,
  which is why the retention job erases it after FOOTFALL_UNKNOWN_FACE_RETENTION.
Events are published after the commit (a reader of an event finds the state it announces) with ids derived
from the crop event's id; a publish that still fails after the bus's retries is lost (logged), since the
event id is already claimed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import psycopg
from footfall.inference.faces import FaceQuality, clearly_better
from footfall.services.core.errors import InvalidArgument, TooLarge
from footfall.services.core.idempotency import claim_events
from footfall.services.identity import store
from footfall.services.identity.deps import CUSTOMER_IDENTIFIED, PERSON_JOINED, IdentityDeps
from footfall.services.identity.domain import (
    Person,
    Recognition,
    best_per_customer,
    new_id,
    plausibly_same,
    with_sighting,
)
from footfall.services.identity.faces import FaceReading
from footfall.services.identity.people import joined_event
from footfall.services.identity.vectors import FaceMatch, FaceVector
from footfall.v1 import events_pb2
from google.protobuf.message import Message

log = logging.getLogger(__name__)

CONSUMER = "identity.face_crop"
_IDS = uuid.UUID("6f1d0c1e-2b1a-4c55-9a43-3e0c0f1d1d7a")


@dataclass(frozen=True)
class CropSighting:
    event_id: str
    camera_id: str
    track_id: str
    crop_jpeg: bytes
    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...]
    quality: FaceQuality
    observed_at: datetime
    position: tuple[float, float] | None = None


@dataclass(frozen=True)
class SightingOutcome:
    """What one crop event did (for logs and tests)."""

    applied: bool
    person_id: str | None = None
    embedded: bool = False
    new_person: bool = False
    customer: Recognition | None = None
    reason: str = ""


def derived_id(event_id: str, what: str) -> str:
    return str(uuid.uuid5(_IDS, f"{event_id}/{what}"))


def unknown_vector_id(org: str, person_id: str) -> str:
    """One unknown-face vector per person: better crops replace it rather than pile up."""
    return str(uuid.uuid5(_IDS, f"{org}/unknown/{person_id}"))


class Sightings:
    def __init__(self, deps: IdentityDeps) -> None:
        self.deps = deps

    async def apply(self, org: str, sighting: CropSighting) -> SightingOutcome:
        if len(sighting.crop_jpeg) > self.deps.config.max_crop_bytes:
            return await self._skip(org, sighting, "crop too large")
        async with self.deps.db.tenant(org) as conn:
            if await store.already_applied(conn, CONSUMER, sighting.event_id):
                return SightingOutcome(False, reason="already applied")
            track = await store.get_track(conn, sighting.camera_id, sighting.track_id)
        embedded_quality = None if track is None or track.embedded_quality is None else FaceQuality(
            track.embedded_sharpness or 0.0, track.embedded_size or 0.0, track.embedded_frontal or 0.0,
            track.embedded_quality)
        reading: FaceReading | None = None
        matches: list[FaceMatch] = []
        if track is None or clearly_better(sighting.quality, embedded_quality):
            try:
                reading = await self.deps.faces.read_crop(sighting.crop_jpeg, sighting.box, sighting.score,
                                                          sighting.landmarks)
            except (InvalidArgument, TooLarge):
                return await self._skip(org, sighting, "no usable face in the crop")
            matches = await self.deps.vectors.search(org, reading.vector, limit=10,
                                                     max_distance=self.deps.config.threshold)
        async with self.deps.db.tenant(org) as conn:
            if not await claim_events(conn, CONSUMER, org, [sighting.event_id]):
                return SightingOutcome(False, reason="already applied")
            outcome, announcements = await self._apply(conn, org, sighting, track, reading, matches)
            for event, payload in announcements:  # published after the commit: readers find its state
                await self.deps.stage(conn, org, event, payload, event_id=derived_id(sighting.event_id, event),
                                      occurred_at=sighting.observed_at)
        return outcome

    async def _skip(self, org: str, sighting: CropSighting, reason: str) -> SightingOutcome:
        async with self.deps.db.tenant(org) as conn:
            await claim_events(conn, CONSUMER, org, [sighting.event_id])
        log.info("org %s: face crop %s of track %s/%s skipped: %s", org, sighting.event_id, sighting.camera_id,
                 sighting.track_id, reason)
        return SightingOutcome(False, reason=reason)

    async def _apply(self, conn: psycopg.AsyncConnection, org: str, s: CropSighting, track: store.TrackRow | None,
                     reading: FaceReading | None, matches: list[FaceMatch]
                     ) -> tuple[SightingOutcome, list[tuple[str, Message]]]:
        at = s.observed_at
        person = await store.get_person(conn, track.person_id, lock=True) if track is not None else None
        known_track = person is not None
        if person is None:
            person = await self._cross_camera_person(conn, matches, at)
        new_person = person is None
        if person is None:
            person = Person(id=new_id(), source="camera", first_seen_at=at, last_seen_at=at, entry_time=at)
        previous_customer = person.customer_id
        best = best_per_customer(((int(m.customer_id), m.person_id, m.id, m.distance) for m in matches
                                  if m.customer_id), self.deps.config.threshold, 1)
        customer = best[0] if best else None
        if customer is not None:
            person = replace(person, customer_id=customer.customer_id)
        x, y = s.position if s.position else (None, None)
        person = with_sighting(person, s.camera_id, at, x, y)
        written: str | None = None
        if reading is not None and (person.image_quality is None or reading.quality.score > person.image_quality):
            written = self.deps.images.write(org, "people", person.id, reading.crop_jpeg)
            person = replace(person, image_path=written, image_quality=reading.quality.score,
                             attributes=reading.attributes)
        try:
            person = await store.save_person(conn, org, person)
            quality = None if reading is None else (s.quality.score, s.quality.sharpness, s.quality.size,
                                                    s.quality.frontal)
            await store.save_track(conn, org, s.camera_id, s.track_id, person.id, at, quality)
            if reading is not None and customer is None:
                await self._keep_unknown_face(conn, org, person.id, reading.vector)
            announcements: list[tuple[str, Message]] = []
            if customer is not None and (not known_track or previous_customer != customer.customer_id):
                announcements.append((CUSTOMER_IDENTIFIED, await self._identified(org, s, person.id, customer)))
            if new_person:
                announcements.append((PERSON_JOINED, joined_event(person, None, s.camera_id)))
        except BaseException:
            if new_person and written:
                self.deps.images.delete(org, [written])
            raise
        return SightingOutcome(True, person.id, reading is not None, new_person, customer), announcements

    async def _cross_camera_person(self, conn: psycopg.AsyncConnection, matches: list[FaceMatch], at: datetime
                                   ) -> Person | None:
        """The closest matching person last seen within the window (matches come closest first)."""
        for match in matches:
            if not match.person_id:
                continue
            person = await store.get_person(conn, match.person_id, lock=True)
            if person is not None and plausibly_same(person, at, self.deps.config.cross_camera_window_s):
                return person
        return None

    async def _keep_unknown_face(self, conn: psycopg.AsyncConnection, org: str, person_id: str,
                                 vector: list[float]) -> None:
        vector_id = unknown_vector_id(org, person_id)
        now = datetime.now(UTC)
        await store.insert_face_vector(conn, org, vector_id, person_id=person_id, customer_id=None, consent_id=None,
                                       image_path=None, created_at=now)
        await self.deps.vectors.upsert(org, [FaceVector(vector_id, vector, person_id=person_id, created_at=now)])

    async def _identified(self, org: str, s: CropSighting, person_id: str, customer: Recognition
                          ) -> events_pb2.CustomerIdentified:
        """Audit the recognition (inside the transaction: no identification without its audit entry)."""
        await self.deps.audit.record(
            org, "identity.recognize", f"customer:{customer.customer_id}",
            {"requested_by": "camera", "camera_id": s.camera_id, "track_id": s.track_id, "person_id": person_id,
             "distance": round(customer.distance, 4), "confidence": customer.confidence,
             "event_id": s.event_id})
        # The track lets vision attach the customer to what its cameras are following.
        event = events_pb2.CustomerIdentified(customer_id=customer.customer_id, confidence=customer.confidence,
                                              camera_id=s.camera_id, person_id=person_id, track_id=s.track_id)
        event.timestamp.FromDatetime(s.observed_at)
        return event
