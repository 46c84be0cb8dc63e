"""Identity's domain: persons, consents, policies and the rules between them. Plain data, no SQL, no transport.

A person is anyone seen; a customer is a record of the customers service, which persons and face vectors
link to by id. Face vectors are dlib descriptors compared by Euclidean distance: the threshold decides who
is known, and `confidence_of` turns a distance into the 0..1 number events and APIs carry.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from footfall.services.core.errors import InvalidArgument

#: Positions kept per person (the oldest are dropped): enough for a path, bounded for a row.
MAX_POSITIONS = 200
#: How sharply confidence falls around the threshold: 0.5 at the threshold, ~0.88 at 0.1 closer.
CONFIDENCE_SCALE = 0.05
MAX_TEXT = 200

# Seed 003 spells attributes capitalised; the models say lower case.
GENDER_WORDS = {"female": "Female", "male": "Male"}
EMOTION_WORDS = {
    "angry": "Angry", "disgust": "Disgust", "fear": "Fear", "happy": "Happy", "sad": "Sad",
    "surprise": "Surprise", "neutral": "Neutral",
}
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (("0-17", 0, 17), ("18-30", 18, 30), ("31-50", 31, 50),
                                                       ("51+", 51, None))
ATTESTATION_METHOD = "credential_attestation"
POLICY_METHOD = "org_policy"
DEFAULT_PURPOSE = "face_recognition"


@dataclass(frozen=True)
class Position:
    observed_at: datetime
    camera_id: str
    x: float
    y: float


@dataclass(frozen=True)
class Attributes:
    """What the models (or a client) say about a face; None/empty when unknown."""

    age: int | None = None
    age_confidence: float = 0.0
    gender: str = ""
    gender_confidence: float = 0.0
    emotion: str = ""
    emotion_confidence: float = 0.0


@dataclass(frozen=True)
class Person:
    id: str
    source: str
    first_seen_at: datetime
    last_seen_at: datetime
    customer_id: int | None = None
    cameras: tuple[str, ...] = ()
    positions: tuple[Position, ...] = ()
    attributes: Attributes = Attributes()
    body_type: str = ""
    image_path: str | None = None
    image_quality: float | None = None
    entry_time: datetime | None = None
    exit_time: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class CustomerInfo:
    """What identity shows of a customer record (read from the customers service)."""

    id: int
    name: str = ""
    email: str = ""
    phone: str = ""
    loyalty_status: int = 0
    created_at: datetime | None = None


@dataclass(frozen=True)
class Consent:
    id: str
    given_by: str
    method: str
    purpose: str
    given_at: datetime
    recorded_by: str = ""
    customer_id: int | None = None


@dataclass(frozen=True)
class Policy:
    auto_register: bool = False
    auto_register_purpose: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""


@dataclass(frozen=True)
class Recognition:
    """One recognised customer: the closest of their faces."""

    customer_id: int
    person_id: str | None
    vector_id: str
    distance: float
    confidence: float
    customer: CustomerInfo | None = None


@dataclass(frozen=True)
class Enrolment:
    customer_id: int
    person_id: str
    vector_id: str
    consent: Consent


@dataclass
class ErasureReport:
    person_ids: list[str] = field(default_factory=list)
    face_vectors: int = 0
    images: int = 0
    consents: int = 0


@dataclass(frozen=True)
class StatisticsBucket:
    label: str
    count: int
    percentage: float


def new_id() -> str:
    return str(uuid.uuid4())


def person_id_of(value: str) -> str:
    """A person id from a caller: a UUID, else InvalidArgument (so bad ids never reach SQL as errors)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidArgument("person id must be a UUID") from None


def confidence_of(distance: float, threshold: float) -> float:
    """A logistic of the distance: 0.5 at the threshold, towards 1 for much closer faces, rounded to 4 places.

    Why not `1 - distance`: consumers (promotions) compare confidences with thresholds such as 0.7, which
    must mean "clearly a match" for dlib's distances (same person typically 0.3-0.5)."""
    z = (distance - threshold) / CONFIDENCE_SCALE
    return round(1.0 / (1.0 + math.exp(min(z, 60.0))), 4)


