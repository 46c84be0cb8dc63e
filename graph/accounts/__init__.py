"""Accounts in the gateway: logins (seeds 002 and 003), admin users and logs, and the admin GraphQL."""

from footfall.graph.accounts.client import AccountsClient
from footfall.graph.accounts.rest import router
from footfall.graph.accounts.schema import ACCOUNTS_SCHEMA
from footfall.graph.core.domain import GatewayDomain

DOMAIN = GatewayDomain("accounts", client=AccountsClient, router=router, schema=ACCOUNTS_SCHEMA)

__all__ = ["DOMAIN"]
