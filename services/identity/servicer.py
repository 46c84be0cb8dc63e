"""gRPC adapter for `footfall.v1.IdentityService`: proto <-> domain, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import grpc
from footfall.services.core.errors import InvalidArgument
from footfall.services.core.grpc import current_principal, maps_domain_errors, org_of
from footfall.services.identity import convert
from footfall.services.identity.deps import requester
from footfall.services.identity.domain import Attributes, Policy
from footfall.services.identity.erasure import Erasure
from footfall.services.identity.people import PeopleService, PersonChanges, TrackedObject
from footfall.services.identity.service import IdentityService
from footfall.services.identity.watch import PersonWatch
from footfall.v1 import identity_pb2, identity_pb2_grpc

SERVICE_NAME = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name

Ctx = grpc.aio.ServicerContext
pb = identity_pb2


def _opt(message: object, field: str) -> object | None:
    return getattr(message, field) if message.HasField(field) else None  # type: ignore[attr-defined]


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, identity: IdentityService, people: PeopleService, erasure: Erasure,
                 watch: PersonWatch | None = None) -> None:
        self.identity = identity
        self.people = people
        self.erasure = erasure
        self.watch = watch or PersonWatch(people.deps.bus)

    @maps_domain_errors
    async def GenerateEmbedding(self, request: pb.GenerateEmbeddingRequest, context: Ctx) -> pb.GenerateEmbeddingResponse:
        org_of(context)
        return pb.GenerateEmbeddingResponse(embedding=await self.identity.generate_embedding(request.image))

    @maps_domain_errors
    async def Recognize(self, request: pb.RecognizeRequest, context: Ctx) -> pb.RecognizeResponse:
        which = request.WhichOneof("face")
        matches = await self.identity.recognize(
            org_of(context), image=request.image if which == "image" else None,
            vector=list(request.embedding.values) if which == "embedding" else None,
            threshold=request.threshold if request.HasField("threshold") else None, limit=request.limit,
            camera_id=request.camera_id, principal=current_principal())
        return pb.RecognizeResponse(matches=[convert.recognition(m) for m in matches], unknown=not matches)

    @maps_domain_errors
    async def Register(self, request: pb.RegisterRequest, context: Ctx) -> pb.RegisterResponse:
        principal = current_principal()
        consent = convert.consent_in(request.consent, requester(principal)) if request.HasField("consent") else None
        enrolment = await self.identity.register(
            org_of(context), name=request.name, email=request.email, phone=request.phone, image=request.image,
            consent=consent, customer_id=request.customer_id if request.HasField("customer_id") else None,
            principal=principal)
        return convert.enrolment(enrolment)

    @maps_domain_errors
    async def AutoRegister(self, request: pb.AutoRegisterRequest, context: Ctx) -> pb.AutoRegisterResponse:
        e = await self.identity.auto_register(org_of(context), request.image, request.camera_id, current_principal())
        return pb.AutoRegisterResponse(customer_id=e.customer_id, person_id=e.person_id, vector_id=e.vector_id)

    @maps_domain_errors
    async def GetIdentityPolicy(self, request: pb.GetIdentityPolicyRequest, context: Ctx) -> pb.GetIdentityPolicyResponse:
        return pb.GetIdentityPolicyResponse(policy=convert.policy(await self.identity.get_policy(org_of(context))))

    @maps_domain_errors
    async def SetIdentityPolicy(self, request: pb.SetIdentityPolicyRequest, context: Ctx) -> pb.SetIdentityPolicyResponse:
        wanted = Policy(request.policy.auto_register, request.policy.auto_register_purpose)
        saved = await self.identity.set_policy(org_of(context), wanted, current_principal())
        return pb.SetIdentityPolicyResponse(policy=convert.policy(saved))

    @maps_domain_errors
    async def CreatePerson(self, request: pb.CreatePersonRequest, context: Ctx) -> pb.CreatePersonResponse:
        attributes = Attributes(age=request.age if request.HasField("age") else None, gender=request.gender,
                                emotion=request.emotion)
        view, vector = await self.people.create(
            org_of(context), vector=list(request.vector), attributes=attributes, body_type=request.body_type,
            entry_time=convert.when(request.entry_time, request.HasField("entry_time")),
            exit_time=convert.when(request.exit_time, request.HasField("exit_time")), image=request.image)
        return pb.CreatePersonResponse(person=convert.person(view), vector=vector)

    @maps_domain_errors
    async def GetPerson(self, request: pb.GetPersonRequest, context: Ctx) -> pb.GetPersonResponse:
        return pb.GetPersonResponse(person=convert.person(await self.people.get(org_of(context), request.id)))

    @maps_domain_errors
    async def ListPersons(self, request: pb.ListPersonsRequest, context: Ctx) -> pb.ListPersonsResponse:
        views, token, total = await self.people.list(org_of(context), request.page_size, request.page_token)
        return pb.ListPersonsResponse(persons=[convert.person(v) for v in views], next_page_token=token,
                                      total_count=total)

    @maps_domain_errors
    async def UpdatePerson(self, request: pb.UpdatePersonRequest, context: Ctx) -> pb.UpdatePersonResponse:
        changes = PersonChanges(**{f: _opt(request, f) for f in (  # type: ignore[arg-type]
            "full_name", "phone_number", "age", "gender", "emotion", "body_type")})
        view = await self.people.update(org_of(context), request.id, changes)
        return pb.UpdatePersonResponse(person=convert.person(view))

    @maps_domain_errors
    async def GetCustomerFace(self, request: pb.GetCustomerFaceRequest, context: Ctx) -> pb.GetCustomerFaceResponse:
        customer, image, count, enrolled = await self.identity.customer_face(org_of(context), request.customer_id)
        response = pb.GetCustomerFaceResponse(customer=convert.customer(customer), image=image,
                                              content_type="image/jpeg", face_count=count)
        response.enrolled_at.FromDatetime(enrolled)
        return response

    @maps_domain_errors
    async def GetCustomerByVector(self, request: pb.GetCustomerByVectorRequest, context: Ctx) -> pb.GetCustomerByVectorResponse:
        found = await self.identity.customer_by_vector(org_of(context), request.vector_id)
        return pb.GetCustomerByVectorResponse(customer=convert.customer(found))

    @maps_domain_errors
    async def Track(self, request: pb.TrackRequest, context: Ctx) -> pb.TrackResponse:
        objects = [TrackedObject(o.object_id, o.position.x if o.HasField("position") else None,
                                 o.position.y if o.HasField("position") else None, o.person_id or None,
                                 o.customer_id if o.HasField("customer_id") else None) for o in request.objects]
        person_ids = await self.people.track(
            org_of(context), request.camera_id, convert.when(request.observed_at, request.HasField("observed_at")),
            objects)
        return pb.TrackResponse(status="updated", objects_count=len(objects), person_ids=person_ids)

    @maps_domain_errors
    async def ErasePerson(self, request: pb.ErasePersonRequest, context: Ctx) -> pb.ErasePersonResponse:
        report = await self.erasure.erase_person(org_of(context), request.id, current_principal())
        return pb.ErasePersonResponse(report=convert.erasure(report))

    @maps_domain_errors
    async def EraseCustomer(self, request: pb.EraseCustomerRequest, context: Ctx) -> pb.EraseCustomerResponse:
        report = await self.erasure.erase_customer(org_of(context), request.customer_id, current_principal())
        return pb.EraseCustomerResponse(report=convert.erasure(report))

    @maps_domain_errors
    async def GetStatistics(self, request: pb.GetStatisticsRequest, context: Ctx) -> pb.GetStatisticsResponse:
        kind = convert.STATISTIC_KINDS.get(request.kind)
        if kind is None:
            raise InvalidArgument("kind is required: gender, age, emotion or body_type")
        buckets = await self.people.statistics(
            org_of(context), kind, convert.when(request.since, request.HasField("since")),
            convert.when(request.until, request.HasField("until")))
        return pb.GetStatisticsResponse(buckets=[convert.bucket(b) for b in buckets])

    @maps_domain_errors
    async def WatchPersons(self, request: pb.WatchPersonsRequest, context: Ctx) -> AsyncIterator[pb.WatchPersonsResponse]:
        async with aclosing(self.watch.persons(org_of(context), request.camera_id)) as joined:
            async for person in joined:
                yield pb.WatchPersonsResponse(person=person)
