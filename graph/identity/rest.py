"""Seed 002's face, user-service and identity-tracker routes over `IdentityService`, errors `{"detail": ...}`:

* `POST /generate-embedding` `{"face_image_b64"}` -> `{"embedding": [128 numbers]}`
* `POST /recognize` `{"face_image_b64"}` -> `{"tracked_objects": [{id, name, confidence, loyalty_status}]}`,
  closest first; an empty list means unknown (every recognition is in the audit log)
* `POST /register` `{"name", "email", "face_image_b64", "consent"?}` -> `{"message": "Registration successful",
  "customer_id"}`; without `consent` the registering credential attests it (audited)
* `POST /auto-register` `{"face_image_b64"}` -> `{"message": "Auto-registration successful", "customer_id"}`;
  403 unless the organisation's identity policy allows it (off by default)
* `GET /users/{user_id}/face`, `GET /customer/{customer_id}`, `GET /customer/by-vector/{vector_id}`
* `GET /persons/{person_id}` (where a person has been, by camera), `POST /track` (positions of tracked objects)

A missing, non-base64 or undecodable image is 400 `{"detail": "Invalid image data"}`, an image with no face 400
`{"detail": "No face found in the image"}`, an image of more pixels than `FOOTFALL_MAX_IMAGE_PIXELS` 413.
Reads are for readers; feeding faces and positions (recognise, register at a kiosk, track) for feeders.
Seed 003's persons are in `persons_rest`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from footfall.graph.core.errors import DETAIL, invalid_parameter
from footfall.graph.core.rest import Feeder, Reader, client, domain_router, error_responses
from footfall.graph.customers.client import CustomersClient
from footfall.graph.identity.client import IdentityClient, tracked_object
from footfall.graph.identity.convert import (
    customer_match,
    customer_out,
    decode_image,
    foot_point,
    match_out,
    parse_customer_id,
    parse_time,
    tracked_person,
)
from footfall.graph.identity.models import (
    PERSON_ID_PATTERN,
    CustomerOut,
    EmbeddingOut,
    FaceImageIn,
    RecognizeOut,
    RegisteredOut,
    RegisterIn,
    TrackedPersonOut,
    TrackingUpdateIn,
    TrackOut,
    UserFaceOut,
)
from footfall.services.core import errors
from footfall.v1 import identity_pb2

ERROR_STYLE = DETAIL
router = domain_router(tags=["identity (seed 002)"], style=ERROR_STYLE)
Identity = Annotated[IdentityClient, Depends(client(IdentityClient))]
Customers = Annotated[CustomersClient, Depends(client(CustomersClient))]
PersonId = Annotated[str, Path(pattern=PERSON_ID_PATTERN, description="The person's id (UUID)")]
VectorId = Annotated[str, Path(pattern=PERSON_ID_PATTERN, description="The stored face vector's id (UUID)")]
IdText = Annotated[str, Path(max_length=64, description="The customer's id")]

USER_NOT_FOUND = "User not found"
CUSTOMER_NOT_FOUND = "Customer not found"
IMAGE_ERRORS = error_responses(400, 413)


@router.post("/generate-embedding", responses=IMAGE_ERRORS, summary="Generate a face embedding from an image")
async def generate_embedding(caller: Feeder, identity: Identity, body: FaceImageIn) -> EmbeddingOut:
    """dlib's 128-d descriptor of the largest face (compare by Euclidean distance; 0.6 is the match threshold)."""
    return EmbeddingOut(
        embedding=await identity.generate_embedding(caller, decode_image(body.face_image_b64))
    )


@router.post(
    "/recognize", responses=IMAGE_ERRORS, summary="Recognise a face: the matching enrolled customers"
)
async def recognize(caller: Feeder, identity: Identity, body: FaceImageIn) -> RecognizeOut:
    reply = await identity.recognize(caller, image=decode_image(body.face_image_b64))
    return RecognizeOut(tracked_objects=[match_out(m) for m in reply.matches])


