"""Seed 002 admin login, users and logs, and seed 003's session login, over the accounts service.

The two login routes are the only routes (with `/health`) that need no credential; they pass the client
address so the audit log records where each attempt came from. Seed 003's login also sets the session
cookie and a CSRF cookie for the double-submit check in `footfall.graph.security.auth`.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Query
from footfall.graph.accounts.client import AccountsClient
from footfall.graph.accounts.convert import admin_user, log_entry, session_user
from footfall.graph.core.errors import DETAIL, ERROR_KEY
from footfall.graph.core.rest import client, domain_router, styled_route
from footfall.graph.security.auth import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    Caller,
    CurrentCaller,
    authenticate,
    client_ip,
    origin_allowed,
    require,
)
from footfall.services.core import errors
from footfall.services.core.principal import ADMINS, Role
from pydantic import AfterValidator, BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Accounts = Annotated[AccountsClient, Depends(client(AccountsClient))]
Admin = Annotated[Caller, Depends(require(ADMINS))]

INCORRECT = "Incorrect username or password"
DISABLED = "User account is disabled"
# Seed 003 logs in by email; the same failure, in its words.
INVALID_EMAIL_LOGIN = "Invalid email or password"
CROSS_SITE_LOGIN = "Cross-origin login refused"
_TEXT = 256  # usernames, emails and names: generous, but bounded before the service is asked


def _clean(text: str) -> bool:
    """No NUL bytes or lone surrogates (PostgreSQL and protobuf refuse them further in)."""
    return "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _checked(text: str) -> str:
    if not _clean(text):
        raise ValueError("contains a NUL byte or an unpaired surrogate")
    return text


CleanStr = Annotated[str, AfterValidator(_checked)]

# --------------------------------------------------------------------------------------------------
# Shapes (seed 002)


class LoginIn(BaseModel):
    username: CleanStr = Field(min_length=1, max_length=_TEXT)
    password: CleanStr = Field(min_length=1, max_length=1024)


class AdminUserOut(BaseModel):
    username: str
    full_name: str
    email: str
    is_active: bool
    created_at: str


class LoginOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: AdminUserOut


class AdminUserIn(BaseModel):
    username: CleanStr = Field(min_length=1, max_length=_TEXT)
    password: CleanStr = Field(min_length=1, max_length=1024)
    full_name: CleanStr = Field(default="", max_length=_TEXT)
    email: CleanStr = Field(default="", max_length=_TEXT)
    # Not in the seed: the new user's role in the organisation acted on (default org_admin).
    role: Literal["org_admin", "analyst", "platform_admin"] | None = None


class MessageOut(BaseModel):
    message: str


class LogEntryOut(BaseModel):
    id: int
    timestamp: str
    level: str
    message: str
    org: str | None
    actor: str
    action: str
    target: str | None
    outcome: str
    ip: str | None
    detail: dict[str, Any]


# --------------------------------------------------------------------------------------------------
# Seed 002: login and logout

login_router = APIRouter(tags=["auth"], route_class=styled_route(DETAIL))


@login_router.post(
    "/admin/login", response_model=LoginOut, responses={401: {"description": f"{INCORRECT} / {DISABLED}"}}
)
async def admin_login(body: LoginIn, request: Request, accounts: Accounts) -> dict[str, Any]:
    """Exchange a username and password for a 30-minute bearer token."""
    reply = await accounts.login(body.username, body.password, ip=client_ip(request))
    return {
        "access_token": reply.access_token,
        "token_type": "bearer",
        "expires_in": reply.expires_in,
        "user": admin_user(reply.user),
    }


admin_router = domain_router(tags=["admin"], style=DETAIL)


@admin_router.post("/admin/logout", response_model=MessageOut)
async def admin_logout(request: Request, caller: CurrentCaller, accounts: Accounts) -> dict[str, str]:
    """Revoke the token this request carries, for good."""
    await _revoke(request, caller, accounts)
    return {"message": "Successfully logged out"}


# --------------------------------------------------------------------------------------------------
# Seed 002: admin users and the audit log


@admin_router.get("/admin/users", response_model=list[AdminUserOut])
async def list_admin_users(caller: Admin, accounts: Accounts) -> list[dict[str, Any]]:
    return [admin_user(u) for u in await accounts.all_users(caller)]


@admin_router.post(
    "/admin/users", response_model=AdminUserOut, status_code=201,
    responses={400: {"description": "Username already exists"}},
)
async def create_admin_user(body: AdminUserIn, caller: Admin, accounts: Accounts) -> dict[str, Any]:
    try:
        user = await accounts.create_user(
            caller,
            username=body.username,
            password=body.password,
            email=body.email,
            full_name=body.full_name,
            role=Role(body.role) if body.role else None,
        )
    except errors.AlreadyExists as err:  # the seed answers a taken username with 400, not 409
        raise errors.InvalidArgument(str(err) or "Username already exists") from None
    return admin_user(user)


Username = Annotated[CleanStr, Path(min_length=1, max_length=_TEXT)]


@admin_router.delete(
    "/admin/users/{username}", response_model=MessageOut,
    responses={400: {"description": "Cannot delete your own account"}, 404: {"description": "User not found"}},
)
async def delete_admin_user(username: Username, caller: Admin, accounts: Accounts) -> dict[str, str]:
    await accounts.delete_user(caller, username)
    return {"message": "User deleted successfully"}


Limit100 = Annotated[int, Query(ge=1, le=1000)]


@admin_router.get("/admin/logs", response_model=list[LogEntryOut])
async def admin_logs(caller: Admin, accounts: Accounts, limit: Limit100 = 100) -> list[dict[str, Any]]:
    """The organisation's audit log, newest first."""
    return [log_entry(e) for e in (await accounts.audit_log(caller, limit=limit)).entries]


