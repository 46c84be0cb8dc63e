"""The typed gRPC client of `footfall.v1.IdentityService`: faces, recognition, enrolment, persons, erasure."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime

import grpc
from footfall.graph.core.client import DEFAULT_TIMEOUT_S, Identity, ServiceClient
from footfall.v1 import common_pb2, identity_pb2, identity_pb2_grpc

#: Face models take a few hundred milliseconds per image on a small CPU, more when several requests queue.
FACE_TIMEOUT_S = 30.0


class IdentityClient(ServiceClient):
    """`footfall.v1.IdentityService`."""

    service_name = "Identity"
    grpc_service = "footfall.v1.IdentityService"

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(channel, timeout=max(timeout, FACE_TIMEOUT_S))
        self.stub = identity_pb2_grpc.IdentityServiceStub(channel)

    # Faces

    async def generate_embedding(self, caller: Identity, image: bytes) -> list[float]:
        request = identity_pb2.GenerateEmbeddingRequest(image=image)
        return list((await self.unary(self.stub.GenerateEmbedding, request, caller)).embedding)

    async def recognize(
        self,
        caller: Identity,
        *,
        image: bytes | None = None,
        embedding: Sequence[float] | None = None,
        limit: int = 0,
        camera_id: str = "",
    ) -> identity_pb2.RecognizeResponse:
        request = identity_pb2.RecognizeRequest(limit=limit, camera_id=camera_id)
        if embedding is not None:
            request.embedding.values.extend(embedding)
        else:
            request.image = image or b""
        return await self.unary(self.stub.Recognize, request, caller)

    async def register(
        self,
        caller: Identity,
        *,
        name: str,
        image: bytes,
        email: str = "",
        phone: str = "",
        consent: identity_pb2.Consent | None = None,
        customer_id: int | None = None,
    ) -> identity_pb2.RegisterResponse:
        request = identity_pb2.RegisterRequest(
            name=name, email=email, phone=phone, image=image, consent=consent
        )
        if customer_id is not None:
            request.customer_id = customer_id
        return await self.unary(self.stub.Register, request, caller)

    async def auto_register(
        self, caller: Identity, image: bytes, camera_id: str = ""
    ) -> identity_pb2.AutoRegisterResponse:
        request = identity_pb2.AutoRegisterRequest(image=image, camera_id=camera_id)
        return await self.unary(self.stub.AutoRegister, request, caller)

    async def get_policy(self, caller: Identity) -> identity_pb2.IdentityPolicy:
        request = identity_pb2.GetIdentityPolicyRequest()
        return (await self.unary(self.stub.GetIdentityPolicy, request, caller)).policy

    async def set_policy(
        self, caller: Identity, *, auto_register: bool, auto_register_purpose: str = ""
    ) -> identity_pb2.IdentityPolicy:
        policy = identity_pb2.IdentityPolicy(
            auto_register=auto_register, auto_register_purpose=auto_register_purpose
        )
        request = identity_pb2.SetIdentityPolicyRequest(policy=policy)
        return (await self.unary(self.stub.SetIdentityPolicy, request, caller)).policy

    async def customer_face(self, caller: Identity, customer_id: int) -> identity_pb2.GetCustomerFaceResponse:
        request = identity_pb2.GetCustomerFaceRequest(customer_id=customer_id)
        return await self.unary(self.stub.GetCustomerFace, request, caller)

    async def customer_by_vector(
        self, caller: Identity, vector_id: str
    ) -> identity_pb2.GetCustomerByVectorResponse:
        request = identity_pb2.GetCustomerByVectorRequest(vector_id=vector_id)
        return await self.unary(self.stub.GetCustomerByVector, request, caller)

    # Persons

    async def create_person(
        self, caller: Identity, request: identity_pb2.CreatePersonRequest
    ) -> identity_pb2.CreatePersonResponse:
        return await self.unary(self.stub.CreatePerson, request, caller)

    async def get_person(self, caller: Identity, person_id: str) -> identity_pb2.Person:
        request = identity_pb2.GetPersonRequest(id=person_id)
        return (await self.unary(self.stub.GetPerson, request, caller)).person

    async def list_persons(
        self, caller: Identity, page_size: int = 0, page_token: str = ""
    ) -> identity_pb2.ListPersonsResponse:
        request = identity_pb2.ListPersonsRequest(page_size=page_size, page_token=page_token)
        return await self.unary(self.stub.ListPersons, request, caller)

    async def update_person(
        self, caller: Identity, request: identity_pb2.UpdatePersonRequest
    ) -> identity_pb2.Person:
        return (await self.unary(self.stub.UpdatePerson, request, caller)).person

    async def track(
        self,
        caller: Identity,
        camera_id: str,
        objects: Sequence[identity_pb2.TrackedObjectUpdate],
        observed_at: datetime | None = None,
    ) -> identity_pb2.TrackResponse:
        request = identity_pb2.TrackRequest(camera_id=camera_id, objects=list(objects))
        if observed_at is not None:
            request.observed_at.FromDatetime(observed_at)
        return await self.unary(self.stub.Track, request, caller)

    async def erase_person(self, caller: Identity, person_id: str) -> identity_pb2.ErasureReport:
        request = identity_pb2.ErasePersonRequest(id=person_id)
        return (await self.unary(self.stub.ErasePerson, request, caller)).report

    async def erase_customer(self, caller: Identity, customer_id: int) -> identity_pb2.ErasureReport:
        request = identity_pb2.EraseCustomerRequest(customer_id=customer_id)
        return (await self.unary(self.stub.EraseCustomer, request, caller)).report

    async def statistics(self, caller: Identity, kind: int) -> list[identity_pb2.StatisticsBucket]:
        request = identity_pb2.GetStatisticsRequest(kind=kind)  # type: ignore[arg-type]
        return list((await self.unary(self.stub.GetStatistics, request, caller)).buckets)

    def watch_persons(
        self, caller: Identity, camera_id: str = ""
    ) -> AsyncGenerator[identity_pb2.WatchPersonsResponse, None]:
        """Each new person of the caller's organisation (first seen on `camera_id` when given), until closed."""
        request = identity_pb2.WatchPersonsRequest(camera_id=camera_id)
        return self.stream(self.stub.WatchPersons, request, caller)


def tracked_object(
    object_id: str,
    x: float,
    y: float,
    *,
    person_id: str = "",
    customer_id: int | None = None,
    confidence: float = 0.0,
) -> identity_pb2.TrackedObjectUpdate:
    update = identity_pb2.TrackedObjectUpdate(
        object_id=object_id, position=common_pb2.Point(x=x, y=y), person_id=person_id, confidence=confidence
    )
    if customer_id is not None:
        update.customer_id = customer_id
    return update
