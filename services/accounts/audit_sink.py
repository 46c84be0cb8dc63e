"""The audit trail the gRPC interceptor writes to (`footfall.services.core.audit.AuditSink`): rows of the
accounts service's audit log, in the database every service process already has."""

from __future__ import annotations

from typing import Any

from footfall.services.accounts.service import Accounts
from footfall.services.core.principal import Principal


class AccountsAuditSink:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    async def record(self, *, org: str, actor: Principal, action: str, target: str, detail: dict[str, Any],
                     ip: str, outcome: str) -> None:
        await self.accounts.audit(actor, org, action, target, detail, ip=ip, outcome=outcome)