@admin_router.get("/logs", response_model=list[LogEntryOut])
async def recent_logs(caller: Admin, accounts: Accounts, limit: Limit100 = 50) -> list[dict[str, Any]]:
    """Recent events of the organisation (the audit log), newest first."""
    return [log_entry(e) for e in (await accounts.audit_log(caller, limit=limit)).entries]


# --------------------------------------------------------------------------------------------------
# Seed 003: session login and logout

session_router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=styled_route(ERROR_KEY))

_SESSION_LOGIN_BODY = {
    "required": True,
    "content": {
        media: {
            "schema": {
                "type": "object",
                "required": ["email", "password"],
                "properties": {
                    "email": {"type": "string", "maxLength": _TEXT},
                    "password": {"type": "string", "maxLength": 1024},
                },
            }
        }
        for media in ("application/json", "application/x-www-form-urlencoded")
    },
}


@session_router.post(
    "/login/",
    openapi_extra={"requestBody": _SESSION_LOGIN_BODY},
    responses={400: {"description": "Invalid data provided"}, 401: {"description": INVALID_EMAIL_LOGIN}},
)
async def session_login(request: Request, accounts: Accounts) -> Response:
    """Log in by email and password: a session cookie (HttpOnly, SameSite=Lax) and a CSRF cookie."""
    if request.headers.get("origin") and not origin_allowed(request):
        # Another site logging a visitor into an account of its choosing (login CSRF).
        return ERROR_KEY.message(403, CROSS_SITE_LOGIN)
    fields = await _login_fields(request)
    if isinstance(fields, Response):
        return fields
    email, password = fields
    try:
        reply = await accounts.login(email, password, ip=client_ip(request), session=True)
    except errors.Unauthenticated as err:
        message = DISABLED if str(err) == DISABLED else INVALID_EMAIL_LOGIN
        return ERROR_KEY.message(401, message)
    response = JSONResponse({"message": "Login successful", "user": session_user(reply.user)})
    secure = _secure(request)
    csrf = secrets.token_urlsafe(32)
    response.set_cookie(
        SESSION_COOKIE, reply.access_token, max_age=int(reply.expires_in), path="/",
        httponly=True, samesite="lax", secure=secure,
    )
    # Readable by our own pages, which echo it in `X-CSRF-Token` (double submit).
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=int(reply.expires_in), path="/", httponly=False, samesite="lax", secure=secure
    )
    response.headers[CSRF_HEADER] = csrf
    return response


@session_router.post("/logout/", responses={401: {"description": "Not authenticated"}})
async def session_logout(request: Request, accounts: Accounts) -> Response:
    """End the session: its token is revoked for good and both cookies are cleared."""
    caller = await authenticate(request)
    await _revoke(request, caller, accounts)
    response = JSONResponse({"message": "Logout successful"})
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=_secure(request), samesite="lax", httponly=name == SESSION_COOKIE)
    return response


# --------------------------------------------------------------------------------------------------


async def _revoke(request: Request, caller: Caller, accounts: AccountsClient) -> None:
    if caller.principal.token_id is None:
        raise errors.InvalidArgument("Only access tokens can be logged out; API keys are revoked by an admin")
    await accounts.logout(caller.credential, ip=caller.ip or client_ip(request))
    forget = getattr(request.app.state.authenticator, "forget", None)
    if forget is not None:
        forget(caller.credential)


async def _login_fields(request: Request) -> tuple[str, str] | Response:
    """`email` and `password` from a JSON or form body (the seed's own Python example posts a form)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    try:
        if content_type == "application/x-www-form-urlencoded":
            # Parsed here: two fields do not need a multipart parser (python-multipart is not a dependency).
            form = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True, max_num_fields=16)
            data = {name: values[0] for name, values in form.items()}
        elif content_type == "application/json" or content_type.endswith("+json"):
            data = await request.json()
        else:
            return ERROR_KEY.message(415, "Unsupported media type: send application/json")
    except Exception:  # noqa: BLE001 - any unreadable body is the client's mistake, not ours
        return ERROR_KEY.message(400, "Invalid data provided")
    if not isinstance(data, dict):
        return ERROR_KEY.message(400, "Invalid data provided")
    details: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name, limit in (("email", _TEXT), ("password", 1024)):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            details[name] = ["This field is required."]
        elif len(value) > limit or not _clean(value):
            details[name] = ["Enter a valid value."]
        else:
            values[name] = value
    if details:
        return JSONResponse({"error": "Invalid data provided", "details": details}, status_code=400)
    return values["email"], values["password"]


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.secure_cookies) or request.url.scheme == "https"


#: Every accounts route: each keeps its own route class (error style) and dependencies (login or none).
router = APIRouter()
for _part in (login_router, session_router, admin_router):
    router.include_router(_part)
