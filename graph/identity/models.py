"""The REST bodies of identity: seed 002's face and identity-tracker routes and seed 003's persons, exactly as
the documents show them (field names, nulls, number formats). Converters from protobuf live in `convert.py`."""

from __future__ import annotations

import base64
from typing import Any

from footfall.graph.core.convert import clean_text
from pydantic import BaseModel, ConfigDict, Field, field_validator

#: A person id in a path (identity's ids are UUIDs; anything unlike an id is refused before a service is asked).
PERSON_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
#: The longest name, email or phone the forms accept.
MAX_TEXT = 200


class _Input(BaseModel):
    """Inputs refuse text PostgreSQL cannot hold (NUL bytes, lone surrogates), naming the field only."""

    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        return clean_text(value)


# Seed 002: face recognition and user service


class FaceImageIn(_Input):
    face_image_b64: Any = Field(
        None, description="The photo as base64 (JPEG, PNG, WebP, BMP), optionally a data: URL"
    )


class ConsentIn(_Input):
    """Who agreed to have their face stored, how and what for (seed 002's `/register` has no consent field)."""

    subject: str | None = Field(
        None, max_length=MAX_TEXT, description="Who consented (default: the customer)"
    )
    method: str | None = Field(None, max_length=MAX_TEXT, description="How, e.g. kiosk, counter, web form")
    purpose: str | None = Field(
        None, max_length=MAX_TEXT, description="What for (default: recognition in store)"
    )


class RegisterIn(FaceImageIn):
    name: str = Field(min_length=1, max_length=MAX_TEXT)
    email: str | None = Field(None, max_length=MAX_TEXT)
    consent: ConsentIn | None = Field(
        None, description="Without it, the registering credential attests the customer's consent (audited)"
    )


class PolicyIn(_Input):
    """An organisation's rules for faces (not in the seeds; org admins only)."""

    auto_register: bool = Field(
        description="Whether unrecognised faces may be enrolled as customers without the person doing anything"
    )
    auto_register_purpose: str = Field(
        "", max_length=MAX_TEXT, description="The purpose recorded on the consents auto-registration creates"
    )


class PolicyOut(BaseModel):
    auto_register: bool
    auto_register_purpose: str
    updated_at: str | None = Field(description="When an admin last changed it; null: never (the default, off)")
    updated_by: str | None = Field(description="Who changed it last (`user:alice`); null: never changed")


class EmbeddingOut(BaseModel):
    embedding: list[float]


class MatchOut(BaseModel):
    """Seed 002's recognised user (`TrackedObject` of the face service)."""

    id: str
    name: str | None
    confidence: float
    loyalty_status: str | None


class UserFaceOut(MatchOut):
    """`GET /users/{id}/face`: the customer as a TrackedObject, with the enrolled face crop."""

    face_image_b64: str | None = Field(description="The enrolled face crop, base64 JPEG")
    face_count: int = Field(description="How many faces are enrolled for the customer")

    @classmethod
    def of(cls, match: MatchOut, image: bytes, face_count: int) -> UserFaceOut:
        encoded = base64.b64encode(image).decode("ascii") if image else None
        return cls(**match.model_dump(), face_image_b64=encoded, face_count=face_count)


class RecognizeOut(BaseModel):
    tracked_objects: list[MatchOut] = Field(
        description="The enrolled customer the face is, or empty: unknown"
    )


class RegisteredOut(BaseModel):
    message: str
    customer_id: str


class CustomerOut(BaseModel):
    id: str
    name: str | None
    email: str | None
    loyalty_status: str
    created_at: str | None


class PointOut(BaseModel):
    x: int | float
    y: int | float


class PositionOut(BaseModel):
    timestamp: str | None
    camera_id: str
    position: PointOut


class TrackedPersonOut(BaseModel):
    """Seed 002's identity tracker: where a person has been seen."""

    person_id: str
    customer_id: str | None
    first_seen: str | None
    last_seen: str | None
    cameras: list[str]
    positions: list[PositionOut]


class TrackedObjectIn(_Input):
    """One person on a camera at a moment (the identity tracker's `TrackingUpdate` entries)."""

    model_config = ConfigDict(extra="ignore")

    object_id: str = Field(min_length=1, max_length=128, description="The track id on its camera")
    bbox: list[float] = Field(min_length=4, max_length=4, description="x1, y1, x2, y2 in frame pixels")
    confidence: float = Field(1.0, ge=0, le=1)
    user_id: str | None = Field(None, max_length=64, description="The customer id, when already identified")
    person_id: str | None = Field(None, max_length=64, description="The person id, when already known")
    identification_confidence: float = Field(0.0, ge=0, le=1)


class TrackingUpdateIn(_Input):
    model_config = ConfigDict(extra="ignore")

    camera_id: str = Field(min_length=1, max_length=128)
    timestamp: str | None = Field(None, description="ISO 8601; default now")
    tracked_objects: list[TrackedObjectIn] = Field(max_length=1000)


class TrackOut(BaseModel):
    status: str = "updated"
    objects_count: int


# Seed 003: persons and statistics


class PersonCreatedOut(BaseModel):
    """`POST /api/client/person/`'s answer."""

    id: str
    vector: list[float] | None
    image: str | None = Field(description="The stored image's name (`people/<id>.jpg`), or null")
    age: int | None
    gender: str | None
    emotion: str | None
    body_type: str | None
    entry_time: str | None
    exit_time: str | None


class PersonFormIn(_Input):
    """`POST /api/client/person/`'s form fields (the `image` file aside); every one optional."""

    model_config = ConfigDict(extra="ignore")

    vector: str | None = Field(None, max_length=16_000, description="JSON array of 128 numbers")
    age: int | None = Field(None, ge=0, le=150)
    gender: str | None = Field(None, max_length=32)
    emotion: str | None = Field(None, max_length=32)
    body_type: str | None = Field(None, max_length=32)
    entry_time: str | None = Field(None, max_length=64, description="ISO 8601, e.g. 2024-12-01T10:00:00Z")
    exit_time: str | None = Field(None, max_length=64, description="ISO 8601")


#: The OpenAPI schema of that form, with its file.
PERSON_FORM = {
    "type": "object",
    "properties": {
        **PersonFormIn.model_json_schema()["properties"],
        "image": {"type": "string", "format": "binary", "description": "The person's face (JPEG or PNG)"},
    },
}


class PersonOut(BaseModel):
    """A person as the list and `PUT` answer it."""

    id: str
    full_name: str | None
    phone_number: str | None
    age: int | None
    gender: str | None
    emotion: str | None
    body_type: str | None
    entry_time: str | None
    exit_time: str | None
    created_at: str | None
    updated_at: str | None


class PersonUpdateIn(_Input):
    """Only the fields given change; `full_name` and `phone_number` live on the person's customer record."""

    model_config = ConfigDict(extra="ignore")

    full_name: str | None = Field(None, max_length=MAX_TEXT)
    phone_number: str | None = Field(None, max_length=64)
    age: int | None = Field(None, ge=0, le=150)
    gender: str | None = Field(None, max_length=32)
    emotion: str | None = Field(None, max_length=32)
    body_type: str | None = Field(None, max_length=32)


class PersonPageOut(BaseModel):
    count: int
    total_pages: int
    current_page: int
    page_size: int
    has_next: bool
    has_previous: bool
    next_page: int | None
    previous_page: int | None
    results: list[PersonOut]


class ShareOut(BaseModel):
    type: str
    percentage: float


class CountOut(BaseModel):
    type: str
    value: int
