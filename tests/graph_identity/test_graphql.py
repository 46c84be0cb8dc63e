"""Identity in GraphQL: enrol, recognise, persons as a connection with their customer and carts (composed from
the customers service), demographics, erasure, and who may do what."""

from __future__ import annotations

from typing import Any

import httpx

from tests.graph_identity.conftest import Account, Store


async def _gql(
    http: httpx.AsyncClient, store: Store, account: Account | None, query: str, **variables: object
) -> dict[str, Any]:
    headers = store.headers(account) if account is not None else {}
    r = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _data(
    http: httpx.AsyncClient, store: Store, account: Account, query: str, **variables: object
) -> Any:
    body = await _gql(http, store, account, query, **variables)
    assert not body.get("errors"), body["errors"]
    return body["data"]


REGISTER = """mutation($image: String!, $name: String!) {
  register(input: {name: $name, email: "kit@example.com", imageBase64: $image,
                   consent: {givenBy: "Kit", method: "kiosk", purpose: "recognition_for_loyalty"}}) {
    customerId personId vectorId consent { id givenBy method purpose recordedBy givenAt } customer { name loyaltyStatus }
  }
}"""
RECOGNIZE = """query($image: String!) {
  recognize(imageBase64: $image) { unknown matches { customerId confidence distance customer { name } } }
}"""


