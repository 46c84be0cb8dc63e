"""Identity's GraphQL types: persons (with their customer record and carts, composed from the customers
service), recognitions, enrolments and erasures."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime
from enum import Enum

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import to_datetime
from footfall.graph.core.loaders import loader
from footfall.graph.customers.client import CustomersClient
from footfall.graph.customers.crm_types import Customer
from footfall.services.core.errors import NotFound
from footfall.v1 import customers_pb2, events_pb2, identity_pb2


@strawberry.enum(description="Which attribute of the persons a statistic counts.")
class DemographicKind(Enum):
    GENDER = identity_pb2.STATISTICS_KIND_GENDER
    AGE = identity_pb2.STATISTICS_KIND_AGE
    EMOTION = identity_pb2.STATISTICS_KIND_EMOTION
    BODY_TYPE = identity_pb2.STATISTICS_KIND_BODY_TYPE


@strawberry.type(description="Where a person was at a moment.")
class PersonPosition:
    observed_at: datetime | None
    camera_id: strawberry.ID = strawberry.field(description="The camera's id (its key)")
    x: float = strawberry.field(description="Frame pixels")
    y: float


@strawberry.type(description="A product put in a cart.")
class CartLine:
    product_id: strawberry.ID
    product_name: str
    quantity: int
    added_at: datetime | None


@strawberry.type(description="A cart of a person, with its products in the order they were added.")
class PersonCart:
    id: strawberry.ID
    table_number: int | None
    created_at: datetime | None
    updated_at: datetime | None
    lines: list[CartLine]

    @classmethod
    def from_proto(cls, order: customers_pb2.Order) -> PersonCart:
        cart = order.cart
        return cls(
            id=strawberry.ID(cart.id),
            table_number=cart.table_number if cart.HasField("table_number") else None,
            created_at=to_datetime(cart.created_at),
            updated_at=to_datetime(cart.updated_at),
            lines=[
                CartLine(
                    product_id=strawberry.ID(line.product_id),
                    product_name=line.product_name,
                    quantity=line.quantity,
                    added_at=to_datetime(line.added_at),
                )
                for line in order.lines
            ],
        )


@strawberry.type(description="Anyone the cameras (or a client) saw; optionally a known customer.")
class Person:
    id: strawberry.ID
    customer_id: strawberry.ID | None
    full_name: str | None
    phone_number: str | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    cameras: list[strawberry.ID] = strawberry.field(
        description="Camera ids in the order the person was first seen there"
    )
    positions: list[PersonPosition] = strawberry.field(description="The latest positions, oldest first")
    age: int | None = strawberry.field(description="What the age model (or a client) says")
    age_confidence: float | None
    gender: str | None = strawberry.field(description="`Female` or `Male`")
    gender_confidence: float | None
    emotion: str | None = strawberry.field(
        description="`Happy`, `Neutral`, `Sad`, `Angry`, `Surprise`, `Fear`, `Disgust`"
    )
    emotion_confidence: float | None
    body_type: str | None = strawberry.field(description="Given by clients (no model)")
    entry_time: datetime | None
    exit_time: datetime | None
    has_image: bool = strawberry.field(description="Whether a face image is stored for the person")
    created_at: datetime | None
    updated_at: datetime | None

    @strawberry.field(description="The customer record the person is linked to (customers service)")
    async def customer(self, info: Info) -> Customer | None:
        if self.customer_id is None:
            return None
        return await customer_by_id(info, int(self.customer_id))

    @strawberry.field(description="The person's carts, newest first (customers service)")
    async def carts(self, info: Info) -> list[PersonCart]:
        try:
            detail = await info.context.client(CustomersClient).person_detail(
                info.context.caller, str(self.id)
            )
        except NotFound:
            return []
        return [PersonCart.from_proto(o) for o in detail.carts]

    @classmethod
    def from_proto(cls, p: identity_pb2.Person) -> Person:
        has_age = p.HasField("age")
        return cls(
            id=strawberry.ID(p.id),
            customer_id=strawberry.ID(str(p.customer_id)) if p.HasField("customer_id") else None,
            full_name=p.full_name or None,
            phone_number=p.phone_number or None,
            first_seen_at=to_datetime(p.first_seen_at),
            last_seen_at=to_datetime(p.last_seen_at),
            cameras=[strawberry.ID(c) for c in p.cameras],
            positions=[
                PersonPosition(
                    observed_at=to_datetime(q.observed_at),
                    camera_id=strawberry.ID(q.camera_id),
                    x=q.position.x,
                    y=q.position.y,
                )
                for q in p.positions
            ],
            age=p.age if has_age else None,
            age_confidence=p.age_confidence if has_age else None,
            gender=p.gender or None,
            gender_confidence=p.gender_confidence if p.gender else None,
            emotion=p.emotion or None,
            emotion_confidence=p.emotion_confidence if p.emotion else None,
            body_type=p.body_type or None,
            entry_time=to_datetime(p.entry_time),
            exit_time=to_datetime(p.exit_time),
            has_image=bool(p.image),
            created_at=to_datetime(p.created_at),
            updated_at=to_datetime(p.updated_at),
        )


@strawberry.type(description="A new person, as it joined (seed 003's `person_joined` event).")
class PersonJoined:
    id: strawberry.ID = strawberry.field(description="The person's id")
    full_name: str | None = strawberry.field(description="From the linked customer record")
    age: int | None
    gender: str | None = strawberry.field(description="`Female` or `Male`")
    emotion: str | None
    body_type: str | None
    camera_id: strawberry.ID | None = strawberry.field(
        description="The camera that saw the person first; null when a client created the person"
    )
    occurred_at: datetime | None
    customer_id: strawberry.ID | None = strawberry.field(description="The linked customer; null when unknown")

    @classmethod
    def from_proto(cls, p: events_pb2.PersonJoined) -> PersonJoined:
        return cls(
            id=strawberry.ID(p.person_id),
            full_name=p.full_name or None,
            age=p.age if p.HasField("age") else None,
            gender=p.gender or None,
            emotion=p.emotion or None,
            body_type=p.body_type or None,
            camera_id=strawberry.ID(p.camera_id) if p.camera_id else None,
            occurred_at=to_datetime(p.occurred_at),
            customer_id=strawberry.ID(str(p.customer_id)) if p.HasField("customer_id") else None,
        )


async def customer_by_id(info: Info, customer_id: int) -> Customer | None:
    """One call per distinct customer per operation, however many persons name them."""

    async def batch(ids: list[int]) -> list[Customer | None]:
        client, caller = info.context.client(CustomersClient), info.context.caller

        async def one(number: int) -> Customer | None:
            try:
                return Customer.from_proto(await client.get_customer(caller, number))
            except NotFound:
                return None

        return list(await asyncio.gather(*(one(i) for i in ids)))

    return await loader(info, "identity.customer", batch).load(customer_id)


@strawberry.type(description="An enrolled customer a face matched.")
class RecognitionMatch:
    customer_id: strawberry.ID
    person_id: strawberry.ID | None
    vector_id: strawberry.ID
    confidence: float = strawberry.field(description="0..1; 0.5 at the match threshold")
    distance: float = strawberry.field(description="Euclidean distance of the 128-d face vectors")
    customer: Customer | None

    @classmethod
    def from_proto(cls, m: identity_pb2.RecognitionMatch) -> RecognitionMatch:
        return cls(
            customer_id=strawberry.ID(str(m.customer_id)),
            person_id=strawberry.ID(m.person_id) if m.person_id else None,
            vector_id=strawberry.ID(m.vector_id),
            confidence=m.confidence,
            distance=m.distance,
            customer=Customer.from_proto(m.customer) if m.HasField("customer") else None,
        )


@strawberry.type(description="Who a face is: the matching enrolled customers, closest first, or unknown.")
class Recognition:
    unknown: bool
    matches: list[RecognitionMatch]


@strawberry.type(description="Who allowed a face to be stored, when, how and for what.")
class Consent:
    id: strawberry.ID
    given_by: str
    method: str
    purpose: str
    given_at: datetime | None
    recorded_by: str

    @classmethod
    def from_proto(cls, c: identity_pb2.Consent) -> Consent:
        return cls(
            id=strawberry.ID(c.id),
            given_by=c.given_by,
            method=c.method,
            purpose=c.purpose,
            given_at=to_datetime(c.given_at),
            recorded_by=c.recorded_by,
        )


@strawberry.input(
    description="Consent to store a face; without it the registering credential attests it (audited)."
)
class ConsentInput:
    given_by: str
    method: str = "kiosk"
    purpose: str = ""


@strawberry.input
class RegisterInput:
    name: str
    image_base64: str = strawberry.field(
        description="The face photo as base64 (JPEG, PNG), optionally a data: URL"
    )
    email: str = ""
    phone: str = ""
    consent: ConsentInput | None = None
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Enrol an existing customer"
    )


@strawberry.type(description="A face enrolled for a customer.")
class Registration:
    customer_id: strawberry.ID
    person_id: strawberry.ID | None
    vector_id: strawberry.ID
    consent: Consent | None

    @strawberry.field(description="The customer record")
    async def customer(self, info: Info) -> Customer | None:
        return await customer_by_id(info, int(self.customer_id))


@strawberry.type(description="A customer's enrolled face.")
class CustomerFace:
    customer: Customer
    image_base64: str | None = strawberry.field(description="The enrolled face crop, base64 JPEG")
    face_count: int
    enrolled_at: datetime | None

    @classmethod
    def from_proto(cls, reply: identity_pb2.GetCustomerFaceResponse) -> CustomerFace:
        image = base64.b64encode(reply.image).decode("ascii") if reply.image else None
        return cls(
            customer=Customer.from_proto(reply.customer),
            image_base64=image,
            face_count=reply.face_count,
            enrolled_at=to_datetime(reply.enrolled_at),
        )


@strawberry.type(description="What an erasure removed.")
class Erasure:
    person_ids: list[strawberry.ID]
    face_vectors: int
    images: int
    consents: int

    @classmethod
    def from_proto(cls, r: identity_pb2.ErasureReport) -> Erasure:
        return cls(
            person_ids=[strawberry.ID(p) for p in r.person_ids],
            face_vectors=r.face_vectors,
            images=r.images,
            consents=r.consents,
        )


@strawberry.type(description="An organisation's rules for faces.")
class IdentityPolicy:
    auto_register: bool = strawberry.field(
        description="Whether unrecognised faces may be enrolled as customers without the person doing anything"
    )
    auto_register_purpose: str = strawberry.field(description="The purpose recorded on auto-registration consents")
    updated_at: datetime | None = strawberry.field(description="Null: never changed (the default, off)")
    updated_by: str | None

    @classmethod
    def from_proto(cls, p: identity_pb2.IdentityPolicy) -> IdentityPolicy:
        return cls(
            auto_register=p.auto_register,
            auto_register_purpose=p.auto_register_purpose,
            updated_at=to_datetime(p.updated_at),
            updated_by=p.updated_by or None,
        )


@strawberry.input(description="An organisation's rules for faces (org admins only; audited).")
class IdentityPolicyInput:
    auto_register: bool
    auto_register_purpose: str = ""


@strawberry.type(description="Persons with one value or band of an attribute.")
class DemographicBucket:
    label: str
    count: int
    percentage: float = strawberry.field(description="Of the persons with a value, to one decimal")
