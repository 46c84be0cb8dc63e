"""Seed 003's persons and demographics over `IdentityService`, errors `{"error": ...}`:

* `POST /api/client/person/` (multipart/form-data: `vector` as a JSON array of 128 numbers, `age`, `gender`,
  `emotion`, `body_type`, `entry_time`, `exit_time`, `image` file; every field optional) -> 201 the person
* `PUT /api/client/person/{person_id}/` (JSON; only the fields given change; `full_name` and `phone_number`
  are kept on the person's customer record) -> the person
* `GET /api/client/persons/?page=1&page_size=10` -> the pagination object, newest first; 404
  `{"error": "Invalid page."}` past the last page
* `GET /api/client/statistics/{gender,age,body-type}/` -> `[{"type", "percentage"}]`, largest first (age: bands
  `0-17`, `18-30`, `31-50`, `51+` in order); `.../emotion/` -> `[{"type", "value"}]` (counts)

Invalid input is 400 `{"error": "Invalid data provided", "details": {field: [messages]}}`. Creating persons is
for feeders (the client app posting what its cameras saw), changing them for writers, reading for readers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from footfall.graph.core.errors import ERROR_KEY, invalid_parameter
from footfall.graph.core.rest import Feeder, Reader, Writer, client, domain_router, error_responses
from footfall.graph.identity.client import IdentityClient
from footfall.graph.identity.convert import (
    STATISTICS_KINDS,
    parse_time,
    parse_vector,
    person_created,
    person_out,
    person_page,
)
from footfall.graph.identity.models import (
    PERSON_FORM,
    PERSON_ID_PATTERN,
    CountOut,
    PersonCreatedOut,
    PersonFormIn,
    PersonOut,
    PersonPageOut,
    PersonUpdateIn,
    ShareOut,
)
from footfall.graph.security.auth import Caller
from footfall.services.core import errors
from footfall.v1 import identity_pb2
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import BaseRoute

ERROR_STYLE = ERROR_KEY
router = domain_router("/api/client", tags=["persons (seed 003)"], style=ERROR_STYLE)
# The multipart upload is mounted as a top-level route (`upload_routes()`): the HTTP hardening learns which
# routes accept multipart from the app's own route list, which does not look inside included routers.
upload_router = domain_router("/api/client", tags=["persons (seed 003)"], style=ERROR_STYLE)
Identity = Annotated[IdentityClient, Depends(client(IdentityClient))]
PersonId = Annotated[str, Path(pattern=PERSON_ID_PATTERN, description="The person's id (UUID)")]

INVALID_PAGE = "Invalid page."
INVALID_FORM = "Invalid multipart/form-data body"
#: The seed's SDK posts the fields url-encoded (`requests.post(url, data=...)`); with an image it is multipart.
FORM_MEDIA = ("multipart/form-data", "application/x-www-form-urlencoded")
#: The largest page the list answers, and how many persons one call skips while walking to a later page.
MAX_PAGE_SIZE = 100
WALK_PAGE = 1000


class ErrorOut(BaseModel):
    error: str


def _responses(*codes: int) -> dict[int | str, dict[str, object]]:
    return error_responses(*codes, model=ErrorOut)  # type: ignore[return-value]


@upload_router.post(
    "/person/",
    status_code=201,
    responses=_responses(400, 413),
    summary="Create a person with vector data",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {media: {"schema": PERSON_FORM} for media in FORM_MEDIA},
        }
    },
)
async def create_person(caller: Feeder, identity: Identity, http_request: Request) -> PersonCreatedOut:
    """The form is read only after the caller is authenticated (so anonymous and forged callers cost no parsing)."""
    form, image = await _person_form(http_request)
    request = identity_pb2.CreatePersonRequest(
        vector=parse_vector(form.vector),
        gender=form.gender or "",
        emotion=form.emotion or "",
        body_type=form.body_type or "",
    )
    if form.age is not None:
        request.age = form.age
    for field, text in (("entry_time", form.entry_time), ("exit_time", form.exit_time)):
        moment = parse_time(text, field)
        if moment is not None:
            getattr(request, field).FromDatetime(moment)
    if image is not None:
        request.image = image
    return person_created(await identity.create_person(caller, request))


async def _person_form(http_request: Request) -> tuple[PersonFormIn, bytes | None]:
    """The form's fields (checked like any body: 400 by field) and the image file's bytes, if any."""
    try:
        form = await http_request.form(max_files=1, max_fields=len(PersonFormIn.model_fields) + 1)
    except (HTTPException, MultiPartException):
        raise errors.InvalidArgument(INVALID_FORM) from None
    try:
        fields = PersonFormIn.model_validate({k: v for k, v in form.items() if isinstance(v, str)})
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False, include_input=False)]
        ) from None
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        return fields, None
    image = await upload.read()
    if not image:
        raise invalid_parameter("image", "must not be empty", "body")
    return fields, image


@router.put("/person/{person_id}/", responses=_responses(400, 404), summary="Update a person's information")
async def update_person(
    caller: Writer, identity: Identity, person_id: PersonId, body: PersonUpdateIn
) -> PersonOut:
    request = identity_pb2.UpdatePersonRequest(id=person_id, **body.model_dump(exclude_none=True))
    return person_out(await identity.update_person(caller, request))


@router.get("/persons/", responses=_responses(400, 404), summary="Persons, newest first, a page at a time")
async def list_persons(
    caller: Reader,
    identity: Identity,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
) -> PersonPageOut:
    skip = (page - 1) * page_size
    reply = await identity.list_persons(caller, page_size=min(WALK_PAGE, skip) or page_size)
    if skip and skip >= reply.total_count:
        raise errors.NotFound(INVALID_PAGE)
    persons = await _page_after(identity, caller, reply, skip, page_size) if skip else list(reply.persons)
    return person_page(persons, reply.total_count, page, page_size)


async def _page_after(
    identity: IdentityClient, caller: Caller, reply: identity_pb2.ListPersonsResponse, skip: int, size: int
) -> list[identity_pb2.Person]:
    """`size` persons after the first `skip`, walking the service's pages (it pages by token, not offset).

    `reply` is the service's first page of at most `skip` persons."""
    seen = len(reply.persons)
    while seen < skip and reply.next_page_token:
        token = reply.next_page_token
        reply = await identity.list_persons(caller, page_size=min(WALK_PAGE, skip - seen), page_token=token)
        seen += len(reply.persons)
    if seen < skip or not reply.next_page_token:
        return []
    return list(
        (await identity.list_persons(caller, page_size=size, page_token=reply.next_page_token)).persons
    )


