"""All of identity's SQL. Tenant functions run on a `db.tenant(org)` connection (row-level security scopes
them to the organisation); the `system_*` functions serve the retention job across organisations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from footfall.services.identity.domain import (
    AGE_BANDS,
    Attributes,
    Consent,
    Person,
    Policy,
    Position,
)
from psycopg.types.json import Jsonb

_PERSON_COLUMNS = (
    "id, customer_id, source, first_seen_at, last_seen_at, cameras, positions, image_path, image_quality, age,"
    " age_confidence, gender, gender_confidence, emotion, emotion_confidence, body_type, entry_time, exit_time,"
    " created_at, updated_at"
)


@dataclass(frozen=True)
class TrackRow:
    person_id: str
    embedded_quality: float | None
    embedded_sharpness: float | None
    embedded_size: float | None
    embedded_frontal: float | None


@dataclass(frozen=True)
class FaceVectorRow:
    id: str
    org: str
    person_id: str | None
    customer_id: int | None
    consent_id: str | None
    image_path: str | None
    created_at: datetime


def _person(row: dict[str, Any]) -> Person:
    positions = tuple(
        Position(datetime.fromtimestamp(p["t"], UTC), p.get("c", ""), float(p["x"]), float(p["y"]))
        for p in row["positions"] or []
    )
    return Person(
        id=str(row["id"]), source=row["source"], first_seen_at=row["first_seen_at"], last_seen_at=row["last_seen_at"],
        customer_id=row["customer_id"], cameras=tuple(row["cameras"] or ()), positions=positions,
        attributes=Attributes(row["age"], row["age_confidence"], row["gender"], row["gender_confidence"],
                              row["emotion"], row["emotion_confidence"]),
        body_type=row["body_type"], image_path=row["image_path"], image_quality=row["image_quality"],
        entry_time=row["entry_time"], exit_time=row["exit_time"], created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _positions_json(person: Person) -> Jsonb:
    return Jsonb([{"t": p.observed_at.timestamp(), "c": p.camera_id, "x": p.x, "y": p.y} for p in person.positions])


async def save_person(conn: psycopg.AsyncConnection, org: str, person: Person) -> Person:
    """Insert the person, or replace every field of the stored one."""
    a = person.attributes
    cur = await conn.execute(
        f"""INSERT INTO identity_persons (id, org_id, customer_id, source, first_seen_at, last_seen_at, cameras,
                positions, image_path, image_quality, age, age_confidence, gender, gender_confidence, emotion,
                emotion_confidence, body_type, entry_time, exit_time)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, first_seen_at = EXCLUDED.first_seen_at,
                last_seen_at = EXCLUDED.last_seen_at, cameras = EXCLUDED.cameras, positions = EXCLUDED.positions,
                image_path = EXCLUDED.image_path, image_quality = EXCLUDED.image_quality, age = EXCLUDED.age,
                age_confidence = EXCLUDED.age_confidence, gender = EXCLUDED.gender,
                gender_confidence = EXCLUDED.gender_confidence, emotion = EXCLUDED.emotion,
                emotion_confidence = EXCLUDED.emotion_confidence, body_type = EXCLUDED.body_type,
                entry_time = EXCLUDED.entry_time, exit_time = EXCLUDED.exit_time, updated_at = now()
            RETURNING {_PERSON_COLUMNS}""",
        (person.id, org, person.customer_id, person.source, person.first_seen_at, person.last_seen_at,
         list(person.cameras), _positions_json(person), person.image_path, person.image_quality, a.age,
         a.age_confidence, a.gender, a.gender_confidence, a.emotion, a.emotion_confidence, person.body_type,
         person.entry_time, person.exit_time),
    )
    return _person(await cur.fetchone())  # type: ignore[arg-type]


async def get_person(conn: psycopg.AsyncConnection, person_id: str, *, lock: bool = False) -> Person | None:
    cur = await conn.execute(
        f"SELECT {_PERSON_COLUMNS} FROM identity_persons WHERE id = %s" + (" FOR UPDATE" if lock else ""),
        (person_id,))
    row = await cur.fetchone()
    return _person(row) if row else None


async def list_persons(conn: psycopg.AsyncConnection, limit: int, after: tuple[datetime, str] | None
                       ) -> list[Person]:
    """Newest first; `after` is the (created_at, id) of the previous page's last person."""
    if after is None:
        cur = await conn.execute(
            f"SELECT {_PERSON_COLUMNS} FROM identity_persons ORDER BY created_at DESC, id DESC LIMIT %s", (limit,))
    else:
        cur = await conn.execute(
            f"""SELECT {_PERSON_COLUMNS} FROM identity_persons WHERE (created_at, id) < (%s, %s)
                ORDER BY created_at DESC, id DESC LIMIT %s""", (after[0], after[1], limit))
    return [_person(r) for r in await cur.fetchall()]


