"""Seed 003's session login: its exact body and errors, the cookies, CSRF on cookie-authenticated writes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx

from footfall.graph.security.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.graph_accounts.conftest import PASSWORD, World


@contextlib.asynccontextmanager
async def _session(world: World, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser logged in by seed 003's login: it holds the session and CSRF cookies."""
    async with httpx.AsyncClient(base_url=world.base_url, timeout=30) as client:
        r = await client.post("/api/auth/login/", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield client


def _new_user() -> dict[str, str]:
    name = f"csrf-{uuid.uuid4().hex[:6]}"
    return {"username": name, "password": PASSWORD, "full_name": "", "email": ""}


async def test_session_login_answers_the_seed_shape_and_sets_cookies(http: httpx.AsyncClient, world: World) -> None:
    r = await http.post("/api/auth/login/", json={"email": world.admin_a.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"] == "Login successful"
    assert set(body["user"]) == {"id", "email", "first_name", "last_name", "is_verified"}
    assert body["user"]["email"] == world.admin_a.email
    assert (body["user"]["first_name"], body["user"]["last_name"]) == ("Test", "Admina")
    cookies = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
    assert "httponly" in cookies[SESSION_COOKIE] and "samesite=lax" in cookies[SESSION_COOKIE]
    assert "secure" not in cookies[SESSION_COOKIE]  # plain http, secure_cookies off
    assert "httponly" not in cookies[CSRF_COOKIE]  # our pages read it for the double submit


async def test_session_cookie_is_secure_behind_tls(http: httpx.AsyncClient, world: World) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (its default proxy), as behind a TLS-terminating proxy.
    r = await http.post(
        "/api/auth/login/",
        json={"email": world.admin_a.email, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert r.status_code == 200
    session = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "secure" in session.lower()


async def test_session_login_errors(http: httpx.AsyncClient, world: World) -> None:
    r = await http.post("/api/auth/login/", json={"email": world.admin_a.email, "password": "wrong wrong"})
    assert (r.status_code, r.json()) == (401, {"error": "Invalid email or password"})
    r = await http.post("/api/auth/login/", json={"password": "x"})
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid data provided", "details": {"email": ["This field is required."]}}
    r = await http.post("/api/auth/login/", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()
    r = await http.post("/api/auth/login/", content=b"email=x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "error" in r.json()


async def test_session_login_accepts_the_seeds_form_post(http: httpx.AsyncClient, world: World) -> None:
    r = await http.post("/api/auth/login/", data={"email": world.admin_a.email, "password": PASSWORD})
    assert r.status_code == 200 and r.json()["message"] == "Login successful"


async def test_cross_site_login_is_refused(http: httpx.AsyncClient, world: World) -> None:
    r = await http.post(
        "/api/auth/login/",
        json={"email": world.admin_a.email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "error" in r.json()
    assert SESSION_COOKIE not in r.cookies


async def test_cookie_reads_work_and_cross_origin_writes_are_refused(world: World) -> None:
    async with _session(world, world.admin_a.email) as browser:
        assert (await browser.get("/admin/users")).status_code == 200
        # A page on another site posting with the visitor's cookie.
        r = await browser.post("/admin/users", json=_new_user(), headers={"Origin": "https://evil.example"})
        assert r.status_code == 403
        r = await browser.post("/admin/users", json=_new_user(), headers={"Referer": "https://evil.example/x"})
        assert r.status_code == 403
        r = await browser.post("/admin/users", json=_new_user())  # neither Origin nor token
        assert r.status_code == 403
        r = await browser.post("/admin/users", json=_new_user(), headers={CSRF_HEADER: "guessed"})
        assert r.status_code == 403
        # Our own pages: same origin, an allowed origin, or the double-submitted token.
        r = await browser.post("/admin/users", json=_new_user(), headers={"Origin": world.base_url})
        assert r.status_code == 201, r.text
        r = await browser.post("/admin/users", json=_new_user(), headers={"Origin": "https://admin.example.com"})
        assert r.status_code == 201, r.text
        token = browser.cookies[CSRF_COOKIE]
        r = await browser.post("/admin/users", json=_new_user(), headers={CSRF_HEADER: token})
        assert r.status_code == 201, r.text


async def test_bearer_requests_need_no_csrf_proof(http: httpx.AsyncClient, world: World) -> None:
    login = await http.post("/admin/login", json={"username": world.admin_a.username, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}", "Origin": "https://evil.example"}
    assert (await http.post("/admin/users", json=_new_user(), headers=headers)).status_code == 201


async def test_session_logout_revokes_and_clears_cookies(world: World) -> None:
    async with _session(world, world.analyst_a.email) as browser:
        stolen = browser.cookies[SESSION_COOKIE]
        assert (await browser.get("/alerts/count")).status_code == 200
        r = await browser.post("/api/auth/logout/", headers={"Origin": world.base_url})
        assert (r.status_code, r.json()) == (200, {"message": "Logout successful"})
        assert SESSION_COOKIE not in browser.cookies
        r = await browser.get("/alerts/count", cookies={SESSION_COOKIE: stolen})
        assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
        r = await browser.post("/api/auth/logout/")
        assert (r.status_code, r.json()) == (401, {"error": "Not authenticated"})
