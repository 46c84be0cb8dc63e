"""Assembling the accounts service in a process: `start_accounts(...)` -> `AccountsRuntime`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from footfall.services.accounts.authenticator import Authenticator
from footfall.services.accounts.service import Accounts
from footfall.services.accounts.servicer import SERVICE_NAME, AccountsServicer
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.tokens import TokenSigner
from footfall.v1 import accounts_pb2_grpc

log = logging.getLogger(__name__)


@dataclass
class AccountsRuntime:
    accounts: Accounts
    authenticator: Authenticator
    servicer: AccountsServicer

    async def stop(self) -> None:
        """Nothing runs in the background; the database and gRPC server belong to the caller."""


def build_accounts(settings: Any, db: Database, authenticator: Authenticator | None = None) -> tuple[Accounts, Authenticator]:
    """The domain and an authenticator sharing one signer; logout and key revocation clear its cache."""
    if authenticator is None:
        authenticator = Authenticator(db, TokenSigner.from_settings(settings), cache_s=settings.auth_cache_s)
    accounts = Accounts(
        db, authenticator.signer, access_ttl_s=settings.access_token_ttl_s, session_ttl_s=settings.session_ttl_s,
        on_revoke=authenticator.forget, default_org=settings.default_org,
    )
    return accounts, authenticator


async def start_accounts(
    settings: Any, db: Database, bus: EventBus | None, grpc_server: GrpcServer | None,
) -> AccountsRuntime:
    """Register `footfall.v1.AccountsService` on `grpc_server` (before it starts). When the server's own
    authenticator is an accounts `Authenticator`, the service shares it, so a logout is forgotten at once."""
    shared = getattr(grpc_server, "authenticator", None)
    accounts, authenticator = build_accounts(settings, db, shared if isinstance(shared, Authenticator) else None)
    servicer = AccountsServicer(accounts, authenticator)
    if grpc_server is not None:
        grpc_server.add(accounts_pb2_grpc.add_AccountsServiceServicer_to_server, servicer, SERVICE_NAME)
    log.info("accounts service started")
    return AccountsRuntime(accounts, authenticator, servicer)
