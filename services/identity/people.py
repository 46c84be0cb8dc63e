"""Persons through the API: seed 003's person records (create, read, list, update, statistics) and seed 002's
`/track` updates. A person's name and phone are the linked customer record's (issue 8: one customer model)."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.identity import store
from footfall.services.identity.deps import PERSON_JOINED, IdentityDeps
from footfall.services.identity.domain import (
    AGE_BANDS,
    Attributes,
    CustomerInfo,
    Person,
    StatisticsBucket,
    checked_age,
    checked_text,
    new_id,
    percentages,
    person_id_of,
    seed_emotion,
    seed_gender,
    with_sighting,
)
from footfall.services.identity.vectors import FaceVector
from footfall.services.identity.vectors.store import checked_vector
from footfall.v1 import events_pb2

log = logging.getLogger(__name__)

PERSON_NOT_FOUND = "Person not found"
MAX_PAGE = 1000
STATISTIC_KINDS = ("gender", "age", "emotion", "body_type")


@dataclass(frozen=True)
class PersonView:
    """A person with what the customers service knows of them."""

    person: Person
    customer: CustomerInfo | None = None


@dataclass(frozen=True)
class PersonChanges:
    full_name: str | None = None
    phone_number: str | None = None
    age: int | None = None
    gender: str | None = None
    emotion: str | None = None
    body_type: str | None = None


@dataclass(frozen=True)
class TrackedObject:
    object_id: str
    x: float | None
    y: float | None
    person_id: str | None = None
    customer_id: int | None = None


def page_token(person: Person) -> str:
    assert person.created_at is not None
    return base64.urlsafe_b64encode(f"{person.created_at.isoformat()}|{person.id}".encode()).decode()


def after_of(token: str) -> tuple[datetime, str] | None:
    if not token:
        return None
    try:
        at, _, pid = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        return datetime.fromisoformat(at), person_id_of(pid)
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("invalid page token") from None


def joined_event(person: Person, customer: CustomerInfo | None, camera_id: str) -> events_pb2.PersonJoined:
    a = person.attributes
    event = events_pb2.PersonJoined(person_id=person.id, full_name=customer.name if customer else "", gender=a.gender,
                                    emotion=a.emotion, body_type=person.body_type, camera_id=camera_id)
    if a.age is not None:
        event.age = a.age
    if person.customer_id is not None:
        event.customer_id = person.customer_id
    event.occurred_at.FromDatetime(person.first_seen_at)
    return event


class PeopleService:
    def __init__(self, deps: IdentityDeps) -> None:
        self.deps = deps

    async def _view(self, org: str, person: Person) -> PersonView:
        if person.customer_id is None:
            return PersonView(person)
        found = await self.deps.customers.get_many(org, {person.customer_id})
        return PersonView(person, found.get(person.customer_id))

    async def get(self, org: str, person_id: str) -> PersonView:
        async with self.deps.db.tenant(org) as conn:
            person = await store.get_person(conn, person_id_of(person_id))
        if person is None:
            raise NotFound(PERSON_NOT_FOUND)
        return await self._view(org, person)

    async def list(self, org: str, page_size: int, token: str) -> tuple[list[PersonView], str, int]:
        if not 0 <= page_size <= MAX_PAGE:
            raise InvalidArgument(f"page_size must be between 0 and {MAX_PAGE}")
        size = page_size or 100
        async with self.deps.db.tenant(org) as conn:
            persons = await store.list_persons(conn, size + 1, after_of(token))
            total = await store.count_persons(conn)
        more = len(persons) > size
        persons = persons[:size]
        customers = await self.deps.customers.get_many(
            org, {p.customer_id for p in persons if p.customer_id is not None})
        views = [PersonView(p, customers.get(p.customer_id) if p.customer_id is not None else None) for p in persons]
        return views, page_token(persons[-1]) if more else "", total

    async def create(self, org: str, *, vector: list[float], attributes: Attributes, body_type: str,
                     entry_time: datetime | None, exit_time: datetime | None, image: bytes) -> tuple[PersonView, list[float]]:
        """Seed 003's POST: a person described by a client. A given vector is stored as an unknown face (erased
        after the retention); a given image must hold a face and is kept as the person's crop."""
        values = checked_vector(vector) if vector else []
        checked_age(attributes.age)
        now = datetime.now(UTC)
        person = Person(
            id=new_id(), source="client", first_seen_at=entry_time or now, last_seen_at=exit_time or entry_time or now,
            attributes=replace(attributes, gender=seed_gender(attributes.gender) if attributes.gender else "",
                               emotion=seed_emotion(attributes.emotion) if attributes.emotion else ""),
            body_type=checked_text(body_type, "body_type"), entry_time=entry_time, exit_time=exit_time,
        )
        if image:
            reading = await self.deps.faces.read_image(image)
            person = replace(person, image_path=self.deps.images.write(org, "people", person.id, reading.crop_jpeg),
                             image_quality=reading.quality.score)
            values = values or reading.vector
        try:
            async with self.deps.db.tenant(org) as conn:
                person = await store.save_person(conn, org, person)
                if values:
                    vector_id = new_id()
                    await store.insert_face_vector(conn, org, vector_id, person_id=person.id, customer_id=None,
                                                   consent_id=None, image_path=None, created_at=now)
                    await self.deps.vectors.upsert(org, [FaceVector(vector_id, values, person_id=person.id,
                                                                    created_at=now)])
                await self.deps.stage(conn, org, PERSON_JOINED, joined_event(person, None, ""),
                                      event_id=f"person-{person.id}")
        except BaseException:
            self.deps.images.delete(org, [person.image_path])
            raise
        return PersonView(person), values

    async def update(self, org: str, person_id: str, changes: PersonChanges) -> PersonView:
        """Attributes on the person; name and phone on the linked customer record (created when none)."""
        person_id = person_id_of(person_id)
        async with self.deps.db.tenant(org) as conn:
            current = await store.get_person(conn, person_id)
        if current is None:
            raise NotFound(PERSON_NOT_FOUND)
        customer_id = current.customer_id
        if changes.full_name is not None or changes.phone_number is not None:
            name = checked_text(changes.full_name, "full_name") if changes.full_name is not None else None
            phone = checked_text(changes.phone_number, "phone_number") if changes.phone_number is not None else None
            if customer_id is None:
                created = await self.deps.customers.create(org, name or f"Person {person_id[:8]}", phone=phone or "")
                customer_id = created.id
            else:
                await self.deps.customers.update_contact(org, customer_id, name, phone)
        async with self.deps.db.tenant(org) as conn:
            person = await store.get_person(conn, person_id, lock=True)
            if person is None:
                raise NotFound(PERSON_NOT_FOUND)
            a = person.attributes
            attributes = replace(
                a,
                age=checked_age(changes.age) if changes.age is not None else a.age,
                age_confidence=1.0 if changes.age is not None else a.age_confidence,
                gender=seed_gender(changes.gender) if changes.gender is not None else a.gender,
                gender_confidence=1.0 if changes.gender is not None else a.gender_confidence,
                emotion=seed_emotion(changes.emotion) if changes.emotion is not None else a.emotion,
                emotion_confidence=1.0 if changes.emotion is not None else a.emotion_confidence,
            )
            body_type = checked_text(changes.body_type, "body_type") if changes.body_type is not None else person.body_type
            person = await store.save_person(conn, org, replace(person, attributes=attributes, body_type=body_type,
                                                                customer_id=customer_id))
        return await self._view(org, person)

    async def track(self, org: str, camera_id: str, observed_at: datetime | None, objects: list[TrackedObject]
                    ) -> list[str]:
        """Seed 002's tracking update: each object's position joins its person (the named one, else the one
        its track on this camera became, else a new person)."""
        camera_id = checked_text(camera_id, "camera_id", required=True)
        at = observed_at or datetime.now(UTC)
        person_ids: list[str] = []
        joined: list[Person] = []
        async with self.deps.db.tenant(org) as conn:
            for obj in objects:
                object_id = checked_text(obj.object_id, "object_id", required=True)
                person = None
                if obj.person_id:
                    person = await store.get_person(conn, person_id_of(obj.person_id), lock=True)
                    if person is None:
                        raise NotFound(PERSON_NOT_FOUND)
                else:
                    track = await store.get_track(conn, camera_id, object_id)
                    if track is not None:
                        person = await store.get_person(conn, track.person_id, lock=True)
                if person is None:
                    person = Person(id=new_id(), source="track", first_seen_at=at, last_seen_at=at, entry_time=at)
                    joined.append(person)
                if obj.customer_id is not None:
                    await self.deps.customers.get(org, obj.customer_id)
                    person = replace(person, customer_id=obj.customer_id)
                person = await store.save_person(conn, org, with_sighting(person, camera_id, at, obj.x, obj.y))
                await store.save_track(conn, org, camera_id, object_id, person.id, at, None)
                person_ids.append(person.id)
            for person in joined:
                await self.deps.stage(conn, org, PERSON_JOINED, joined_event(person, None, camera_id),
                                      event_id=f"person-{person.id}")
        return person_ids

    async def statistics(self, org: str, kind: str, since: datetime | None, until: datetime | None
                         ) -> list[StatisticsBucket]:
        if kind not in STATISTIC_KINDS:
            raise InvalidArgument(f"kind must be one of {', '.join(STATISTIC_KINDS)}")
        async with self.deps.db.tenant(org) as conn:
            counts = dict(await store.attribute_counts(conn, kind, since, until))
        if kind == "age":
            return percentages([(label, counts.get(label, 0)) for label, _, _ in AGE_BANDS], ordered=True)
        return percentages(list(counts.items()))
