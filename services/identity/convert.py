"""Identity domain <-> protobuf (`footfall.v1.identity_pb2`)."""

from __future__ import annotations

from datetime import UTC, datetime

from footfall.services.core.timestamps import to_timestamp
from footfall.services.identity.domain import (
    Consent,
    CustomerInfo,
    Enrolment,
    ErasureReport,
    Policy,
    Recognition,
    StatisticsBucket,
    checked_consent,
)
from footfall.services.identity.people import PersonView
from footfall.v1 import common_pb2, customers_pb2, identity_pb2
from google.protobuf.timestamp_pb2 import Timestamp

STATISTIC_KINDS = {
    identity_pb2.STATISTICS_KIND_GENDER: "gender",
    identity_pb2.STATISTICS_KIND_AGE: "age",
    identity_pb2.STATISTICS_KIND_EMOTION: "emotion",
    identity_pb2.STATISTICS_KIND_BODY_TYPE: "body_type",
}


def when(ts: Timestamp, present: bool) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if present else None


def customer(info: CustomerInfo) -> customers_pb2.Customer:
    message = customers_pb2.Customer(id=info.id, name=info.name, email=info.email, phone=info.phone,
                                     loyalty_status=info.loyalty_status)  # type: ignore[arg-type]
    if info.created_at is not None:
        message.created_at.CopyFrom(to_timestamp(info.created_at))
    return message


def person(view: PersonView) -> identity_pb2.Person:
    p = view.person
    a = p.attributes
    message = identity_pb2.Person(
        id=p.id, cameras=list(p.cameras), age_confidence=a.age_confidence, gender=a.gender,
        gender_confidence=a.gender_confidence, emotion=a.emotion, emotion_confidence=a.emotion_confidence,
        body_type=p.body_type, image=p.image_path or "",
        full_name=view.customer.name if view.customer else "", phone_number=view.customer.phone if view.customer else "",
    )
    if p.customer_id is not None:
        message.customer_id = p.customer_id
    if a.age is not None:
        message.age = a.age
    for field, value in (("first_seen_at", p.first_seen_at), ("last_seen_at", p.last_seen_at),
                         ("entry_time", p.entry_time), ("exit_time", p.exit_time), ("created_at", p.created_at),
                         ("updated_at", p.updated_at)):
        if value is not None:
            getattr(message, field).CopyFrom(to_timestamp(value))
    for pos in p.positions:
        message.positions.append(identity_pb2.PersonPosition(
            observed_at=to_timestamp(pos.observed_at), camera_id=pos.camera_id,
            position=common_pb2.Point(x=pos.x, y=pos.y)))
    return message


def recognition(match: Recognition) -> identity_pb2.RecognitionMatch:
    message = identity_pb2.RecognitionMatch(customer_id=match.customer_id, person_id=match.person_id or "",
                                            vector_id=match.vector_id, confidence=match.confidence,
                                            distance=match.distance)
    if match.customer is not None:
        message.customer.CopyFrom(customer(match.customer))
    return message


def consent_in(message: identity_pb2.Consent, recorded_by: str) -> Consent:
    return checked_consent(message.given_by, message.method, message.purpose,
                           when(message.given_at, message.HasField("given_at")), recorded_by)


def consent_out(consent: Consent) -> identity_pb2.Consent:
    return identity_pb2.Consent(id=consent.id, given_by=consent.given_by, method=consent.method,
                                purpose=consent.purpose, given_at=to_timestamp(consent.given_at),
                                recorded_by=consent.recorded_by)


def enrolment(e: Enrolment) -> identity_pb2.RegisterResponse:
    return identity_pb2.RegisterResponse(customer_id=e.customer_id, person_id=e.person_id, vector_id=e.vector_id,
                                         consent=consent_out(e.consent))


def policy(p: Policy) -> identity_pb2.IdentityPolicy:
    message = identity_pb2.IdentityPolicy(auto_register=p.auto_register, auto_register_purpose=p.auto_register_purpose,
                                          updated_by=p.updated_by)
    if p.updated_at is not None:
        message.updated_at.CopyFrom(to_timestamp(p.updated_at))
    return message


def erasure(r: ErasureReport) -> identity_pb2.ErasureReport:
    return identity_pb2.ErasureReport(person_ids=r.person_ids, face_vectors=r.face_vectors, images=r.images,
                                      consents=r.consents)


def bucket(b: StatisticsBucket) -> identity_pb2.StatisticsBucket:
    return identity_pb2.StatisticsBucket(label=b.label, count=b.count, percentage=b.percentage)
