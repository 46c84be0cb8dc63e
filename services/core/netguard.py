"""Whether the platform may open a connection to an outbound target (stream URLs, webhooks).

A caller-supplied URL is a request to make the server connect somewhere on the caller's behalf (SSRF).
One rule decides it, after DNS resolution of every address of the host:

* never: metadata services (169.254.169.254, fd00:ec2::254, ...), unspecified (0.0.0.0, ::), multicast,
  broadcast and reserved addresses, even when an allow-list names them;
* addresses inside the policy's ``allowed_networks``: allowed;
* loopback and link-local (169.254/16, fe80::/10): refused;
* private and other non-global ranges (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10, ...): allowed only
  when the policy says ``allow_private``;
* everything else (the public internet): allowed.

IPv4 addresses embedded in IPv6 (``::ffff:a.b.c.d``, 6to4, NAT64 ``64:ff9b::/96``) are judged as the IPv4
address too, so ``[::ffff:127.0.0.1]`` is loopback. A host with one refused address is refused as a whole:
the resolver may hand any of them to the connection.

A check before connecting is not enough against DNS rebinding (the name may resolve to a public address for
the check and to 127.0.0.1 for the connection), so :class:`GuardedNetworkBackend` checks the addresses it
actually connects to; httpx clients for caller-supplied URLs use :func:`guarded_transport`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata and platform endpoints: refused whatever the allow-lists say.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
    "169.254.170.2",    # AWS ECS task metadata
    "169.254.169.253",  # AWS DNS
    "169.254.169.123",  # AWS time
    "100.100.100.200",  # Alibaba Cloud
    "168.63.129.16",    # Azure wire server
    "fd00:ec2::254",    # AWS IPv6 metadata
    "fd00:ec2::253",    # AWS IPv6 DNS
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
REFUSED = "target address not allowed"
UNRESOLVED = "target host does not resolve"


class TargetRefused(httpcore.ConnectError):
    """The target resolves to an address the policy refuses (an httpcore error, so httpx maps it)."""


class TargetUnresolved(httpcore.ConnectError):
    """The target's host name did not resolve (in time)."""


def parse_networks(values: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    """CIDR strings -> networks; ValueError names the malformed entry."""
    out: list[IPNetwork] = []
    for value in values:
        try:
            out.append(value if not isinstance(value, str) else ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not a CIDR network: {value!r}") from None
    return tuple(out)


@dataclass(frozen=True)
class TargetPolicy:
    """Which addresses one kind of outbound connection may reach (see the module docstring)."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = field(default=())
    resolve_timeout_s: float = 5.0

    @classmethod
    def of(cls, *, allow_private: bool, allowed_networks: Iterable[str | IPNetwork] = (),
           resolve_timeout_s: float = 5.0) -> TargetPolicy:
        return cls(allow_private, parse_networks(allowed_networks), resolve_timeout_s)

    def allows(self, address: str | IPAddress) -> bool:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        return all(self._allows_one(a) for a in _with_embedded(ip))

    def _allows_one(self, ip: IPAddress) -> bool:
        if ip in METADATA_ADDRESSES or ip.is_unspecified or ip.is_multicast or ip.is_reserved:
            return False
        if isinstance(ip, ipaddress.IPv4Address) and ip == ipaddress.IPv4Address("255.255.255.255"):
            return False
        if any(ip.version == net.version and ip in net for net in self.allowed_networks):
            return True
        if ip.is_loopback or ip.is_link_local:
            return False
        if ip.is_private or not ip.is_global:
            return self.allow_private
        return True

    async def check_host(self, host: str, port: int = 0) -> list[str]:
        """Every address of ``host`` (resolved), or TargetRefused / TargetUnresolved."""
        addresses = await resolve(host, port, self.resolve_timeout_s)
        if not all(self.allows(a) for a in addresses):
            raise TargetRefused(REFUSED)
        return addresses


def _with_embedded(ip: IPAddress) -> list[IPAddress]:
    found: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        for embedded in (ip.ipv4_mapped, ip.sixtofour):
            if embedded is not None:
                found.append(embedded)
        if ip in _NAT64:
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.scope_id:
            found.append(ipaddress.IPv6Address(str(ip).split("%", 1)[0]))
    return found


async def resolve(host: str, port: int = 0, timeout_s: float = 5.0) -> list[str]:
    """All addresses ``host`` resolves to (an IP literal resolves to itself), or TargetUnresolved."""
    host = host.strip("[]")
    if not host:
        raise TargetUnresolved(UNRESOLVED)
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port or None, type=socket.SOCK_STREAM), timeout_s
        )
    except (OSError, UnicodeError, TimeoutError):
        raise TargetUnresolved(UNRESOLVED) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetUnresolved(UNRESOLVED)
    return addresses


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore backend that resolves the host itself and connects only to addresses the policy allows.

    The connection goes to the vetted IP; TLS still verifies the certificate against the URL's host name
    (httpcore passes the origin host as SNI), so a rebinding name gains nothing.
    """

    def __init__(self, policy: TargetPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.policy.check_host(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused(REFUSED)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport over :class:`GuardedNetworkBackend`; never uses proxies from the environment."""

    def __init__(self, policy: TargetPolicy, *, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(policy),
        )


def guarded_transport(policy: TargetPolicy) -> httpx.AsyncHTTPTransport:
    return GuardedTransport(policy)


def refusal_of(err: BaseException) -> str | None:
    """REFUSED / UNRESOLVED when ``err`` (or what it wraps) is a guard refusal, else None."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TargetRefused):
            return REFUSED
        if isinstance(current, TargetUnresolved):
            return UNRESOLVED
        current = current.__cause__ or current.__context__
    return None