def best_per_customer(matches: Iterable[tuple[int, str | None, str, float]], threshold: float, limit: int
                      ) -> list[Recognition]:
    """(customer_id, person_id, vector_id, distance) within the threshold -> one recognition per customer,
    closest first (several faces per customer are allowed; the closest speaks for them)."""
    best: dict[int, Recognition] = {}
    for customer_id, person_id, vector_id, distance in matches:
        if distance > threshold:
            continue
        current = best.get(customer_id)
        if current is None or distance < current.distance:
            best[customer_id] = Recognition(customer_id, person_id, vector_id, distance,
                                            confidence_of(distance, threshold))
    return sorted(best.values(), key=lambda r: r.distance)[:limit]


def with_sighting(person: Person, camera_id: str, at: datetime, x: float | None = None, y: float | None = None
                  ) -> Person:
    """The person after being seen on `camera_id` at `at` (and at (x, y) when known)."""
    cameras = person.cameras if camera_id in person.cameras or not camera_id else (*person.cameras, camera_id)
    positions = person.positions
    if x is not None and y is not None:
        positions = (*positions, Position(at, camera_id, float(x), float(y)))[-MAX_POSITIONS:]
    return replace(
        person, cameras=cameras, positions=positions,
        first_seen_at=min(person.first_seen_at, at), last_seen_at=max(person.last_seen_at, at),
    )


def plausibly_same(person: Person, at: datetime, window_s: float) -> bool:
    """Cross-camera rule: a matching face belongs to the same person only if that person was last seen
    within `window_s` of this sighting (a face seen a week later is a new visit, hence a new person)."""
    return abs((at - person.last_seen_at).total_seconds()) <= window_s


def seed_gender(value: str) -> str:
    word = value.strip().lower()
    return GENDER_WORDS.get(word, value.strip().title()[:MAX_TEXT])


def seed_emotion(value: str) -> str:
    word = value.strip().lower()
    return EMOTION_WORDS.get(word, value.strip().title()[:MAX_TEXT])


def attributes_from_models(age: int, age_conf: float, gender: str, gender_conf: float, emotion: str,
                           emotion_conf: float) -> Attributes:
    return Attributes(int(age), round(float(age_conf), 4), seed_gender(gender), round(float(gender_conf), 4),
                      seed_emotion(emotion), round(float(emotion_conf), 4))


def checked_age(age: int | None) -> int | None:
    if age is not None and not 0 <= age <= 150:
        raise InvalidArgument("age must be between 0 and 150")
    return age


def checked_text(value: str, what: str, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument(f"{what} is required")
    if len(value) > MAX_TEXT:
        raise InvalidArgument(f"{what} must be at most {MAX_TEXT} characters")
    return value


def checked_consent(given_by: str, method: str, purpose: str, given_at: datetime | None, recorded_by: str
                    ) -> Consent:
    """A consent given with the enrolment: who, how and what for are required; when defaults to now and may
    not lie in the future (a consent cannot be recorded before it was given)."""
    now = datetime.now(UTC)
    at = given_at or now
    if at > now.replace(microsecond=0) and (at - now).total_seconds() > 300:
        raise InvalidArgument("consent given_at lies in the future")
    return Consent(new_id(), checked_text(given_by, "consent given_by", required=True),
                   checked_text(method, "consent method", required=True),
                   checked_text(purpose, "consent purpose", required=True), at, recorded_by)


def attested_consent(recorded_by: str, display_name: str) -> Consent:
    """No consent object: the registering credential attests that the person consented (kiosk, counter)."""
    return Consent(new_id(), display_name or recorded_by, ATTESTATION_METHOD, DEFAULT_PURPOSE,
                   datetime.now(UTC), recorded_by)


def policy_consent(policy: Policy) -> Consent:
    return Consent(new_id(), "organisation policy", POLICY_METHOD, policy.auto_register_purpose or DEFAULT_PURPOSE,
                   datetime.now(UTC), policy.updated_by)


def age_band(age: int) -> str:
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return AGE_BANDS[0][0]


def percentages(counts: Sequence[tuple[str, int]], *, ordered: bool = False) -> list[StatisticsBucket]:
    """Counts -> buckets with percentages of the total (one decimal); largest first unless `ordered`."""
    total = sum(c for _, c in counts)
    buckets = [StatisticsBucket(label, count, round(100.0 * count / total, 1) if total else 0.0)
               for label, count in counts if count > 0]
    return buckets if ordered else sorted(buckets, key=lambda b: (-b.count, b.label))
