"""Row-level security of the accounts tables, the signing key file, and the `footfall` account commands."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import psycopg
import pytest
from footfall.deploy.cli import main
from footfall.services.accounts.service import Accounts
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.principal import Role
from footfall.services.core.tokens import TokenSigner, load_or_create_secret

from tests.accounts.conftest import PASSWORD, new_name, new_org
from tests.conftest import AuthKit


async def test_row_level_security_keeps_orgs_apart(database: Database, auth: AuthKit) -> None:
    accounts = Accounts(database, auth.signer)
    org_a, org_b = new_org(), new_org()
    user_a = new_name()
    await accounts.create_user(None, org_a, username=user_a, email="", full_name="", password=PASSWORD,
                               role=Role.ANALYST)
    await accounts.create_api_key(None, org_a, Role.DEVICE, "cam")
    await accounts.audit(None, org_a, "test.action", "x")
    async with database.tenant(org_b) as conn:
        for table in ("api_keys", "audit_log", "memberships", "users"):
            rows = await (await conn.execute(f"SELECT count(*) AS n FROM {table}")).fetchone()
            assert rows is not None and rows["n"] == 0, table
        orgs = await (await conn.execute("SELECT id FROM orgs")).fetchall()
        assert [r["id"] for r in orgs] in ([], [org_b])
    async with database.tenant(org_a) as conn:
        users = await (await conn.execute("SELECT username FROM users")).fetchall()
        assert [r["username"] for r in users] == [user_a]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # WITH CHECK: a tenant cannot write another org's rows
            await conn.execute("INSERT INTO audit_log (org_id, action) VALUES (%s, 'forged')", (org_b,))


def test_signing_key_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_or_create_secret(settings)
    assert load_or_create_secret(settings) == first and len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "jwt_secret").st_mode) == 0o600
    assert load_or_create_secret(Settings(data_dir=tmp_path, jwt_secret="s" * 40)) == "s" * 40
    with pytest.raises(ValueError):
        TokenSigner("short")


def test_cli_orgs_users_and_keys(database_url: str, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    org, username = new_org("cli"), new_name("cli")
    db = ["--database-url", database_url]
    assert main(["orgs", "create", org, "--name", "CLI Org", *db]) == 0
    assert f"created organisation {org}" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "create", username, "--org", org, "--role", "analyst", "--email", f"{username}@x.org",
                 "--password-stdin", *db]) == 0
    assert main(["users", "list", "--org", org, *db]) == 0
    out = capsys.readouterr().out
    assert f"{username}\t{username}@x.org\tanalyst@{org}\tactive" in out
    assert main(["apikeys", "create", "--org", org, "--role", "device", "--name", "door", *db]) == 0
    captured = capsys.readouterr()
    key = captured.out.strip()
    assert key.startswith("ffk_") and "shown once" in captured.err
    assert main(["apikeys", "list", "--org", org, *db]) == 0
    listed = capsys.readouterr().out
    assert "device\tdoor\tnever used\tactive" in listed and key not in listed
    assert main(["users", "disable", username, "--org", org, *db]) == 0
    assert main(["users", "list", "--org", org, *db]) == 0
    assert "\tdisabled" in capsys.readouterr().out
    assert main(["users", "create", username, "--org", org, "--password", PASSWORD, *db]) == 1
    assert "Username already exists" in capsys.readouterr().err


async def test_first_run_creates_the_platform_admin_once(database: Database, auth: AuthKit) -> None:
    from footfall.deploy.platform import bootstrap_accounts, login_banner

    settings = Settings(admin_username=new_name("admin"), admin_email="", default_org=new_org("first"),
                        jwt_secret=auth.secret)
    generated = await bootstrap_accounts(settings, database, auth.authenticator)
    assert generated and len(generated) >= 12
    assert await bootstrap_accounts(settings, database, auth.authenticator) is None  # never again
    banner = login_banner(settings, generated)
    assert generated in banner and settings.admin_username in banner and "/admin/login" in banner
    assert generated not in login_banner(settings, None)
    accounts = Accounts(database, auth.signer, default_org=settings.default_org)
    result = await accounts.login(settings.admin_username, generated)
    assert result.principal.role is Role.PLATFORM_ADMIN and result.principal.org == settings.default_org

    chosen = Settings(admin_username=new_name("admin"), admin_password=PASSWORD, admin_email="chosen@example.org",
                      jwt_secret=auth.secret)
    assert await bootstrap_accounts(chosen, database, auth.authenticator) is None
    await accounts.login(chosen.admin_username, PASSWORD)
