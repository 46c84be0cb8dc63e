"""Seed 002's face, user-service and identity-tracker routes through the gateway, on real photos and models."""

from __future__ import annotations

import base64
import re
import uuid

import httpx
import pytest

from tests.graph_identity.conftest import Store

ISO_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")
NOT_AN_IMAGE = base64.b64encode(b"this is not an image at all").decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/generate-embedding"),
        ("POST", "/recognize"),
        ("POST", "/register"),
        ("POST", "/auto-register"),
        ("POST", "/track"),
        ("GET", "/users/1/face"),
        ("GET", "/customer/1"),
        ("GET", "/customer/by-vector/abc"),
        ("GET", "/persons/abc"),
    ],
)
async def test_anonymous_callers_get_401(http: httpx.AsyncClient, method: str, path: str) -> None:
    r = await http.request(method, path, json={} if method == "POST" else None)
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}


@pytest.mark.parametrize("path", ["/generate-embedding", "/recognize", "/register"])
@pytest.mark.parametrize("image", [None, "", "%%% not base64 %%%", NOT_AN_IMAGE])
async def test_bad_images_are_400_invalid_image_data(
    store: Store, http: httpx.AsyncClient, path: str, image: str | None
) -> None:
    body: dict[str, object] = {"name": "Nobody", "email": "nobody@example.com"}
    if image is not None:
        body["face_image_b64"] = image
    r = await http.post(path, json=body, headers=store.headers(store.admin_a))
    assert r.status_code == 400
    assert r.json() == {"detail": "Invalid image data"}


async def test_generate_embedding_is_dlibs_128_numbers(store: Store, http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/generate-embedding",
        json={"face_image_b64": store.photo_b64("obama")},
        headers=store.headers(store.admin_a),
    )
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["embedding"]
    embedding = r.json()["embedding"]
    assert len(embedding) == 128 and all(isinstance(v, float) for v in embedding)
    same = await http.post(
        "/generate-embedding",
        json={"face_image_b64": "data:image/jpeg;base64," + store.photo_b64("obama")},
        headers=store.headers(store.admin_a),
    )
    assert same.json()["embedding"] == pytest.approx(embedding, abs=1e-6)


