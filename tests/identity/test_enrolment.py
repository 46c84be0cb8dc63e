"""Enrolment and recognition over gRPC on the shared photos: consent, attestation, auto-registration policy,
open-set recognition (strangers are unknown), customer records from the customers service, the audit log."""

from __future__ import annotations

import grpc
import pytest
from footfall.v1 import customers_pb2, identity_pb2

from tests.conftest import unique_org
from tests.identity.conftest import PHOTOS, Stack


async def test_registered_customer_is_recognised_on_other_photos_and_strangers_are_unknown(stack: Stack) -> None:
    org = unique_org("idrec")
    obama = await stack.register(org, "obama", name="Barack")
    assert obama.customer_id > 0 and obama.consent.method == "kiosk" and obama.consent.id
    biden = await stack.register(org, "biden", name="Joe")

    hits = 0
    for index in range(1, len(PHOTOS["obama"])):
        reply = await stack.identity.Recognize(identity_pb2.RecognizeRequest(image=stack.photo("obama", index)),
                                               metadata=stack.md(org))
        if reply.matches and reply.matches[0].customer_id == obama.customer_id:
            hits += 1
            top = reply.matches[0]
            assert top.customer.name == "Barack"
            assert top.customer.loyalty_status == customers_pb2.LOYALTY_STATUS_BRONZE
            assert 0.5 <= top.confidence <= 1 and top.distance <= 0.6
    assert hits >= len(PHOTOS["obama"]) - 2  # partial faces and a tiny photo may miss; never a wrong person

    again = await stack.identity.Recognize(identity_pb2.RecognizeRequest(image=stack.photo("biden", 1)),
                                           metadata=stack.md(org))
    assert [m.customer_id for m in again.matches] == [biden.customer_id]

    for stranger in ("alex", "kit", "lin"):
        for index in range(len(PHOTOS[stranger])):
            reply = await stack.identity.Recognize(
                identity_pb2.RecognizeRequest(image=stack.photo(stranger, index)), metadata=stack.md(org))
            assert reply.unknown and not reply.matches, (stranger, index)

    actions = [e.action for e in await stack.audit_actions(org)]
    assert actions.count("identity.recognize") >= len(PHOTOS["obama"]) - 1 + 1 + 6
    assert actions.count("identity.register") == 2


async def test_recognize_by_embedding_and_generate_embedding(stack: Stack) -> None:
    org = unique_org("idemb")
    enrolled = await stack.register(org, "alex", 0)
    embedding = await stack.identity.GenerateEmbedding(
        identity_pb2.GenerateEmbeddingRequest(image=stack.photo("alex", 1)), metadata=stack.md(org))
    assert len(embedding.embedding) == 128
    request = identity_pb2.RecognizeRequest(embedding=identity_pb2.FaceEmbedding(values=embedding.embedding))
    reply = await stack.identity.Recognize(request, metadata=stack.md(org))
    assert reply.matches[0].customer_id == enrolled.customer_id
    with pytest.raises(grpc.aio.AioRpcError) as analyst:  # identifying people is not a read
        await stack.identity.Recognize(request, metadata=stack.md(org, "analyst"))
    assert analyst.value.code() == grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stack.identity.GenerateEmbedding(identity_pb2.GenerateEmbeddingRequest(image=b"not an image"),
                                               metadata=stack.md(org))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad.value.details() == "Invalid image data"


async def test_registration_without_consent_records_the_credentials_attestation(stack: Stack) -> None:
    org = unique_org("idatt")
    reply = await stack.register(org, "kit", consent=False)
    assert reply.consent.method == "credential_attestation"
    assert reply.consent.recorded_by.startswith("service:")
    entries = [e for e in await stack.audit_actions(org) if e.action == "identity.register"]
    assert entries and entries[0].detail["attested_by_credential"] is True
    assert entries[0].detail["consent_id"] == reply.consent.id

    face = await stack.identity.GetCustomerFace(identity_pb2.GetCustomerFaceRequest(customer_id=reply.customer_id),
                                                metadata=stack.md(org))
    assert face.image[:2] == b"\xff\xd8" and face.face_count == 1 and face.customer.name == "Kit"
    by_vector = await stack.identity.GetCustomerByVector(
        identity_pb2.GetCustomerByVectorRequest(vector_id=reply.vector_id), metadata=stack.md(org))
    assert by_vector.customer.id == reply.customer_id


async def test_registering_an_existing_customer_adds_a_face(stack: Stack) -> None:
    org = unique_org("idadd")
    first = await stack.register(org, "obama", 0)
    request = identity_pb2.RegisterRequest(image=stack.photo("obama", 1), customer_id=first.customer_id)
    second = await stack.identity.Register(request, metadata=stack.md(org))
    assert second.customer_id == first.customer_id and second.vector_id != first.vector_id
    with pytest.raises(grpc.aio.AioRpcError) as dup:
        await stack.register(org, "obama", 2)
    assert dup.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_auto_register_is_refused_unless_the_organisation_allows_it(stack: Stack) -> None:
    org = unique_org("idauto")
    policy = await stack.identity.GetIdentityPolicy(identity_pb2.GetIdentityPolicyRequest(), metadata=stack.md(org))
    assert policy.policy.auto_register is False
    request = identity_pb2.AutoRegisterRequest(image=stack.photo("lin"), camera_id="DOOR")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.identity.AutoRegister(request, metadata=stack.md(org))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(grpc.aio.AioRpcError) as analyst:
        await stack.identity.SetIdentityPolicy(identity_pb2.SetIdentityPolicyRequest(
            policy=identity_pb2.IdentityPolicy(auto_register=True)), metadata=stack.md(org, "analyst"))
    assert analyst.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # A service may write an organisation's data, but only its admins decide that faces may be stored unasked.
    with pytest.raises(grpc.aio.AioRpcError) as service:
        await stack.identity.SetIdentityPolicy(identity_pb2.SetIdentityPolicyRequest(
            policy=identity_pb2.IdentityPolicy(auto_register=True)), metadata=stack.md(org, "service"))
    assert service.value.code() == grpc.StatusCode.PERMISSION_DENIED

    await stack.identity.SetIdentityPolicy(identity_pb2.SetIdentityPolicyRequest(
        policy=identity_pb2.IdentityPolicy(auto_register=True, auto_register_purpose="loyalty")), metadata=stack.md(org))
    created = await stack.identity.AutoRegister(request, metadata=stack.md(org))
    assert created.customer_id > 0
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await stack.identity.AutoRegister(request, metadata=stack.md(org))
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
    other = unique_org("idauto2")
    with pytest.raises(grpc.aio.AioRpcError) as elsewhere:
        await stack.identity.AutoRegister(request, metadata=stack.md(other))
    assert elsewhere.value.code() == grpc.StatusCode.PERMISSION_DENIED
