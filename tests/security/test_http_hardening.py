"""The gateway's HTTP hardening (graph/security/http.py) on a small FastAPI app served by a real uvicorn.

Every request goes over a real socket (httpx, or a raw socket where the test must control what is sent),
so keep-alive, early 413s and streamed responses behave as they do in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
import websockets
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from footfall.graph.security.http import check_websocket_origin, content_security_policy, install_http_hardening
from footfall.services.core.config import Settings
from footfall.services.core.embedded import free_port

LIMIT = 64 * 1024


class Item(BaseModel):
    name: str


@dataclass
class Served:
    base: str
    port: int
    handled: list[str] = field(default_factory=list)
    release_stream: asyncio.Event = field(default_factory=asyncio.Event)


def build_app(settings: Settings, served: Served) -> FastAPI:
    app = FastAPI()

    @app.post("/items")
    async def create_item(item: Item) -> dict[str, str]:
        served.handled.append("items")
        return {"name": item.name}

    @app.post("/frames", openapi_extra={"requestBody": {"content": {"image/jpeg": {}}}})
    async def push_frame(request: Request) -> dict[str, int]:
        served.handled.append("frames")
        return {"bytes": len(await request.body())}

    @app.get("/search")
    async def search(q: str = "") -> dict[str, str]:
        return {"q": q}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("relation \"secret_table\" does not exist (psycopg internals)")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"first\n"
            await served.release_stream.wait()
            yield b"second\n"

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        if not await check_websocket_origin(websocket, settings):
            return
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    install_http_hardening(app, settings)
    return app


@contextlib.asynccontextmanager
async def serve(**settings_kw: object) -> AsyncIterator[Served]:
    settings = Settings(max_body_bytes=LIMIT, **settings_kw)  # type: ignore[arg-type]
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}", port)
    server = uvicorn.Server(uvicorn.Config(build_app(settings, served), host="127.0.0.1", port=port,
                                           lifespan="off", log_level="warning", ws="websockets-sansio"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield served
    finally:
        served.release_stream.set()
        server.should_exit = True
        await task


@pytest.fixture
async def app() -> AsyncIterator[Served]:
    async with serve() as served:
        yield served


async def test_security_headers_on_every_response(app: Served) -> None:
    async with httpx.AsyncClient(base_url=app.base) as client:
        for response in (await client.get("/search?q=x"), await client.get("/missing"),
                         await client.post("/items", content=b"x", headers={"content-type": "text/plain"})):
            csp = response.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
        assert "access-control-allow-origin" not in (
            await client.get("/search", headers={"origin": "https://evil.example"})).headers


def test_csp_allows_no_inline_script_but_our_own_by_hash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    csp = content_security_policy()
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    # A page of ours with an inline script gets exactly that script allowed, by its hash.
    (tmp_path / "page.html").write_bytes(b"<html><script>boot()</script></html>")
    assert "'sha256-" in content_security_policy(tmp_path)


async def test_text_plain_never_reaches_a_json_route(app: Served) -> None:
    async with httpx.AsyncClient(base_url=app.base) as client:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""):
            r = await client.post("/items", content=b'{"name": "csrf"}', headers={"content-type": content_type})
            assert r.status_code == 415, (content_type, r.text)
            assert r.json()["detail"].startswith("Unsupported media type")
        ok = await client.post("/items", json={"name": "fine"})
        assert ok.status_code == 200 and ok.json() == {"name": "fine"}
        vendor = await client.post("/items", content=b'{"name":"v"}',
                                   headers={"content-type": "application/vnd.api+json; charset=utf-8"})
        assert vendor.status_code == 200
        # A route that declares other media accepts exactly those.
        frame = await client.post("/frames", content=b"\xff\xd8jpeg", headers={"content-type": "image/jpeg"})
        assert frame.status_code == 200 and frame.json() == {"bytes": 6}
        wrong = await client.post("/frames", content=b"{}", headers={"content-type": "application/json"})
        assert wrong.status_code == 415 and "image/jpeg" in wrong.json()["detail"]
    assert app.handled == ["items", "items", "frames"]


async def test_nul_bytes_and_lone_surrogates_are_400(app: Served) -> None:
    async with httpx.AsyncClient(base_url=app.base) as client:
        assert (await client.get("/search?q=a%00b")).status_code == 400
        assert (await client.get("/search?q=%ED%A0%80")).status_code == 400  # UTF-8 of a lone surrogate
        assert (await client.get("/search%00x")).status_code == 400
        assert (await client.get("/search?q=caf%C3%A9")).json() == {"q": "café"}
        for body in (b'{"name": "a\\u0000b"}', b'{"name": "\\ud800"}', b'{"na\\udc00me": "x"}',
                     b'{"name": "\xed\xa0\x80"}', b'{"name": ["ok", {"deep": "\\u0000"}]}'):
            r = await client.post("/items", content=body, headers={"content-type": "application/json"})
            assert r.status_code == 400, body
            assert set(r.json()) == {"detail"}
        emoji = await client.post("/items", content=b'{"name": "\\ud83d\\ude00 \\u00e9"}',
                                  headers={"content-type": "application/json"})
        assert emoji.status_code == 200 and emoji.json() == {"name": "\U0001f600 é"}
    assert app.handled == ["items"]


async def test_a_500_quotes_nothing_and_the_connection_survives(app: Served) -> None:
    ports: list[int] = []

    async def remember_port(response: httpx.Response) -> None:
        stream = response.extensions["network_stream"]
        ports.append(stream.get_extra_info("client_addr")[1])

    async with httpx.AsyncClient(base_url=app.base, event_hooks={"response": [remember_port]}) as client:
        r = await client.get("/boom")
        assert r.status_code == 500 and r.json() == {"detail": "Internal Server Error"}
        assert "secret" not in r.text and "psycopg" not in r.text
        assert r.headers["x-content-type-options"] == "nosniff"
        assert (await client.post("/items", content=b"x", headers={"content-type": "text/plain"})).status_code == 415
        assert (await client.get("/search?q=%00")).status_code == 400
        assert (await client.get("/search?q=again")).status_code == 200
    assert len(ports) == 4 and len(set(ports)) == 1, ports  # one keep-alive connection for all four


async def test_100_mb_body_is_refused_before_it_is_read(app: Served) -> None:
    # The server answers from the headers while the client has sent only the first megabyte.
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    started = time.monotonic()
    writer.write(b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 104857600\r\n\r\n" + b"[" * (1024 * 1024))
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 413"), head
    assert time.monotonic() - started < 5
    writer.close()
    # httpx sending the whole 100 MB gets the same answer, quickly.
    async with httpx.AsyncClient(base_url=app.base, timeout=30) as client:
        started = time.monotonic()
        r = await client.post("/items", content=b" " * (100 * 1024 * 1024),
                              headers={"content-type": "application/json"})
        assert r.status_code == 413 and "limit" in r.json()["detail"]
        assert time.monotonic() - started < 10
    assert app.handled == []


async def test_chunked_bodies_are_counted(app: Served) -> None:
    async def chunks(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b"x" * 16384

    async with httpx.AsyncClient(base_url=app.base) as client:
        big = await client.post("/items", content=chunks(8), headers={"content-type": "application/json"})
        assert big.status_code == 413
        frame = await client.post("/frames", content=chunks(8), headers={"content-type": "image/jpeg"})
        assert frame.status_code == 413 and "limit" in frame.json()["detail"]
        small = await client.post("/frames", content=chunks(2), headers={"content-type": "image/jpeg"})
        assert small.status_code == 200 and small.json() == {"bytes": 32768}


async def test_streams_are_not_buffered(app: Served) -> None:
    async with httpx.AsyncClient(base_url=app.base) as client, client.stream("GET", "/stream") as response:
        lines = response.aiter_lines()
        assert await asyncio.wait_for(anext(lines), 5) == "first"  # arrives while the handler still waits
        app.release_stream.set()
        assert await asyncio.wait_for(anext(lines), 5) == "second"
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_websocket_origin(app: Served) -> None:
    url = f"ws://127.0.0.1:{app.port}/ws"
    async with websockets.connect(url) as ws:  # no Origin: not a browser
        assert await ws.recv() == "hello"
    async with websockets.connect(url, origin=f"http://127.0.0.1:{app.port}") as ws:  # same origin
        assert await ws.recv() == "hello"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_cors_and_hosts_only_when_configured() -> None:
    async with serve(allowed_origins=["https://shop.example"], allowed_hosts=["127.0.0.1", "localhost"]) as app:
        async with httpx.AsyncClient(base_url=app.base) as client:
            pre = await client.options("/items", headers={
                "origin": "https://shop.example", "access-control-request-method": "POST",
                "access-control-request-headers": "content-type"})
            assert pre.status_code == 200
            assert pre.headers["access-control-allow-origin"] == "https://shop.example"
            other = await client.get("/search", headers={"origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers
            bad_host = await client.get("/search", headers={"host": "evil.example"})
            assert bad_host.status_code == 400
            assert bad_host.headers["x-frame-options"] == "DENY"
        async with websockets.connect(f"ws://127.0.0.1:{app.port}/ws", origin="https://shop.example") as ws:
            assert await ws.recv() == "hello"
        assert json.loads(json.dumps({"ok": True}))


def test_a_form_route_inside_an_included_router_accepts_its_media() -> None:
    """FastAPI keeps an included router as one lazy entry; its form routes still declare their media."""
    from fastapi import APIRouter, FastAPI, Form
    from fastapi.testclient import TestClient

    from footfall.graph.security.http import install_http_hardening
    from footfall.services.core.config import Settings

    router = APIRouter(prefix="/api")

    @router.post("/person/")
    async def person(name: str = Form()) -> dict[str, str]:
        return {"name": name}

    app = FastAPI()
    app.include_router(router)
    install_http_hardening(app, Settings())
    with TestClient(app) as client:
        assert client.post("/api/person/", data={"name": "Ada"}).json() == {"name": "Ada"}
        assert client.post("/api/person/", json={"name": "Ada"}).status_code == 415