@router.post(
    "/register", responses=error_responses(400, 409, 413), summary="Register a customer with their face"
)
async def register(caller: Feeder, identity: Identity, body: RegisterIn) -> RegisteredOut:
    """Creates the customer and stores their face under a consent record (the one given, else the registering
    credential's attestation, audited). 409 when the face is already registered."""
    consent = None
    if body.consent is not None:
        consent = identity_pb2.Consent(
            given_by=body.consent.subject or body.name,
            method=body.consent.method or "",
            purpose=body.consent.purpose or "",
        )
    reply = await identity.register(
        caller,
        name=body.name,
        email=body.email or "",
        image=decode_image(body.face_image_b64),
        consent=consent,
    )
    return RegisteredOut(message="Registration successful", customer_id=str(reply.customer_id))


@router.post(
    "/auto-register",
    responses=error_responses(400, 403, 409, 413),
    summary="Register an unrecognised face as a new customer (when the organisation allows it)",
)
async def auto_register(caller: Feeder, identity: Identity, body: FaceImageIn) -> RegisteredOut:
    reply = await identity.auto_register(caller, decode_image(body.face_image_b64))
    return RegisteredOut(message="Auto-registration successful", customer_id=str(reply.customer_id))


@router.get("/users/{user_id}/face", responses=error_responses(404), summary="A customer's enrolled face")
async def user_face(caller: Reader, identity: Identity, user_id: IdText) -> UserFaceOut:
    """The customer (as the face service's TrackedObject) with their enrolled face crop as base64 JPEG."""
    customer_id = parse_customer_id(user_id, USER_NOT_FOUND)
    try:
        reply = await identity.customer_face(caller, customer_id)
    except errors.NotFound:
        raise errors.NotFound(USER_NOT_FOUND) from None
    return UserFaceOut.of(customer_match(reply.customer), reply.image, reply.face_count)


@router.get(
    "/customer/by-vector/{vector_id}",
    responses=error_responses(404),
    summary="The customer a stored face vector belongs to",
)
async def customer_by_vector(caller: Reader, identity: Identity, vector_id: VectorId) -> CustomerOut:
    try:
        return customer_out((await identity.customer_by_vector(caller, vector_id)).customer)
    except errors.NotFound:
        raise errors.NotFound(CUSTOMER_NOT_FOUND) from None


@router.get("/customer/{customer_id}", responses=error_responses(404), summary="Customer information")
async def get_customer(caller: Reader, customers: Customers, customer_id: IdText) -> CustomerOut:
    """The customer record (kept by the customers service)."""
    number = parse_customer_id(customer_id, CUSTOMER_NOT_FOUND)
    try:
        return customer_out(await customers.get_customer(caller, number))
    except errors.NotFound:
        raise errors.NotFound(CUSTOMER_NOT_FOUND) from None


@router.get("/persons/{person_id}", responses=error_responses(404), summary="Where a person has been seen")
async def get_person(caller: Reader, identity: Identity, person_id: PersonId) -> TrackedPersonOut:
    return tracked_person(await identity.get_person(caller, person_id))


@router.post("/track", responses=error_responses(400, 404), summary="Update tracking data by hand")
async def track(caller: Feeder, identity: Identity, body: TrackingUpdateIn) -> TrackOut:
    """Each tracked object's box becomes a position (its bottom centre) of its person: a track seen before
    keeps its person, a new one starts a person; `user_id` links it to a customer."""
    objects = [
        _tracked(o.object_id, o.bbox, o.person_id, o.user_id, o.identification_confidence)
        for o in body.tracked_objects
    ]
    reply = await identity.track(caller, body.camera_id, objects, parse_time(body.timestamp, "timestamp"))
    return TrackOut(status=reply.status or "updated", objects_count=reply.objects_count)


def _tracked(
    object_id: str, bbox: list[float], person_id: str | None, user_id: str | None, confidence: float
) -> identity_pb2.TrackedObjectUpdate:
    x, y = foot_point(bbox)
    customer_id = None
    if user_id:
        if not user_id.isascii() or not user_id.isdigit() or len(user_id) > 18:
            raise invalid_parameter("tracked_objects.user_id", "must be a customer id", "body")
        customer_id = int(user_id)
    return tracked_object(
        object_id, x, y, person_id=person_id or "", customer_id=customer_id, confidence=confidence
    )


__all__ = ["ERROR_STYLE", "router"]
