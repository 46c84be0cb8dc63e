"""Seed 003's persons and statistics through the gateway: multipart creation, updates, the pagination object,
demographics, `{"error": ...}` bodies, organisations kept apart."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.graph_identity.conftest import Store

PERSON_IMAGE = re.compile(r"^people/[0-9a-f-]{36}\.jpg$")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
VECTOR = [round(0.01 * i - 0.6, 2) for i in range(128)]


def _form(**fields: object) -> dict[str, str]:
    return {k: str(v) for k, v in fields.items()}


async def _create(
    http: httpx.AsyncClient, store: Store, account: object, **fields: object
) -> dict[str, object]:
    r = await http.post("/api/client/person/", data=_form(**fields), headers=store.headers(account))  # type: ignore[arg-type]
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def counted(store: Store) -> list[dict[str, object]]:
    """Three persons of organisation C, oldest first."""
    async with httpx.AsyncClient(base_url=store.base_url, timeout=60) as http:
        return [
            await _create(http, store, store.admin_c, gender=g, age=a, emotion=e, body_type=b)
            for g, a, e, b in (
                ("Female", 25, "Happy", "Normal"),
                ("Female", 40, "Happy", "Normal"),
                ("Male", 60, "Sad", "Athletic"),
            )
        ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/client/person/"),
        ("PUT", "/api/client/person/abc/"),
        ("GET", "/api/client/persons/"),
        *(("GET", f"/api/client/statistics/{k}/") for k in ("gender", "age", "emotion", "body-type")),
    ],
)
async def test_anonymous_callers_get_401(http: httpx.AsyncClient, method: str, path: str) -> None:
    kwargs: dict[str, object] = (
        {"json": {}} if method == "PUT" else {"data": {"age": "3"}} if method == "POST" else {}
    )
    r = await http.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == 401
    assert r.json() == {"error": "Not authenticated"}


async def test_create_person_with_vector_attributes_and_image(store: Store, http: httpx.AsyncClient) -> None:
    fields = _form(
        vector=VECTOR,
        age=25,
        gender="Female",
        emotion="Happy",
        body_type="Normal",
        entry_time="2024-12-01T10:00:00Z",
        exit_time="2024-12-01T11:00:00Z",
    )
    fields["vector"] = "[" + ", ".join(str(v) for v in VECTOR) + "]"
    r = await http.post(
        "/api/client/person/",
        data=fields,
        files={"image": ("person.jpg", store.photo("alex2"), "image/jpeg")},
        headers=store.headers(store.admin_a),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body == {
        "id": body["id"],
        "vector": body["vector"],
        "image": body["image"],
        "age": 25,
        "gender": "Female",
        "emotion": "Happy",
        "body_type": "Normal",
        "entry_time": "2024-12-01T10:00:00Z",
        "exit_time": "2024-12-01T11:00:00Z",
    }
    uuid.UUID(body["id"])
    assert body["vector"] == pytest.approx(VECTOR, abs=1e-6)
    assert PERSON_IMAGE.match(body["image"]) and body["id"] in body["image"]

    bare = await _create(http, store, store.admin_a)
    assert {k: v for k, v in bare.items() if k != "id"} == {
        "vector": None,
        "image": None,
        "age": None,
        "gender": None,
        "emotion": None,
        "body_type": None,
        "entry_time": None,
        "exit_time": None,
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"vector": "[1, 2, 3]"}, "vector"),
        ({"vector": "not json"}, "vector"),
        ({"age": "old"}, "age"),
        ({"age": "-1"}, "age"),
        ({"entry_time": "yesterday"}, "entry_time"),
        ({"exit_time": "2024-12-01T10:00:00"}, "exit_time"),
    ],
)
async def test_invalid_fields_are_400_by_field(
    store: Store, http: httpx.AsyncClient, fields: dict[str, str], field: str
) -> None:
    r = await http.post("/api/client/person/", data=fields, headers=store.headers(store.admin_a))
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "Invalid data provided" and list(body["details"]) == [field], body


async def test_person_upload_bodies(store: Store, http: httpx.AsyncClient) -> None:
    admin = store.headers(store.admin_a)
    r = await http.post(
        "/api/client/person/", files={"image": ("x.jpg", b"not an image", "image/jpeg")}, headers=admin
    )
    assert r.status_code == 400 and r.json() == {"error": "Invalid image data"}
    r = await http.post("/api/client/person/", json={"age": 3}, headers=admin)
    assert r.status_code == 415
    broken = {"Content-Type": "multipart/form-data"}  # no boundary
    r = await http.post("/api/client/person/", content=b"x", headers={**admin, **broken})
    assert r.status_code == 400 and r.json() == {"error": "Invalid multipart/form-data body"}
    r = await http.post("/api/client/person/", content=b"x", headers=broken)
    assert r.status_code == 401 and r.json() == {"error": "Not authenticated"}
    r = await http.post("/api/client/person/", data={"age": "3"}, headers=store.headers(store.analyst_a))
    assert r.status_code == 403 and list(r.json()) == ["error"]


async def test_update_person_keeps_name_and_phone_on_its_customer(
    store: Store, http: httpx.AsyncClient
) -> None:
    person = await _create(http, store, store.admin_a, age=20, gender="Male")
    change = {
        "full_name": "John Doe",
        "phone_number": "+998901234567",
        "age": 30,
        "emotion": "Neutral",
        "body_type": "Athletic",
    }
    r = await http.put(
        f"/api/client/person/{person['id']}/", json=change, headers=store.headers(store.admin_a)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {
        "id": person["id"],
        **change,
        "gender": "Male",
        "entry_time": None,
        "exit_time": None,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert ISO_Z.match(body["created_at"]) and ISO_Z.match(body["updated_at"])

    r = await http.put(
        f"/api/client/person/{person['id']}/", json={"age": 31}, headers=store.headers(store.admin_b)
    )
    assert r.status_code == 404 and r.json() == {"error": "Person not found"}
    r = await http.put(
        f"/api/client/person/{uuid.uuid4()}/", json={"age": 31}, headers=store.headers(store.admin_a)
    )
    assert r.status_code == 404 and r.json() == {"error": "Person not found"}
    r = await http.put(
        f"/api/client/person/{person['id']}/", json={"age": 31}, headers=store.headers(store.analyst_a)
    )
    assert r.status_code == 403 and list(r.json()) == ["error"]
    r = await http.put(
        f"/api/client/person/{person['id']}/", json={"age": "old"}, headers=store.headers(store.admin_a)
    )
    assert (
        r.status_code == 400
        and r.json()["error"] == "Invalid data provided"
        and list(r.json()["details"]) == ["age"]
    )


async def test_list_persons_pages_newest_first(
    store: Store, http: httpx.AsyncClient, counted: list[dict[str, object]]
) -> None:
    admin = store.headers(store.admin_c)
    newest_first = [p["id"] for p in reversed(counted)]
    r = await http.get("/api/client/persons/?page=1&page_size=2", headers=admin)
    assert r.status_code == 200, r.text
    first = r.json()
    assert {k: v for k, v in first.items() if k != "results"} == {
        "count": 3,
        "total_pages": 2,
        "current_page": 1,
        "page_size": 2,
        "has_next": True,
        "has_previous": False,
        "next_page": 2,
        "previous_page": None,
    }
    assert [p["id"] for p in first["results"]] == newest_first[:2]
    assert set(first["results"][0]) == {
        "id",
        "full_name",
        "phone_number",
        "age",
        "gender",
        "emotion",
        "body_type",
        "entry_time",
        "exit_time",
        "created_at",
        "updated_at",
    }
    assert first["results"][0]["gender"] == "Male" and first["results"][0]["age"] == 60

    second = (await http.get("/api/client/persons/?page=2&page_size=2", headers=admin)).json()
    assert {
        k: second[k] for k in ("current_page", "has_next", "has_previous", "next_page", "previous_page")
    } == {"current_page": 2, "has_next": False, "has_previous": True, "next_page": None, "previous_page": 1}
    assert [p["id"] for p in second["results"]] == newest_first[2:]

    everything = (await http.get("/api/client/persons/", headers=admin)).json()
    assert everything["page_size"] == 10 and [p["id"] for p in everything["results"]] == newest_first

    r = await http.get("/api/client/persons/?page=3&page_size=2", headers=admin)
    assert r.status_code == 404 and r.json() == {"error": "Invalid page."}
    for query in ("page=0", "page_size=0", "page_size=101", "page=x"):
        r = await http.get(f"/api/client/persons/?{query}", headers=admin)
        assert r.status_code == 400 and r.json()["error"] == "Invalid data provided", query


async def test_persons_of_another_organisation_stay_hidden(
    store: Store, http: httpx.AsyncClient, counted: list[dict[str, object]]
) -> None:
    r = await http.get("/api/client/persons/?page_size=100", headers=store.headers(store.admin_b))
    assert r.status_code == 200
    assert not {p["id"] for p in r.json()["results"]} & {p["id"] for p in counted}
    r = await http.get(f"/persons/{counted[0]['id']}", headers=store.headers(store.admin_b))
    assert r.status_code == 404


async def test_statistics_bands_and_percentages(
    store: Store, http: httpx.AsyncClient, counted: list[dict[str, object]]
) -> None:
    admin = store.headers(store.admin_c)

    async def get(kind: str) -> object:
        r = await http.get(f"/api/client/statistics/{kind}/", headers=admin)
        assert r.status_code == 200, r.text
        return r.json()

    assert await get("gender") == [
        {"type": "Female", "percentage": 66.7},
        {"type": "Male", "percentage": 33.3},
    ]
    assert await get("age") == [
        {"type": "18-30", "percentage": 33.3},
        {"type": "31-50", "percentage": 33.3},
        {"type": "51+", "percentage": 33.3},
    ]
    assert await get("emotion") == [{"type": "Happy", "value": 2}, {"type": "Sad", "value": 1}]
    assert await get("body-type") == [
        {"type": "Normal", "percentage": 66.7},
        {"type": "Athletic", "percentage": 33.3},
    ]
    r = await http.get("/api/client/statistics/gender/", headers=store.headers(store.analyst_b))
    assert r.status_code == 200 and all(b["type"] in ("Female", "Male") for b in r.json())