async def count_persons(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT count(*) AS n FROM identity_persons")
    return int((await cur.fetchone())["n"])  # type: ignore[index]


async def persons_of_customer(conn: psycopg.AsyncConnection, customer_id: int) -> list[Person]:
    cur = await conn.execute(
        f"SELECT {_PERSON_COLUMNS} FROM identity_persons WHERE customer_id = %s ORDER BY last_seen_at DESC",
        (customer_id,))
    return [_person(r) for r in await cur.fetchall()]


async def delete_persons(conn: psycopg.AsyncConnection, person_ids: list[str]) -> None:
    await conn.execute("DELETE FROM identity_persons WHERE id = ANY(%s::uuid[])", (person_ids,))


# --- camera tracks -----------------------------------------------------------------------------------------

async def get_track(conn: psycopg.AsyncConnection, camera_key: str, track_id: str) -> TrackRow | None:
    cur = await conn.execute(
        """SELECT person_id, embedded_quality, embedded_sharpness, embedded_size, embedded_frontal
           FROM identity_tracks WHERE camera_key = %s AND track_id = %s""", (camera_key, track_id))
    row = await cur.fetchone()
    if row is None:
        return None
    return TrackRow(str(row["person_id"]), row["embedded_quality"], row["embedded_sharpness"], row["embedded_size"],
                    row["embedded_frontal"])


async def save_track(conn: psycopg.AsyncConnection, org: str, camera_key: str, track_id: str, person_id: str,
                     seen_at: datetime, quality: tuple[float, float, float, float] | None) -> None:
    """Record (or move) a track to its person; `quality` (score, sharpness, size, frontal) when it was embedded."""
    q = quality or (None, None, None, None)
    await conn.execute(
        """INSERT INTO identity_tracks (org_id, camera_key, track_id, person_id, embedded_quality, embedded_sharpness,
               embedded_size, embedded_frontal, first_seen_at, last_seen_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (org_id, camera_key, track_id) DO UPDATE SET person_id = EXCLUDED.person_id,
               embedded_quality = COALESCE(EXCLUDED.embedded_quality, identity_tracks.embedded_quality),
               embedded_sharpness = COALESCE(EXCLUDED.embedded_sharpness, identity_tracks.embedded_sharpness),
               embedded_size = COALESCE(EXCLUDED.embedded_size, identity_tracks.embedded_size),
               embedded_frontal = COALESCE(EXCLUDED.embedded_frontal, identity_tracks.embedded_frontal),
               last_seen_at = GREATEST(identity_tracks.last_seen_at, EXCLUDED.last_seen_at)""",
        (org, camera_key, track_id, person_id, *q, seen_at, seen_at),
    )


# --- consents and face vectors -----------------------------------------------------------------------------

async def insert_consent(conn: psycopg.AsyncConnection, org: str, consent: Consent) -> None:
    await conn.execute(
        """INSERT INTO identity_consents (id, org_id, customer_id, given_by, method, purpose, given_at, recorded_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (consent.id, org, consent.customer_id, consent.given_by, consent.method, consent.purpose, consent.given_at,
         consent.recorded_by),
    )


async def insert_face_vector(conn: psycopg.AsyncConnection, org: str, vector_id: str, *, person_id: str | None,
                             customer_id: int | None, consent_id: str | None, image_path: str | None,
                             created_at: datetime) -> None:
    await conn.execute(
        """INSERT INTO identity_face_vectors (id, org_id, person_id, customer_id, consent_id, image_path, created_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (id) DO UPDATE SET person_id = EXCLUDED.person_id, customer_id = EXCLUDED.customer_id,
               consent_id = EXCLUDED.consent_id, image_path = EXCLUDED.image_path""",
        (vector_id, org, person_id, customer_id, consent_id, image_path, created_at),
    )


_VECTOR_COLUMNS = "id, org_id, person_id, customer_id, consent_id, image_path, created_at"


def _vector(row: dict[str, Any]) -> FaceVectorRow:
    return FaceVectorRow(str(row["id"]), row["org_id"], str(row["person_id"]) if row["person_id"] else None,
                         row["customer_id"], str(row["consent_id"]) if row["consent_id"] else None, row["image_path"],
                         row["created_at"])


async def face_vector(conn: psycopg.AsyncConnection, vector_id: str) -> FaceVectorRow | None:
    cur = await conn.execute(f"SELECT {_VECTOR_COLUMNS} FROM identity_face_vectors WHERE id = %s", (vector_id,))
    row = await cur.fetchone()
    return _vector(row) if row else None


async def customer_faces(conn: psycopg.AsyncConnection, customer_id: int) -> list[FaceVectorRow]:
    """The customer's enrolled faces, newest first."""
    cur = await conn.execute(
        f"""SELECT {_VECTOR_COLUMNS} FROM identity_face_vectors WHERE customer_id = %s
            ORDER BY created_at DESC, id""", (customer_id,))
    return [_vector(r) for r in await cur.fetchall()]


async def person_faces(conn: psycopg.AsyncConnection, person_ids: list[str]) -> list[FaceVectorRow]:
    cur = await conn.execute(
        f"SELECT {_VECTOR_COLUMNS} FROM identity_face_vectors WHERE person_id = ANY(%s::uuid[])", (person_ids,))
    return [_vector(r) for r in await cur.fetchall()]


async def link_person_faces(conn: psycopg.AsyncConnection, person_id: str, customer_id: int) -> None:
    """Faces stored for an unknown person stay unknown faces (no consent): linking the person to a customer
    does not enrol them, so only the person row carries the link."""
    await conn.execute("UPDATE identity_persons SET customer_id = %s, updated_at = now() WHERE id = %s",
                       (customer_id, person_id))


async def delete_face_vectors(conn: psycopg.AsyncConnection, vector_ids: list[str]) -> None:
    await conn.execute("DELETE FROM identity_face_vectors WHERE id = ANY(%s::uuid[])", (vector_ids,))


async def delete_unused_consents(conn: psycopg.AsyncConnection, consent_ids: list[str],
                                 customer_id: int | None) -> int:
    """Remove the named consents no remaining face uses (and, for a customer's erasure, all of theirs)."""
    cur = await conn.execute(
        """DELETE FROM identity_consents c
           WHERE (c.id = ANY(%s::uuid[]) OR (%s::bigint IS NOT NULL AND c.customer_id = %s::bigint))
             AND NOT EXISTS (SELECT 1 FROM identity_face_vectors v WHERE v.consent_id = c.id)""",
        (consent_ids, customer_id, customer_id))
    return cur.rowcount


# --- policy ----------------------------------------------------------------------------------------------

async def get_policy(conn: psycopg.AsyncConnection) -> Policy:
    cur = await conn.execute(
        "SELECT auto_register, auto_register_purpose, updated_at, updated_by FROM identity_policies")
    row = await cur.fetchone()
    if row is None:
        return Policy()
    return Policy(row["auto_register"], row["auto_register_purpose"], row["updated_at"], row["updated_by"])


async def set_policy(conn: psycopg.AsyncConnection, org: str, policy: Policy) -> Policy:
    await conn.execute(
        """INSERT INTO identity_policies (org_id, auto_register, auto_register_purpose, updated_at, updated_by)
           VALUES (%s, %s, %s, now(), %s)
           ON CONFLICT (org_id) DO UPDATE SET auto_register = EXCLUDED.auto_register,
               auto_register_purpose = EXCLUDED.auto_register_purpose, updated_at = now(),
               updated_by = EXCLUDED.updated_by""",
        (org, policy.auto_register, policy.auto_register_purpose, policy.updated_by))
    return await get_policy(conn)


# --- statistics (grouped in the database) -------------------------------------------------------------------

_AGE_CASE = "CASE " + " ".join(
    f"WHEN age <= {high} THEN '{label}'" for label, _, high in AGE_BANDS if high is not None
) + f" ELSE '{AGE_BANDS[-1][0]}' END"
STATISTIC_EXPRESSIONS = {
    "gender": ("gender", "gender <> ''"),
    "emotion": ("emotion", "emotion <> ''"),
    "body_type": ("body_type", "body_type <> ''"),
    "age": (_AGE_CASE, "age IS NOT NULL"),
}


async def attribute_counts(conn: psycopg.AsyncConnection, kind: str, since: datetime | None,
                           until: datetime | None) -> list[tuple[str, int]]:
    expression, present = STATISTIC_EXPRESSIONS[kind]
    cur = await conn.execute(
        f"""SELECT {expression} AS label, count(*) AS n FROM identity_persons
            WHERE {present} AND (%s::timestamptz IS NULL OR first_seen_at >= %s::timestamptz)
              AND (%s::timestamptz IS NULL OR first_seen_at < %s::timestamptz)
            GROUP BY 1""", (since, since, until, until))
    return [(row["label"], int(row["n"])) for row in await cur.fetchall()]


# --- idempotency and retention -----------------------------------------------------------------------------

async def already_applied(conn: psycopg.AsyncConnection, consumer: str, event_id: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM processed_events WHERE consumer = %s AND event_id = %s",
                             (consumer, event_id))
    return await cur.fetchone() is not None


async def system_unknown_faces_before(conn: psycopg.AsyncConnection, cutoff: datetime, limit: int
                                      ) -> list[FaceVectorRow]:
    cur = await conn.execute(
        f"""SELECT {_VECTOR_COLUMNS} FROM identity_face_vectors WHERE customer_id IS NULL AND created_at < %s
            ORDER BY created_at LIMIT %s""", (cutoff, limit))
    return [_vector(r) for r in await cur.fetchall()]


async def system_unknown_person_images_before(conn: psycopg.AsyncConnection, cutoff: datetime, limit: int
                                              ) -> list[tuple[str, str, str]]:
    """(org, person id, image path) of unknown persons last seen before `cutoff` who still have an image."""
    cur = await conn.execute(
        """SELECT org_id, id, image_path FROM identity_persons
           WHERE customer_id IS NULL AND last_seen_at < %s AND image_path IS NOT NULL
           ORDER BY last_seen_at LIMIT %s""", (cutoff, limit))
    return [(r["org_id"], str(r["id"]), r["image_path"]) for r in await cur.fetchall()]


async def system_clear_person_images(conn: psycopg.AsyncConnection, person_ids: list[str]) -> None:
    await conn.execute(
        "UPDATE identity_persons SET image_path = NULL, image_quality = NULL, updated_at = now()"
        " WHERE id = ANY(%s::uuid[])", (person_ids,))