def upload_routes() -> tuple[BaseRoute, ...]:
    """The routes with multipart bodies, for `GatewayDomain.routes`."""
    return tuple(upload_router.routes)


async def _shares(caller: Caller, identity: IdentityClient, kind: str) -> list[ShareOut]:
    buckets = await identity.statistics(caller, STATISTICS_KINDS[kind])
    return [ShareOut(type=b.label, percentage=b.percentage) for b in buckets]


@router.get("/statistics/gender/", responses=_responses(), summary="Persons by gender, in percent")
async def gender_statistics(caller: Reader, identity: Identity) -> list[ShareOut]:
    return await _shares(caller, identity, "gender")


@router.get("/statistics/age/", responses=_responses(), summary="Persons by age band, in percent")
async def age_statistics(caller: Reader, identity: Identity) -> list[ShareOut]:
    return await _shares(caller, identity, "age")


@router.get("/statistics/body-type/", responses=_responses(), summary="Persons by body type, in percent")
async def body_type_statistics(caller: Reader, identity: Identity) -> list[ShareOut]:
    return await _shares(caller, identity, "body-type")


@router.get("/statistics/emotion/", responses=_responses(), summary="Persons by emotion, counted")
async def emotion_statistics(caller: Reader, identity: Identity) -> list[CountOut]:
    buckets = await identity.statistics(caller, STATISTICS_KINDS["emotion"])
    return [CountOut(type=b.label, value=b.count) for b in buckets]
