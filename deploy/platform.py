"""Assembles the platform: infrastructure (embedded or external), every service, the gateway.

`footfall up` runs `Platform` with all services in one process; `footfall serve <service>` runs one.

Stopping goes in the order that loses nothing: producers first (vision streams, schedulers, the webhook
dispatcher), then the outbox relay flushes what was committed, then the consumers (each finishes its batch),
the gRPC server, the relay's last bounded flush, NATS, PostgreSQL. Nothing publishes with retries against a
closing bus: events that follow a commit wait in the outbox (services/core/outbox.py) for the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import EmbeddedPostgres, NatsServer, free_port
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.migrations import apply_migrations
from footfall.services.core.outbox import OutboxRelay, hold_relay

log = logging.getLogger(__name__)


class ServiceRuntime(Protocol):
    """What a service's `start_<name>` returns. It may also have `async stop_producing()`: stop what creates
    work on its own (streams, schedulers), called on every runtime before any `stop`."""

    async def stop(self) -> None: ...


#: Runtimes that only produce (their `stop` ends streams that publish): stopped first, while NATS is up.
PRODUCER_SERVICES = ("vision",)


ServiceStarter = Callable[[Settings, Database, EventBus, GrpcServer], Awaitable[ServiceRuntime]]


def service_starters() -> dict[str, ServiceStarter]:
    """Every service that can run in this process, by name (imported lazily: each pulls its own deps)."""
    starters: dict[str, ServiceStarter] = {}

    from footfall.services.accounts.runtime import start_accounts
    from footfall.services.occupancy.runtime import start_occupancy

    starters["accounts"] = start_accounts

    starters["occupancy"] = start_occupancy
    try:
        from footfall.services.customers.runtime import start_customers
    except ImportError:  # pragma: no cover - service not present in this build
        pass
    else:
        starters["customers"] = start_customers
    try:
        from footfall.services.vision.runtime import start_vision
    except ImportError:  # pragma: no cover
        pass
    else:
        starters["vision"] = start_vision
    from footfall.services.promotions.runtime import start_promotions

    starters["promotions"] = start_promotions
    from footfall.services.identity.runtime import start_identity

    starters["identity"] = start_identity
    return starters


@dataclass
class Infrastructure:
    """Database and NATS, started embedded when no URL is configured."""

    database_url: str
    nats_url: str
    db: Database
    bus: EventBus
    relay: OutboxRelay
    _stack: AsyncExitStack = field(repr=False)

    async def close(self) -> None:
        await self._stack.aclose()


async def start_infrastructure(settings: Settings, *, migrate: bool = True) -> Infrastructure:
    stack = AsyncExitStack()
    try:
        database_url = settings.database_url
        if not database_url:
            pg = EmbeddedPostgres(settings.data_dir / "postgres")
            stack.callback(pg.stop)  # first: a start cut short by a signal still stops what it started
            database_url = await _in_thread_to_the_end(pg.start)
        if migrate:
            applied = await asyncio.to_thread(apply_migrations, database_url)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
        nats_url = settings.nats_url
        if not nats_url:
            nats = NatsServer(settings.data_dir / "nats", port=_preferred_port(4222))
            stack.callback(nats.stop)
            nats_url = await _in_thread_to_the_end(nats.start)
        db = Database(database_url, max_size=settings.database_pool_size)
        await db.open()
        stack.push_async_callback(db.close)
        bus = EventBus(
            nats_url, stream=settings.nats_stream, subject_prefix=settings.nats_subject_prefix,
            max_age_s=settings.nats_max_age_s, duplicate_window_s=settings.nats_duplicate_window_s,
        )
        await bus.connect()
        stack.push_async_callback(bus.close)
        # Held by the platform until every service has stopped: its release is the last flush, before NATS.
        relay = await hold_relay(db, bus)
        stack.push_async_callback(relay.release)
        return Infrastructure(database_url, nats_url, db, bus, relay, stack)
    except BaseException:
        await stack.aclose()
        raise


async def _in_thread_to_the_end(start: Callable[[], str]) -> str:
    """`start()` in a thread; a cancellation (a signal during start) waits for it to finish, so that what it
    started is there to be stopped, then propagates."""
    import contextlib

    future = asyncio.ensure_future(asyncio.to_thread(start))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(future)
        raise


def _preferred_port(port: int) -> int:
    """`port` when free (stable URLs for a local install), else any free port."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return port
        except OSError:
            return free_port()


