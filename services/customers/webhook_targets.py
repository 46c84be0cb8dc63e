"""Where webhooks may post: https (http when configured) to hosts the network rule allows.

A webhook URL makes the server send requests wherever a tenant says, so it is checked twice: when the
webhook is created (a clear error for the tenant) and when each delivery connects (the name may resolve
elsewhere by then: DNS rebinding); the second check is :class:`~footfall.services.core.netguard.GuardedTransport`.
Loopback, link-local and private addresses are refused unless ``webhook_allowed_networks`` names them;
metadata addresses always. A host that does not resolve yet is accepted at creation (its deliveries fail
until it does, and are checked then).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from footfall.services.core.errors import InvalidArgument
from footfall.services.core.netguard import TargetPolicy, TargetRefused, TargetUnresolved

NOT_ALLOWED = (
    "webhook url not allowed: its host is a loopback, link-local, private or metadata address "
    "(an operator may allow networks with FOOTFALL_WEBHOOK_ALLOWED_NETWORKS)"
)


def webhook_policy(allowed_networks: tuple[str, ...] | list[str]) -> TargetPolicy:
    return TargetPolicy.of(allow_private=False, allowed_networks=allowed_networks)


def validate_webhook_url(url: str, *, allow_http: bool = False) -> str:
    """The URL, stripped, when it is an absolute https (or allowed http) URL with a host."""
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise InvalidArgument("webhook url must not contain whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidArgument("webhook url is malformed") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidArgument(
            "webhook url must be an absolute http(s) URL" if allow_http else "webhook url must be an absolute https URL"
        )
    return url


async def check_webhook_target(url: str, policy: TargetPolicy) -> None:
    """InvalidArgument when the URL's host resolves to an address webhooks may not reach."""
    parts = urlsplit(url)
    try:
        await policy.check_host(parts.hostname or "", parts.port or 0)
    except TargetRefused:
        raise InvalidArgument(NOT_ALLOWED) from None
    except TargetUnresolved:
        return
