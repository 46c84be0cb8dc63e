"""Signed access tokens (JWT, HS256): issued at login and to services calling each other, verified everywhere.

One secret signs every token of a deployment, so any gateway replica or service can verify a token without
asking the accounts service; revocation (logout) is a database lookup by the token id (`jti`), done by the
`Authenticator` of the accounts service, which every process can run.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from footfall.services.core.errors import InvalidArgument, Unauthenticated
from footfall.services.core.principal import Principal, Role
from footfall.services.core.tenancy import ORG_METADATA_KEY, validate_org

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ISSUER = "footfall"
#: The message every refused credential gets: it never says which check failed.
NOT_AUTHENTICATED = "Not authenticated"
SERVICE_TOKEN_TTL_S = 3600
_SECRET_FILE = "jwt_secret"


def load_or_create_secret(settings: Any) -> str:
    """`settings.jwt_secret`, else `data_dir/jwt_secret`, generated once (mode 0600) for the embedded default.

    Replicas of a real deployment must share FOOTFALL_JWT_SECRET (or the file), or they reject each
    other's tokens.
    """
    if getattr(settings, "jwt_secret", None):
        return str(settings.jwt_secret)
    path = Path(settings.data_dir) / _SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    log.info("generated the token signing key in %s", path)
    return secret


class TokenSigner:
    """Issues and verifies HS256 tokens carrying a principal (sub, org, role, kind, jti, name, exp)."""

    def __init__(self, secret: str, *, leeway_s: float = 5.0) -> None:
        if len(secret) < 32:
            raise ValueError("the token signing secret must be at least 32 characters")
        self._secret = secret
        self._leeway = leeway_s

    @classmethod
    def from_settings(cls, settings: Any) -> TokenSigner:
        return cls(load_or_create_secret(settings))

    def issue(self, principal: Principal, ttl_s: float, typ: str = "access") -> tuple[str, str, float]:
        """A token for `principal` valid `ttl_s` seconds: (token, jti, expiry as a Unix time)."""
        now = time.time()
        jti = uuid.uuid4().hex
        exp = int(now + ttl_s)
        claims = {
            "iss": ISSUER, "sub": principal.subject, "org": principal.org, "role": principal.role.value,
            "kind": principal.kind, "name": principal.display_name, "typ": typ, "jti": jti,
            "iat": int(now), "exp": exp,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), jti, float(exp)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims; Unauthenticated when the token is malformed, tampered with or expired."""
        try:
            return jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER, leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "jti", "role", "org"]},
            )
        except jwt.PyJWTError as err:
            raise Unauthenticated(NOT_AUTHENTICATED) from err

    def verify(self, token: str) -> Principal:
        """The principal a valid token carries (revocation is checked by the caller that has the database)."""
        claims = self.claims(token)
        try:
            role = Role(claims["role"])
            kind = claims.get("kind", "user")
            if kind not in ("user", "api_key", "service"):
                raise ValueError(kind)
            return Principal(
                subject=str(claims["sub"]), org=validate_org(claims["org"]), role=role, kind=kind,
                token_id=str(claims["jti"]), display_name=str(claims.get("name", "")),
                expires_at=float(claims["exp"]), extra={"typ": str(claims.get("typ", "access"))},
            )
        except (KeyError, ValueError, TypeError, InvalidArgument) as err:
            raise Unauthenticated(NOT_AUTHENTICATED) from err

    def service_token(self, service: str, org: str = "default", ttl_s: float = SERVICE_TOKEN_TTL_S) -> str:
        """A short-lived token a Footfall service uses to call another (role `service`, any org via header)."""
        principal = Principal(subject=service, org=validate_org(org), role=Role.SERVICE, kind="service",
                              display_name=service)
        return self.issue(principal, ttl_s, typ="service")[0]


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


class ServiceCredentials:
    """gRPC metadata for one service calling another: a service token (renewed before it expires) + the org."""

    def __init__(self, signer: TokenSigner, service: str = "footfall", *, ttl_s: float = SERVICE_TOKEN_TTL_S) -> None:
        self._signer = signer
        self.service = service
        self._ttl = ttl_s
        self._token = ""
        self._renew_at = 0.0

    @classmethod
    def from_settings(cls, settings: Any, service: str = "footfall") -> ServiceCredentials:
        return cls(TokenSigner.from_settings(settings), service)

    def token(self) -> str:
        now = time.monotonic()
        if now >= self._renew_at:
            self._token = self._signer.service_token(self.service, ttl_s=self._ttl)
            self._renew_at = now + self._ttl / 2
        return self._token

    def metadata(self, org: str) -> Sequence[tuple[str, str]]:
        """`authorization: Bearer <service token>` and `x-footfall-org: <org>`."""
        return (("authorization", f"Bearer {self.token()}"), (ORG_METADATA_KEY, validate_org(org)))


_default_credentials: ServiceCredentials | None = None


def set_default_service_credentials(credentials: ServiceCredentials | None) -> None:
    """The credentials in-process clients use when not given any (set by the process's gRPC server)."""
    global _default_credentials
    _default_credentials = credentials


def default_service_credentials() -> ServiceCredentials:
    if _default_credentials is None:
        raise Unauthenticated("no service credentials configured in this process")
    return _default_credentials