class Platform:
    """Services (all, or the named ones) on one gRPC server, optionally with the gateway."""

    def __init__(self, settings: Settings, *, services: list[str] | None = None, gateway: bool = True) -> None:
        self.settings = settings
        self.service_names = services
        self.gateway = gateway
        self.infra: Infrastructure | None = None
        self.grpc_server: GrpcServer | None = None
        self.grpc_port: int | None = None
        self.runtimes: dict[str, ServiceRuntime] = {}
        self.channel: grpc.aio.Channel | None = None
        self.app: Any = None
        self.authenticator: Any = None
        #: The platform admin's password when this start generated it (printed once, never stored).
        self.generated_admin_password: str | None = None

    async def start(self) -> None:
        """Start what this process runs; on any failure, stop what was started and re-raise."""
        try:
            if self.service_names == [] and self.gateway:
                await self._start_gateway_only()
            else:
                await self._start_services()
        except BaseException:
            await self.stop()
            raise

    async def _start_services(self) -> None:
        from footfall.services.accounts.authenticator import Authenticator
        from footfall.services.core.tokens import ServiceCredentials, TokenSigner, set_default_service_credentials

        starters = service_starters()
        names = self.service_names or list(starters)
        unknown = set(names) - set(starters)
        if unknown:
            raise ValueError(f"unknown service(s): {', '.join(sorted(unknown))}; choose from {', '.join(starters)}")
        self.infra = await start_infrastructure(self.settings)
        signer = TokenSigner.from_settings(self.settings)
        self.authenticator = Authenticator(self.infra.db, signer, cache_s=self.settings.auth_cache_s)
        set_default_service_credentials(ServiceCredentials(signer, "footfall"))
        self.generated_admin_password = await bootstrap_accounts(self.settings, self.infra.db, self.authenticator)
        self.grpc_server = GrpcServer(self.settings.grpc_host, self.settings.grpc_port,
                                      authenticator=self.authenticator,
                                      audit=audit_sink(self.settings, self.infra.db, self.authenticator))
        for name in names:
            self.runtimes[name] = await starters[name](self.settings, self.infra.db, self.infra.bus, self.grpc_server)
        self.grpc_port = await self.grpc_server.start()
        if self.gateway:
            from footfall.graph.app import create_app

            target = self.settings.grpc_target or f"127.0.0.1:{self.grpc_port}"
            self.channel = grpc.aio.insecure_channel(target)
            self.app = create_app(
                self.settings, self.channel, health_check=self.health, authenticator=self.authenticator,
                nats_url=self.infra.nats_url,  # the gateway keeps the live updates for its live reads
            )

    async def _start_gateway_only(self) -> None:
        """`footfall serve gateway`: no database, no NATS, no gRPC server of its own; every call (logins
        included) goes to the services at FOOTFALL_GRPC_TARGET."""
        from footfall.graph.app import create_app

        if not self.settings.grpc_target:
            raise ValueError("the gateway alone needs FOOTFALL_GRPC_TARGET (host:port of the services)")
        self.channel = grpc.aio.insecure_channel(self.settings.grpc_target)
        self.app = create_app(self.settings, self.channel)

    async def health(self) -> dict[str, str]:
        """Dependency health for `/health`."""
        if self.infra is None:
            return {}
        checks = {"nats": "ok" if self.infra and self.infra.bus.connected else "down"}
        try:
            assert self.infra is not None
            async with self.infra.db.system() as conn:
                await conn.execute("SELECT 1")
            checks["database"] = "ok"
        except Exception:
            checks["database"] = "down"
        return checks

    async def stop(self) -> None:
        """Stop everything started, in the order of the module docstring; safe to call again."""
        channel, self.channel = self.channel, None
        if channel is not None:
            await channel.close()
        runtimes, self.runtimes = self.runtimes, {}
        ordered = sorted(reversed(list(runtimes.items())), key=lambda item: item[0] not in PRODUCER_SERVICES)
        for name, runtime in ordered:
            if name in PRODUCER_SERVICES:
                await _quietly(name, runtime.stop)
            elif hasattr(runtime, "stop_producing"):
                await _quietly(name, runtime.stop_producing)
        if self.infra is not None:
            await self.infra.relay.flush()
        for name, runtime in ordered:
            if name not in PRODUCER_SERVICES:
                await _quietly(name, runtime.stop)
        grpc_server, self.grpc_server = self.grpc_server, None
        if grpc_server is not None:
            await grpc_server.stop()
        infra, self.infra = self.infra, None
        if infra is not None:
            await infra.close()


async def _quietly(name: str, stop: Callable[[], Awaitable[None]]) -> None:
    try:
        await stop()
    except Exception:
        log.exception("stopping %s failed", name)


def audit_sink(settings: Settings, db: Database, authenticator: Any) -> Any:
    """Where the gRPC interceptor records stream starts, webhook and camera changes, calibrations."""
    from footfall.services.accounts.audit_sink import AccountsAuditSink
    from footfall.services.accounts.runtime import build_accounts

    accounts, _ = build_accounts(settings, db, authenticator)
    return AccountsAuditSink(accounts)


async def bootstrap_accounts(settings: Settings, db: Database, authenticator: Any) -> str | None:
    """First run: the default organisation and the platform admin (from FOOTFALL_ADMIN_USERNAME /
    FOOTFALL_ADMIN_PASSWORD, else with a generated password, returned to be printed once)."""
    from footfall.services.accounts.runtime import build_accounts

    accounts, _ = build_accounts(settings, db, authenticator)
    await accounts.ensure_org(settings.default_org)
    return await accounts.ensure_platform_admin(settings.admin_username, settings.admin_email, settings.admin_password)


