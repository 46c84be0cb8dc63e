"""Who seed 004's routes act for, and the audit of every analytics request.

* `organization_id` (query): seed 004 lets platform admins name the organisation; it acts like the
  `X-Footfall-Org` header (`Principal.acting_on`): anyone else naming another organisation gets 403.
* Every analytics request, answered or refused, is recorded in the audit log through the accounts service's
  `RecordAudit` (who, which organisation, which report, from where). The answer waits for the record: a
  report that could not be audited is not given (the accounts service down answers 503).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import Query
from footfall.graph.accounts.client import AccountsClient
from footfall.graph.core.client import Clients
from footfall.graph.core.rest import Reader, Writer
from footfall.graph.security.auth import Caller
from footfall.services.core import errors
from starlette.requests import Request

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The audit log's action for every analytics request; the target is the route's path.
ANALYTICS_ACTION = "analytics.view"

ORG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
OrganizationId = Annotated[
    str | None,
    Query(pattern=ORG_PATTERN, description="Platform admins: the organisation to act on (others: their own only)"),
]


def acting_for(caller: Caller, organization_id: str | None) -> Caller:
    """`caller`, acting on `organization_id` when given (PermissionDenied unless they may)."""
    if not organization_id or organization_id == caller.org:
        return caller
    return dataclasses.replace(caller, org=caller.principal.acting_on(organization_id))


async def reading_caller(caller: Reader, organization_id: OrganizationId = None) -> Caller:
    return acting_for(caller, organization_id)


async def writing_caller(caller: Writer, organization_id: OrganizationId = None) -> Caller:
    return acting_for(caller, organization_id)


async def analytics_caller(request: Request, caller: Reader, organization_id: OrganizationId = None) -> Caller:
    """`reading_caller`, with a refused `organization_id` recorded in the audit log as denied."""
    try:
        return acting_for(caller, organization_id)
    except errors.PermissionDenied:
        await record(request.app.state.clients, caller, ANALYTICS_ACTION, request.url.path, "denied",
                     {"requested_organization_id": organization_id})
        raise


def _outcome(err: BaseException) -> str:
    return "denied" if isinstance(err, (errors.PermissionDenied, errors.Unauthenticated)) else "failure"


async def audited(clients: Clients, caller: Caller, target: str, call: Awaitable[T],
                  detail: dict[str, Any] | None = None) -> T:
    """The result of `call`, once the analytics request is in the audit log (failures recorded, then raised)."""
    try:
        result = await call
    except errors.FootfallError as err:
        await record(clients, caller, ANALYTICS_ACTION, target, _outcome(err), detail)
        raise
    await record(clients, caller, ANALYTICS_ACTION, target, "success", detail)
    return result


async def record(clients: Clients, caller: Caller, action: str, target: str, outcome: str,
                 detail: dict[str, Any] | None = None) -> None:
    await clients.get(AccountsClient).record_audit(
        caller, action, target=target, detail={"organization_id": caller.org, **(detail or {})},
        outcome=outcome, ip=caller.ip,
    )