async def test_register_then_recognise_only_the_registered_face_in_its_own_org(
    store: Store, http: httpx.AsyncClient
) -> None:
    admin = store.headers(store.admin_a)
    email = f"barack-{uuid.uuid4().hex[:6]}@example.com"
    r = await http.post(
        "/register",
        headers=admin,
        json={
            "name": "Barack",
            "email": email,
            "face_image_b64": store.photo_b64("obama"),
            "consent": {"subject": "Barack", "method": "kiosk", "purpose": "recognition_for_loyalty"},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"message": "Registration successful", "customer_id": body["customer_id"]}
    customer_id = body["customer_id"]
    assert customer_id.isdigit()

    r = await http.post("/recognize", headers=admin, json={"face_image_b64": store.photo_b64("obama2")})
    assert r.status_code == 200, r.text
    matches = r.json()["tracked_objects"]
    assert [m["id"] for m in matches] == [customer_id]
    assert matches[0]["name"] == "Barack" and matches[0]["loyalty_status"] == "bronze"
    assert 0.5 < matches[0]["confidence"] <= 1.0
    assert set(matches[0]) == {"id", "name", "confidence", "loyalty_status"}

    stranger = await http.post("/recognize", headers=admin, json={"face_image_b64": store.photo_b64("biden")})
    assert stranger.status_code == 200 and stranger.json() == {"tracked_objects": []}
    other_org = await http.post(
        "/recognize", headers=store.headers(store.admin_b), json={"face_image_b64": store.photo_b64("obama2")}
    )
    assert other_org.status_code == 200 and other_org.json() == {"tracked_objects": []}

    r = await http.get(f"/customer/{customer_id}", headers=store.headers(store.analyst_a))
    assert r.status_code == 200, r.text
    customer = r.json()
    assert customer == {
        "id": customer_id,
        "name": "Barack",
        "email": email,
        "loyalty_status": "bronze",
        "created_at": customer["created_at"],
    }
    assert ISO_OFFSET.match(customer["created_at"])
    r = await http.get(f"/customer/{customer_id}", headers=store.headers(store.analyst_b))
    assert r.status_code == 404 and r.json() == {"detail": "Customer not found"}

    r = await http.get(f"/users/{customer_id}/face", headers=store.headers(store.analyst_a))
    assert r.status_code == 200, r.text
    face = r.json()
    assert {k: face[k] for k in ("id", "name", "confidence", "loyalty_status", "face_count")} == {
        "id": customer_id,
        "name": "Barack",
        "confidence": 1.0,
        "loyalty_status": "bronze",
        "face_count": 1,
    }
    assert base64.b64decode(face["face_image_b64"]).startswith(b"\xff\xd8")  # a JPEG crop
    r = await http.get(f"/users/{customer_id}/face", headers=store.headers(store.analyst_b))
    assert r.status_code == 404 and r.json() == {"detail": "User not found"}

    again = await http.post(
        "/register", headers=admin, json={"name": "Barack again", "face_image_b64": store.photo_b64("obama3")}
    )
    assert again.status_code == 409, again.text


async def test_register_needs_a_feeder_and_a_face(store: Store, http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/register",
        headers=store.headers(store.analyst_a),
        json={"name": "Alex", "face_image_b64": store.photo_b64("alex")},
    )
    assert r.status_code == 403
    r = await http.post(
        "/register", headers=store.headers(store.admin_a), json={"face_image_b64": store.photo_b64("alex")}
    )
    assert r.status_code == 400 and r.json()["detail"].startswith("Invalid request body: name")


@pytest.mark.parametrize("path", ["/users/{}/face", "/customer/{}"])
@pytest.mark.parametrize("customer_id", ["999999999", "abc", "0"])
async def test_unknown_customers_are_404(
    store: Store, http: httpx.AsyncClient, path: str, customer_id: str
) -> None:
    r = await http.get(path.format(customer_id), headers=store.headers(store.analyst_a))
    assert r.status_code == 404
    assert r.json() == {"detail": "User not found" if path.startswith("/users") else "Customer not found"}


async def test_customer_by_vector(store: Store, http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/graphql",
        headers=store.headers(store.admin_a),
        json={
            "query": """
        mutation($image: String!) { register(input: {name: "Rose", imageBase64: $image}) { customerId vectorId } }
    """,
            "variables": {"image": store.photo_b64("rose")},
        },
    )
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    registered = r.json()["data"]["register"]
    r = await http.get(
        f"/customer/by-vector/{registered['vectorId']}", headers=store.headers(store.analyst_a)
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == registered["customerId"] and r.json()["name"] == "Rose"
    assert set(r.json()) == {"id", "name", "email", "loyalty_status", "created_at"}
    for headers, vector_id in (
        (store.headers(store.analyst_b), registered["vectorId"]),
        (store.headers(store.analyst_a), str(uuid.uuid4())),
    ):
        r = await http.get(f"/customer/by-vector/{vector_id}", headers=headers)
        assert r.status_code == 404 and r.json() == {"detail": "Customer not found"}


async def test_auto_register_follows_the_organisations_policy(store: Store, http: httpx.AsyncClient) -> None:
    admin = store.headers(store.admin_b)
    r = await http.post("/auto-register", headers=admin, json={"face_image_b64": store.photo_b64("lin")})
    assert r.status_code == 403
    assert r.json() == {"detail": "auto-registration is off for this organisation"}
    await store.allow_auto_register(store.admin_b.org)
    for image in (None, "%%%", NOT_AN_IMAGE):
        r = await http.post("/auto-register", headers=admin, json={"face_image_b64": image})
        assert r.status_code == 400 and r.json() == {"detail": "Invalid image data"}
    r = await http.post("/auto-register", headers=admin, json={"face_image_b64": store.photo_b64("lin")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"message": "Auto-registration successful", "customer_id": body["customer_id"]}
    r = await http.post("/auto-register", headers=admin, json={"face_image_b64": store.photo_b64("lin")})
    assert r.status_code == 409


async def test_track_then_read_where_the_person_was(store: Store, http: httpx.AsyncClient) -> None:
    admin = store.headers(store.admin_a)
    camera = f"door-{uuid.uuid4().hex[:6]}"
    update = {
        "camera_id": camera,
        "timestamp": "2025-01-15T10:30:45Z",
        "tracked_objects": [
            {
                "object_id": "7",
                "camera_id": camera,
                "bbox": [100, 100, 200, 300],
                "confidence": 0.9,
                "object_type": "person",
                "last_seen": "2025-01-15T10:30:45Z",
                "user_id": None,
                "identification_confidence": 0.0,
            },
            {"object_id": "8", "bbox": [300, 50, 360, 250]},
        ],
    }
    r = await http.post("/track", headers=admin, json=update)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "updated", "objects_count": 2}
    update["timestamp"] = "2025-01-15T10:30:47Z"
    update["tracked_objects"] = [{"object_id": "7", "bbox": [120, 100, 220, 310]}]
    r = await http.post("/track", headers=admin, json=update)
    assert r.json() == {"status": "updated", "objects_count": 1}

    person_id = await _person_on(store, http, camera, positions=2)
    r = await http.get(f"/persons/{person_id}", headers=store.headers(store.analyst_a))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "person_id": person_id,
        "customer_id": None,
        "first_seen": "2025-01-15T10:30:45+00:00",
        "last_seen": "2025-01-15T10:30:47+00:00",
        "cameras": [camera],
        "positions": [
            {"timestamp": "2025-01-15T10:30:45+00:00", "camera_id": camera, "position": {"x": 150, "y": 300}},
            {"timestamp": "2025-01-15T10:30:47+00:00", "camera_id": camera, "position": {"x": 170, "y": 310}},
        ],
    }
    r = await http.get(f"/persons/{person_id}", headers=store.headers(store.analyst_b))
    assert r.status_code == 404 and r.json() == {"detail": "Person not found"}
    r = await http.get(f"/persons/{uuid.uuid4()}", headers=store.headers(store.analyst_a))
    assert r.status_code == 404 and r.json() == {"detail": "Person not found"}


async def test_track_refuses_bad_updates(store: Store, http: httpx.AsyncClient) -> None:
    admin = store.headers(store.admin_a)
    for update in (
        {"camera_id": "door", "tracked_objects": [{"object_id": "1", "bbox": [1, 2, 3]}]},
        {
            "camera_id": "door",
            "tracked_objects": [{"object_id": "1", "bbox": [1, 2, 3, 4], "user_id": "gold"}],
        },
        {"camera_id": "door", "timestamp": "yesterday", "tracked_objects": []},
    ):
        r = await http.post("/track", headers=admin, json=update)
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith("Invalid request body")
    r = await http.post(
        "/track", headers=store.headers(store.analyst_a), json={"camera_id": "door", "tracked_objects": []}
    )
    assert r.status_code == 403


async def _person_on(store: Store, http: httpx.AsyncClient, camera: str, positions: int) -> str:
    """The id of the one person seen on `camera` with `positions` positions (found through GraphQL)."""
    r = await http.post(
        "/graphql",
        headers=store.headers(store.analyst_a),
        json={"query": "{ persons(first: 1000) { nodes { id cameras positions { x } } } }"},
    )
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    found = [
        p["id"]
        for p in r.json()["data"]["persons"]["nodes"]
        if p["cameras"] == [camera] and len(p["positions"]) == positions
    ]
    assert len(found) == 1, r.json()
    return str(found[0])