def login_banner(settings: Settings, generated_password: str | None) -> str:
    """What `footfall up` prints about logging in (the generated password only on the run that made it)."""
    url = f"http://{settings.http_host}:{settings.http_port}"
    lines = [f"Open {url}/ in a browser and log in as '{settings.admin_username}' (API clients: POST /admin/login)."]
    if generated_password:
        lines += [
            "",
            "*" * 64,
            f"  First run: created the platform admin '{settings.admin_username}'",
            f"  password: {generated_password}",
            "  It is shown only this once; set FOOTFALL_ADMIN_PASSWORD before the first run to choose it.",
            "*" * 64,
        ]
    elif settings.admin_password:
        lines.append("The password is FOOTFALL_ADMIN_PASSWORD.")
    else:
        lines.append("The password was printed on the first run (create another admin: footfall users create).")
    lines.append("API keys for cameras and integrations: footfall apikeys create --org ORG --role device --name NAME")
    return "\n".join(lines)


def run(settings: Settings, *, services: list[str] | None = None, gateway: bool = True) -> None:
    """`serve` in a new event loop, then, once everything has stopped in order, exit at once.

    The interpreter's own teardown (garbage-collecting the loaded models and libraries) takes seconds, more
    than docker's 10 s grace together with the shutdown on a busy machine, and has nothing left to save:
    the exit hooks run and the logs are flushed, then the process ends.
    """
    import atexit
    import os
    import sys

    try:  # uvloop (uvicorn[standard]) when installed, as `uvicorn.run` would choose: a cheaper event loop
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    run_loop(serve(settings, services=services, gateway=gateway))
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


async def serve(settings: Settings, *, services: list[str] | None = None, gateway: bool = True) -> None:
    """Run until SIGINT (Ctrl-C) or SIGTERM (docker, Kubernetes, systemd), then stop everything cleanly.

    The signals are ours, not uvicorn's: uvicorn re-raises the signal it caught once it has stopped, and
    asyncio answers a re-raised SIGINT by cancelling the main task, which would cut the shutdown short and
    leave the embedded PostgreSQL and nats-server behind. A second signal while stopping forces the HTTP
    server to close its connections; the services and embedded servers are still stopped in order. They are
    ours from before the start: a signal while starting cancels the start, which stops what it had started.
    """
    import contextlib
    import signal

    platform = Platform(settings, services=services, gateway=gateway)
    stop = asyncio.Event()
    http_servers: list[Any] = []

    def request_stop() -> None:
        if stop.is_set():
            for server in http_servers:
                server.force_exit = True
        stop.set()
        for server in http_servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop)
    try:
        if not await _start_unless_stopped(platform, stop):
            return
        if platform.generated_admin_password or settings.demo:
            print(login_banner(settings, platform.generated_admin_password), flush=True)
        if gateway:
            http_servers.append(_http_server(platform.app, settings.http_host, settings.http_port, lifespan="on"))
            if settings.metrics_port is not None:
                from footfall.graph.app import metrics_app

                http_servers.append(_http_server(metrics_app(platform.app.state.metrics), settings.http_host,
                                                 settings.metrics_port, lifespan="off"))
            log.info("Footfall is up: http://%s:%d (GraphQL /graphql, REST /api, docs /docs), gRPC :%s",
                     settings.http_host, settings.http_port, platform.grpc_port or settings.grpc_target)
            await asyncio.gather(*(server.serve() for server in http_servers))
        else:
            from footfall.deploy.metrics_server import process_http_apps  # /health and /metrics of this process

            http_servers += [_http_server(app, settings.http_host, port, lifespan="off")
                             for port, app in process_http_apps(settings, platform.health, platform.authenticator)]
            log.info("serving %s on gRPC :%s, /health and /metrics on HTTP :%d", ", ".join(platform.runtimes),
                     platform.grpc_port, settings.http_port)
            await asyncio.gather(stop.wait(), *(server.serve() for server in http_servers))
    finally:
        log.info("stopping Footfall")
        shutdown = asyncio.ensure_future(_shutdown(platform))
        while not shutdown.done():
            with contextlib.suppress(asyncio.CancelledError):  # nothing may cut the shutdown short
                await asyncio.shield(shutdown)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        shutdown.result()


async def _start_unless_stopped(platform: Platform, stop: asyncio.Event) -> bool:
    """Start `platform`; False when `stop` was set first (the start is cancelled and has cleaned up)."""
    import contextlib

    start = asyncio.ensure_future(platform.start())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([start, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if start.done():
        start.result()  # a failed start raises here
        return True
    log.info("stop requested while starting; undoing the start")
    start.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await start
    return False


def _http_server(app: Any, host: str, port: int, *, lifespan: str) -> Any:
    import contextlib

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan=lifespan, ws="websockets-sansio",
        # X-Forwarded-For is believed only from FOOTFALL_TRUSTED_PROXIES (the rate limiter decides).
        proxy_headers=False,
    ))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # serve() owns the signals
    return server


async def _shutdown(platform: Platform) -> None:
    limiter = getattr(getattr(platform.app, "state", None), "rate_limiter", None)
    if limiter is not None:
        await limiter.close()
    await platform.stop()
