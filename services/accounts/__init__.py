"""Accounts: organisations, users and roles, API keys, access tokens and the audit log (the front door)."""
