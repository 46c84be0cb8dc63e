"""Enrolment and recognition: embeddings, recognising customers, registering faces under consent,
auto-registration under an organisation's policy, and a customer's enrolled face.

No face vector is stored for a customer without a consent record: the one given, the registering
credential's attestation (audited as such), or the organisation's auto-registration policy.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from footfall.services.core.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from footfall.services.core.principal import ADMINS, Principal
from footfall.services.identity import store
from footfall.services.identity.deps import IdentityDeps, requester
from footfall.services.identity.domain import (
    Consent,
    CustomerInfo,
    Enrolment,
    Person,
    Policy,
    Recognition,
    attested_consent,
    best_per_customer,
    checked_text,
    new_id,
    person_id_of,
    policy_consent,
)
from footfall.services.identity.faces import FaceReading
from footfall.services.identity.vectors import FaceVector
from footfall.services.identity.vectors.store import MAX_SEARCH_LIMIT, checked_vector

log = logging.getLogger(__name__)

ALREADY_REGISTERED = "This face is already registered"
AUTO_REGISTER_OFF = "auto-registration is off for this organisation"
FACE_NOT_FOUND = "Customer face not found"
POLICY_ADMINS_ONLY = "only the organisation's admins may change its identity policy"


class IdentityService:
    def __init__(self, deps: IdentityDeps) -> None:
        self.deps = deps

    # --- embeddings and recognition ------------------------------------------------------------------------

    async def generate_embedding(self, image: bytes) -> list[float]:
        return await self.deps.faces.embed_image(image)

    async def recognize(self, org: str, *, image: bytes | None = None, vector: list[float] | None = None,
                        threshold: float | None = None, limit: int = 5, camera_id: str = "",
                        principal: Principal | None = None) -> list[Recognition]:
        """The enrolled customers matching the face, closest first (empty: unknown), with their records; the
        attempt and its outcome go to the audit log before anything is returned."""
        if image is None and vector is None:
            raise InvalidArgument("an image or an embedding is required")
        query = checked_vector(vector) if vector is not None else (await self.deps.faces.read_image(image or b"")).vector
        threshold = self.threshold(threshold)
        matches = await self.match_customers(org, query, threshold, limit or 5)
        customers = await self.deps.customers.get_many(org, {m.customer_id for m in matches})
        matches = [replace(m, customer=customers[m.customer_id]) for m in matches if m.customer_id in customers]
        await self.deps.audit.record(
            org, "identity.recognize", ",".join(f"customer:{m.customer_id}" for m in matches) or "unknown",
            {"requested_by": requester(principal), "camera_id": camera_id or None, "threshold": threshold,
             "matches": [{"customer_id": m.customer_id, "distance": round(m.distance, 4),
                          "confidence": m.confidence} for m in matches]})
        return matches

    async def match_customers(self, org: str, vector: list[float], threshold: float, limit: int
                              ) -> list[Recognition]:
        """Nearest enrolled faces within the threshold, one recognition per customer (no audit: callers do)."""
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
        found = await self.deps.vectors.search(org, vector, limit=min(MAX_SEARCH_LIMIT, limit * 4),
                                               max_distance=threshold)
        return best_per_customer(
            ((int(m.customer_id), m.person_id, m.id, m.distance) for m in found if m.customer_id), threshold, limit)

    def threshold(self, requested: float | None) -> float:
        if requested is None or requested == 0:
            return self.deps.config.threshold
        if not 0 < requested <= 2:
            raise InvalidArgument("threshold must be between 0 and 2")
        return requested

    # --- enrolment -----------------------------------------------------------------------------------------

    async def register(self, org: str, *, name: str, email: str, phone: str, image: bytes,
                       consent: Consent | None, customer_id: int | None, principal: Principal | None) -> Enrolment:
        """Enrol the face of `image` for a customer: the given one, or a new record on the customers service
        (ALREADY_EXISTS when the face already belongs to a customer)."""
        name = checked_text(name, "name", required=customer_id is None)
        reading = await self.deps.faces.read_image(image)
        if customer_id is not None:
            customer = await self.deps.customers.get(org, customer_id)
        else:
            if await self.match_customers(org, reading.vector, self.deps.config.threshold, 1):
                raise AlreadyExists(ALREADY_REGISTERED)
            customer = await self.deps.customers.create(org, name, email.strip(), phone.strip())
        who = requester(principal)
        attested = consent is None
        if consent is None:
            consent = attested_consent(who, principal.display_name if principal else "")
        consent = replace(consent, customer_id=customer.id, recorded_by=who)
        detail = {"requested_by": who, "consent_id": consent.id, "consent_method": consent.method,
                  "consent_purpose": consent.purpose, "attested_by_credential": attested}
        return await self._enrol(org, customer, reading, consent, "identity.register", detail)

    async def auto_register(self, org: str, image: bytes, camera_id: str, principal: Principal | None) -> Enrolment:
        """Enrol an unrecognised face as a new customer, only under the organisation's explicit policy."""
        async with self.deps.db.tenant(org) as conn:
            policy = await store.get_policy(conn)
        if not policy.auto_register:
            raise PermissionDenied(AUTO_REGISTER_OFF)
        reading = await self.deps.faces.read_image(image)
        if await self.match_customers(org, reading.vector, self.deps.config.threshold, 1):
            raise AlreadyExists(ALREADY_REGISTERED)
        customer = await self.deps.customers.create(org, f"Visitor {new_id()[:8]}")
        consent = replace(policy_consent(policy), customer_id=customer.id)
        detail = {"requested_by": requester(principal), "camera_id": camera_id or None, "consent_id": consent.id,
                  "consent_method": consent.method, "consent_purpose": consent.purpose}
        return await self._enrol(org, customer, reading, consent, "identity.auto_register", detail)

    async def _enrol(self, org: str, customer: CustomerInfo, reading: FaceReading, consent: Consent, action: str,
                     detail: dict[str, Any]) -> Enrolment:
        now = datetime.now(UTC)
        person_id, vector_id = new_id(), new_id()
        image_name = self.deps.images.write(org, "enrolled", vector_id, reading.crop_jpeg)
        person = Person(id=person_id, source="register", first_seen_at=now, last_seen_at=now,
                        customer_id=customer.id, attributes=reading.attributes, image_path=image_name,
                        image_quality=reading.quality.score)
        try:
            async with self.deps.db.tenant(org) as conn:
                await store.insert_consent(conn, org, consent)
                await store.save_person(conn, org, person)
                await store.insert_face_vector(conn, org, vector_id, person_id=person_id, customer_id=customer.id,
                                               consent_id=consent.id, image_path=image_name, created_at=now)
                await self.deps.audit.record(org, action, f"customer:{customer.id}",
                                             {**detail, "person_id": person_id, "vector_id": vector_id})
                await self.deps.vectors.upsert(org, [FaceVector(
                    vector_id, reading.vector, person_id=person_id, customer_id=str(customer.id),
                    consent_id=consent.id, created_at=now)])
        except BaseException:
            self.deps.images.delete(org, [image_name])
            raise
        log.info("org %s: enrolled a face for customer %s (%s)", org, customer.id, consent.method)
        return Enrolment(customer.id, person_id, vector_id, consent)

    # --- policy ----------------------------------------------------------------------------------------------

    async def get_policy(self, org: str) -> Policy:
        async with self.deps.db.tenant(org) as conn:
            return await store.get_policy(conn)

    async def set_policy(self, org: str, policy: Policy, principal: Principal | None) -> Policy:
        """Only an organisation's admins (or a platform admin) decide whether faces may be stored without the
        person doing anything; every change is audited with the policy it replaced."""
        if principal is None or principal.role not in ADMINS:
            raise PermissionDenied(POLICY_ADMINS_ONLY)
        policy = replace(policy, auto_register_purpose=checked_text(policy.auto_register_purpose, "purpose"),
                         updated_by=requester(principal))
        async with self.deps.db.tenant(org) as conn:
            before = await store.get_policy(conn)
            saved = await store.set_policy(conn, org, policy)
            await self.deps.audit.record(org, "identity.set_policy", "identity_policy",
                                         {"requested_by": policy.updated_by, "auto_register": policy.auto_register,
                                          "purpose": policy.auto_register_purpose,
                                          "was_auto_register": before.auto_register})
        return saved

    # --- customers' faces ----------------------------------------------------------------------------------

    async def customer_face(self, org: str, customer_id: int) -> tuple[CustomerInfo, bytes, int, datetime]:
        """The customer, their newest enrolled face image, how many faces they have and when it was enrolled."""
        async with self.deps.db.tenant(org) as conn:
            faces = await store.customer_faces(conn, customer_id)
        for face in faces:
            image = self.deps.images.read(org, face.image_path) if face.image_path else None
            if image is not None:
                customer = await self.deps.customers.get(org, customer_id)
                return customer, image, len(faces), face.created_at
        raise NotFound(FACE_NOT_FOUND)

    async def customer_by_vector(self, org: str, vector_id: str) -> CustomerInfo:
        try:
            vector_id = person_id_of(vector_id)
        except InvalidArgument:
            raise NotFound("Customer not found") from None
        async with self.deps.db.tenant(org) as conn:
            face = await store.face_vector(conn, vector_id)
        if face is None or face.customer_id is None:
            raise NotFound("Customer not found")
        return await self.deps.customers.get(org, face.customer_id)
