"""Identity in GraphQL: persons, recognition, enrolment, customers' faces, demographics and erasure.

Resolvers are thin: one call to `IdentityService` with the caller's credential; a person's customer record
and carts come from the customers service (`Person.customer`, `Person.carts`). Images travel as base64.

    query { persons(first: 20) { totalCount edges { node { id age gender emotion cameras customer { name } } }
                                 pageInfo { hasNextPage endCursor } } }
    query { person(id: "…") { fullName positions { cameraId x y observedAt } carts { tableNumber lines { productName } } } }
    query { recognize(imageBase64: "…") { unknown matches { confidence customer { name loyaltyStatus } } } }
    query { customerFace(customerId: "7") { faceCount imageBase64 } }
    query { demographics(kind: AGE) { label count percentage } }
    mutation { register(input: {name: "Ada", email: "ada@example.com", imageBase64: "…",
                                consent: {givenBy: "Ada", method: "kiosk", purpose: "loyalty"}}) { customerId consent { id } } }
    mutation { erasePerson(id: "…") { personIds faceVectors images } }
    mutation { eraseCustomerFaces(customerId: "7") { personIds faceVectors } }
    query { identityPolicy { autoRegister autoRegisterPurpose updatedAt updatedBy } }           # org admins
    mutation { setIdentityPolicy(input: {autoRegister: true, autoRegisterPurpose: "loyalty"}) { autoRegister } }
    subscription { personJoined(cameraId: "GATE_A") { id fullName age gender emotion cameraId occurredAt } }
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from footfall.graph.accounts.schema import CanAdminister
from footfall.graph.core.context import Info
from footfall.graph.core.convert import parse_id
from footfall.graph.core.pagination import DEFAULT_FIRST, AfterArg, Connection, FirstArg, check_first
from footfall.graph.core.schema import CanFeed, CanRead, CanWrite, SchemaModule
from footfall.graph.identity.client import IdentityClient
from footfall.graph.identity.convert import decode_image
from footfall.graph.identity.schema_types import (
    Consent,
    CustomerFace,
    DemographicBucket,
    DemographicKind,
    Erasure,
    IdentityPolicy,
    IdentityPolicyInput,
    Person,
    PersonJoined,
    Recognition,
    RecognitionMatch,
    RegisterInput,
    Registration,
)
from footfall.services.core.errors import NotFound
from footfall.v1 import identity_pb2

#: The most matches one recognition answers (the service's own bound).
MAX_MATCHES = 100


def identity(info: Info) -> IdentityClient:
    return info.context.client(IdentityClient)


@strawberry.type
class IdentityQuery:
    @strawberry.field(permission_classes=[CanRead], description="Persons seen, newest first")
    async def persons(
        self, info: Info, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None
    ) -> Connection[Person]:
        reply = await identity(info).list_persons(
            info.context.caller, page_size=check_first(first), page_token=after or ""
        )
        return Connection.of_page(
            [Person.from_proto(p) for p in reply.persons], reply.next_page_token, reply.total_count
        )

    @strawberry.field(permission_classes=[CanRead], description="One person by id; null when there is none")
    async def person(self, info: Info, id: strawberry.ID) -> Person | None:
        try:
            return Person.from_proto(await identity(info).get_person(info.context.caller, str(id)))
        except NotFound:
            return None

    @strawberry.field(
        permission_classes=[CanFeed],
        description="Who the face in the image is: enrolled customers within the match threshold, closest first "
        "(audited)",
    )
    async def recognize(
        self, info: Info, image_base64: str, limit: int = 5, camera_id: strawberry.ID | None = None
    ) -> Recognition:
        reply = await identity(info).recognize(
            info.context.caller,
            image=decode_image(image_base64),
            limit=check_first(limit, MAX_MATCHES),
            camera_id=str(camera_id or ""),
        )
        return Recognition(
            unknown=reply.unknown or not reply.matches,
            matches=[RecognitionMatch.from_proto(m) for m in reply.matches],
        )

    @strawberry.field(permission_classes=[CanRead], description="A customer's enrolled face; null when none")
    async def customer_face(self, info: Info, customer_id: strawberry.ID) -> CustomerFace | None:
        try:
            reply = await identity(info).customer_face(
                info.context.caller, parse_id(customer_id, "customerId")
            )
        except NotFound:
            return None
        return CustomerFace.from_proto(reply)

    @strawberry.field(
        permission_classes=[CanRead], description="Persons by gender, age band, emotion or body type"
    )
    async def demographics(self, info: Info, kind: DemographicKind) -> list[DemographicBucket]:
        buckets = await identity(info).statistics(info.context.caller, kind.value)
        return [DemographicBucket(label=b.label, count=b.count, percentage=b.percentage) for b in buckets]

    @strawberry.field(
        permission_classes=[CanAdminister],
        description="The organisation's identity policy: whether faces may be auto-registered (org admins)",
    )
    async def identity_policy(self, info: Info) -> IdentityPolicy:
        return IdentityPolicy.from_proto(await identity(info).get_policy(info.context.caller))


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        permission_classes=[CanFeed],
        description="Enrol a face for a new (or the given) customer, under the consent given or the caller's "
        "attestation (audited)",
    )
    async def register(self, info: Info, input: RegisterInput) -> Registration:
        consent = None
        if input.consent is not None:
            consent = identity_pb2.Consent(
                given_by=input.consent.given_by, method=input.consent.method, purpose=input.consent.purpose
            )
        customer_id = parse_id(input.customer_id, "customerId") if input.customer_id is not None else None
        reply = await identity(info).register(
            info.context.caller,
            name=input.name,
            email=input.email,
            phone=input.phone,
            image=decode_image(input.image_base64),
            consent=consent,
            customer_id=customer_id,
        )
        return Registration(
            customer_id=strawberry.ID(str(reply.customer_id)),
            person_id=strawberry.ID(reply.person_id) if reply.person_id else None,
            vector_id=strawberry.ID(reply.vector_id),
            consent=Consent.from_proto(reply.consent) if reply.HasField("consent") else None,
        )

    @strawberry.mutation(
        permission_classes=[CanAdminister],
        description="Turn auto-registration (faces stored without the person doing anything) on or off; org "
        "admins only, audited",
    )
    async def set_identity_policy(self, info: Info, input: IdentityPolicyInput) -> IdentityPolicy:
        saved = await identity(info).set_policy(
            info.context.caller,
            auto_register=input.auto_register,
            auto_register_purpose=input.auto_register_purpose,
        )
        return IdentityPolicy.from_proto(saved)

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Erase a person: rows, face vectors, images and crops, identity links (announced on NATS)",
    )
    async def erase_person(self, info: Info, id: strawberry.ID) -> Erasure:
        return Erasure.from_proto(await identity(info).erase_person(info.context.caller, str(id)))

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Erase every face, person and identity link of a customer (the customer record stays)",
    )
    async def erase_customer_faces(self, info: Info, customer_id: strawberry.ID) -> Erasure:
        report = await identity(info).erase_customer(info.context.caller, parse_id(customer_id, "customerId"))
        return Erasure.from_proto(report)


@strawberry.type
class IdentitySubscription:
    @strawberry.subscription(
        permission_classes=[CanRead],
        description="Each new person of the organisation as it joins (only those first seen on `cameraId` when "
        "given); live, nothing from before the subscription",
    )
    async def person_joined(
        self, info: Info, camera_id: strawberry.ID | None = None
    ) -> AsyncGenerator[PersonJoined, None]:
        stream = identity(info).watch_persons(info.context.caller, str(camera_id or ""))
        async with aclosing(stream):
            async for update in stream:
                yield PersonJoined.from_proto(update.person)


TYPES = (Person,)
MODULE = SchemaModule(
    "identity", query=IdentityQuery, mutation=IdentityMutation, subscription=IdentitySubscription, types=TYPES
)