async def test_register_recognise_face_and_erase_a_customer(store: Store, http: httpx.AsyncClient) -> None:
    admin = store.admin_b
    registered = (await _data(http, store, admin, REGISTER, image=store.photo_b64("alex"), name="Alex"))[
        "register"
    ]
    assert registered["consent"]["method"] == "kiosk" and registered["consent"]["givenBy"] == "Kit"
    assert registered["consent"]["recordedBy"] and registered["consent"]["givenAt"]
    assert registered["customer"] == {"name": "Alex", "loyaltyStatus": "BRONZE"}

    found = (await _data(http, store, admin, RECOGNIZE, image=store.photo_b64("alex2")))["recognize"]
    assert found["unknown"] is False
    assert [m["customerId"] for m in found["matches"]] == [registered["customerId"]]
    assert found["matches"][0]["customer"] == {"name": "Alex"} and found["matches"][0]["distance"] < 0.6
    stranger = (await _data(http, store, admin, RECOGNIZE, image=store.photo_b64("biden2")))["recognize"]
    assert stranger == {"unknown": True, "matches": []}

    face = (
        await _data(
            http,
            store,
            store.analyst_b,
            """query($id: ID!) {
      customerFace(customerId: $id) { faceCount imageBase64 enrolledAt customer { name } } }""",
            id=registered["customerId"],
        )
    )["customerFace"]
    assert (
        face["faceCount"] == 1
        and face["imageBase64"].startswith("/9j/")
        and face["customer"] == {"name": "Alex"}
    )

    denied = await _gql(
        http,
        store,
        store.analyst_b,
        """mutation($id: ID!) { eraseCustomerFaces(customerId: $id) {
      faceVectors } }""",
        id=registered["customerId"],
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    erased = (
        await _data(
            http,
            store,
            admin,
            """mutation($id: ID!) { eraseCustomerFaces(customerId: $id) {
      personIds faceVectors images consents } }""",
            id=registered["customerId"],
        )
    )["eraseCustomerFaces"]
    assert erased["faceVectors"] == 1 and erased["consents"] >= 1

    after = (await _data(http, store, admin, RECOGNIZE, image=store.photo_b64("alex2")))["recognize"]
    assert after == {"unknown": True, "matches": []}
    gone = await _data(
        http,
        store,
        admin,
        "query($id: ID!) { customerFace(customerId: $id) { faceCount } }",
        id=registered["customerId"],
    )
    assert gone == {"customerFace": None}
    r = await http.get(f"/users/{registered['customerId']}/face", headers=store.headers(admin))
    assert r.status_code == 404


async def test_persons_connection_with_customer_and_carts(store: Store, http: httpx.AsyncClient) -> None:
    admin = store.headers(store.admin_a)
    r = await http.post("/api/client/person/", data={"age": "70"}, headers=admin)
    assert r.status_code == 201, r.text
    r = await http.post(
        "/api/client/person/", data={"age": "33", "gender": "Female", "emotion": "Happy"}, headers=admin
    )
    assert r.status_code == 201, r.text
    person_id = r.json()["id"]
    r = await http.put(f"/api/client/person/{person_id}/", json={"full_name": "Ada Lovelace"}, headers=admin)
    assert r.status_code == 200, r.text
    product = (
        await http.post("/api/client/products/", json={"name": "Pizza Margherita"}, headers=admin)
    ).json()
    cart = (
        await http.post("/api/client/carts/", json={"person": person_id, "table_number": 5}, headers=admin)
    ).json()
    r = await http.post(
        "/api/client/cart-products/bulk/",
        headers=admin,
        json={"cart_products": [{"cart": cart["id"], "product": product["id"]}]},
    )
    assert r.status_code == 201, r.text

    person = (
        await _data(
            http,
            store,
            store.analyst_a,
            """query($id: ID!) { person(id: $id) {
      id fullName age gender emotion customerId customer { name } carts { id tableNumber lines { productName quantity } }
    } }""",
            id=person_id,
        )
    )["person"]
    assert person["fullName"] == "Ada Lovelace" and person["age"] == 33 and person["gender"] == "Female"
    assert person["customer"] == {"name": "Ada Lovelace"} and person["customerId"]
    assert person["carts"] == [
        {"id": cart["id"], "tableNumber": 5, "lines": [{"productName": "Pizza Margherita", "quantity": 1}]}
    ]

    page = (
        await _data(
            http,
            store,
            store.analyst_a,
            """{ persons(first: 1) { totalCount
      edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }""",
        )
    )["persons"]
    assert page["totalCount"] >= 2 and page["pageInfo"]["hasNextPage"] is True
    assert page["edges"][0]["node"]["id"] == person_id  # newest first
    following = (
        await _data(
            http,
            store,
            store.analyst_a,
            """query($after: String) { persons(first: 1, after: $after) {
      nodes { id } } }""",
            after=page["pageInfo"]["endCursor"],
        )
    )["persons"]
    assert following["nodes"][0]["id"] != person_id

    hidden = await _data(
        http, store, store.analyst_b, "query($id: ID!) { person(id: $id) { id } }", id=person_id
    )
    assert hidden == {"person": None}


async def test_erase_person_removes_it(store: Store, http: httpx.AsyncClient) -> None:
    admin = store.headers(store.admin_a)
    r = await http.post(
        "/api/client/person/",
        data={"age": "40"},
        files={"image": ("p.jpg", store.photo("obama3"), "image/jpeg")},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    person_id = r.json()["id"]
    query = "mutation($id: ID!) { erasePerson(id: $id) { personIds faceVectors images } }"
    denied = await _gql(http, store, store.admin_b, query, id=person_id)
    assert denied["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    erased = (await _data(http, store, store.admin_a, query, id=person_id))["erasePerson"]
    assert erased["personIds"] == [person_id] and erased["images"] == 1
    assert (await http.get(f"/persons/{person_id}", headers=admin)).status_code == 404
    assert await _data(
        http, store, store.admin_a, "query($id: ID!) { person(id: $id) { id } }", id=person_id
    ) == {"person": None}


async def test_demographics_and_permissions(store: Store, http: httpx.AsyncClient) -> None:
    await http.post("/api/client/person/", data={"gender": "Male"}, headers=store.headers(store.admin_b))
    buckets = await _data(
        http, store, store.admin_b, "{ demographics(kind: GENDER) { label count percentage } }"
    )
    labels = {b["label"] for b in buckets["demographics"]}
    assert labels <= {"Female", "Male"} and "Male" in labels
    assert round(sum(b["percentage"] for b in buckets["demographics"])) == 100

    anonymous = await http.post("/graphql", json={"query": "{ persons(first: 1) { totalCount } }"})
    assert anonymous.status_code == 401 and anonymous.json() == {"detail": "Not authenticated"}
    analyst = await _gql(http, store, store.analyst_a, RECOGNIZE, image=store.photo_b64("obama"))
    assert analyst["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await _gql(http, store, store.admin_a, RECOGNIZE, image="%%%")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad["errors"][0]["message"] == "Invalid image data"
