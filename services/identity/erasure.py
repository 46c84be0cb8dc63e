"""Erasure of a person or a customer's identity data, and the retention of unknown faces.

Erasure removes the person rows (their tracks go with them), the face vectors (rows and vector-store points),
the consents no remaining face needs, the face images and crops in the data directory, and then publishes
`footfall.<org>.identity.erased` so that services holding identity links (the customers service's carts
name person ids) can drop them. Face crops are never retained in NATS: the consumer deletes each crop
event from the stream once applied (see consumer.py).

Retention: faces of people linked to no customer were stored without consent, so they are erased
FOOTFALL_UNKNOWN_FACE_RETENTION after they were stored (vectors and images); the anonymous person row
(times, cameras, demographics) stays for statistics.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import psycopg
from footfall.services.core.errors import NotFound
from footfall.services.core.principal import Principal
from footfall.services.identity import store
from footfall.services.identity.deps import ERASED, IdentityDeps, erased_event, requester
from footfall.services.identity.domain import ErasureReport, Person, person_id_of
from footfall.services.identity.people import PERSON_NOT_FOUND

log = logging.getLogger(__name__)

RETENTION_BATCH = 1000


class Erasure:
    def __init__(self, deps: IdentityDeps) -> None:
        self.deps = deps

    async def erase_person(self, org: str, person_id: str, principal: Principal | None) -> ErasureReport:
        person_id = person_id_of(person_id)
        async with self.deps.db.tenant(org) as conn:
            person = await store.get_person(conn, person_id, lock=True)
            if person is None:
                raise NotFound(PERSON_NOT_FOUND)
            faces = await store.person_faces(conn, [person_id])
            report = await self._erase(conn, org, [person], faces, None)
            await self._audit(org, report, None, principal)
            await self._announce(conn, org, report, None)
        return report

    async def erase_customer(self, org: str, customer_id: int, principal: Principal | None) -> ErasureReport:
        """Every person linked to the customer and every face of theirs; NOT_FOUND when identity holds nothing
        of them (the customer record itself belongs to the customers service)."""
        async with self.deps.db.tenant(org) as conn:
            persons = await store.persons_of_customer(conn, customer_id)
            faces = await store.customer_faces(conn, customer_id)
            faces += [f for f in await store.person_faces(conn, [p.id for p in persons]) if f not in faces]
            if not persons and not faces:
                raise NotFound("Customer has no identity data")
            report = await self._erase(conn, org, persons, faces, customer_id)
            await self._audit(org, report, customer_id, principal)
            await self._announce(conn, org, report, customer_id)
        return report

    async def _erase(self, conn: psycopg.AsyncConnection, org: str, persons: list[Person],
                     faces: list[store.FaceVectorRow], customer_id: int | None) -> ErasureReport:
        person_ids = [p.id for p in persons]
        vector_ids = list({f.id for f in faces})
        await self.deps.vectors.delete_ids(org, vector_ids)
        if customer_id is not None:
            await self.deps.vectors.delete_customer(org, str(customer_id))
        for person_id in person_ids:
            await self.deps.vectors.delete_person(org, person_id)
        await store.delete_face_vectors(conn, vector_ids)
        consents = await store.delete_unused_consents(conn, [f.consent_id for f in faces if f.consent_id],
                                                      customer_id)
        await store.delete_persons(conn, person_ids)
        images = self.deps.images.delete(org, list({*(p.image_path for p in persons), *(f.image_path for f in faces)}))
        return ErasureReport(person_ids, len(vector_ids), images, consents)

    async def _audit(self, org: str, report: ErasureReport, customer_id: int | None,
                     principal: Principal | None) -> None:
        """Inside the transaction: if the audit log refuses, the rows stay and the caller retries (vectors
        and images already removed stay removed; a retry removes the rest)."""
        target = f"customer:{customer_id}" if customer_id is not None else f"person:{report.person_ids[0]}"
        await self.deps.audit.record(
            org, "identity.erase", target,
            {"requested_by": requester(principal), "person_ids": report.person_ids,
             "face_vectors": report.face_vectors, "images": report.images, "consents": report.consents})

    async def _announce(self, conn: psycopg.AsyncConnection, org: str, report: ErasureReport,
                        customer_id: int | None) -> None:
        """Inside the transaction: `erased` is published once the erasure commits (the outbox)."""
        await self.deps.stage(conn, org, ERASED, erased_event(report.person_ids, customer_id, datetime.now(UTC)))
        log.info("org %s: erased %d person(s), %d face(s), %d image(s)", org, len(report.person_ids),
                 report.face_vectors, report.images)

    async def expire_unknown_faces(self, now: datetime | None = None) -> int:
        """Erase, in every organisation, unknown faces stored longer than the retention; returns how many."""
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=self.deps.config.unknown_face_retention_s)
        erased = 0
        while True:
            async with self.deps.db.system() as conn:
                faces = await store.system_unknown_faces_before(conn, cutoff, RETENTION_BATCH)
                for org in {f.org for f in faces}:
                    mine = [f for f in faces if f.org == org]
                    await self.deps.vectors.delete_ids(org, [f.id for f in mine])
                    self.deps.images.delete(org, [f.image_path for f in mine])
                await store.delete_face_vectors(conn, [f.id for f in faces])
                images = await store.system_unknown_person_images_before(conn, cutoff, RETENTION_BATCH)
                for org, _, path in images:
                    self.deps.images.delete(org, [path])
                await store.system_clear_person_images(conn, [pid for _, pid, _ in images])
            erased += len(faces) + len(images)
            if len(faces) < RETENTION_BATCH and len(images) < RETENTION_BATCH:
                break
        await self.deps.vectors.delete_unlinked_before(cutoff)
        if erased:
            log.info("retention: erased %d unknown face(s) stored before %s", erased, cutoff.isoformat())
        return erased
