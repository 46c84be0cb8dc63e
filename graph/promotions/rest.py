"""Seed 002's promotions display routes over `footfall.v1.PromotionsService`, with its `{"detail"}` errors:

* `POST /promotions` (201): `title`, `description`, `discount`, `validity` (`{"start", "end"}`, or an ISO 8601
  interval string `START/END`), `target_loyalty_status` (`all`, `bronze`, `silver`, `gold`, `platinum`),
  optional `zone`; answers the promotion object.
* `GET /promotions/{user_id}`: the promotions valid now for that customer's loyalty status (404 `Customer not
  found`).
* `GET /promotions/display/{display_id}`: what the display should show now (404 `Display not found`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends
from footfall.graph.core.convert import clean_text
from footfall.graph.core.errors import DETAIL
from footfall.graph.core.rest import PathId, Reader, Writer, client, domain_router, error_responses
from footfall.graph.promotions import convert
from footfall.graph.promotions.client import PromotionsClient
from pydantic import BaseModel, Field, field_validator

ERROR_STYLE = DETAIL
router = domain_router("/promotions", tags=["promotions (seed 002)"], style=ERROR_STYLE)
Promotions = Annotated[PromotionsClient, Depends(client(PromotionsClient))]
LoyaltyTarget = Literal["all", "bronze", "silver", "gold", "platinum"]


class ValidityIn(BaseModel):
    start: datetime | None = Field(None, description="When it starts (default now)")
    end: datetime = Field(description="When it ends (exclusive)")


class PromotionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    discount: str = Field("", max_length=200)
    validity: ValidityIn | str = Field(description="{start, end}, or an ISO 8601 interval START/END")
    target_loyalty_status: LoyaltyTarget = "all"
    zone: str | None = Field(None, max_length=200, description="The store zone; null for every zone")

    _clean = field_validator("title", "description", "discount", "validity", "zone")(clean_text)


class ValidityOut(BaseModel):
    start: str
    end: str


class PromotionOut(BaseModel):
    id: int
    title: str
    description: str
    discount: str
    validity: ValidityOut
    target_loyalty_status: LoyaltyTarget
    zone: str | None
    created_at: str


class DisplayOut(BaseModel):
    display_id: int
    name: str
    zone: str
    mode: Literal["personal", "default"]
    customer_id: int | None
    recommended_products: list[str]
    personal_until: str | None
    promotions: list[PromotionOut]
    timestamp: str


@router.post("", status_code=201, response_model=PromotionOut, responses=error_responses(400),
             summary="Create a promotion")
async def create_promotion(caller: Writer, promotions: Promotions, body: PromotionIn) -> Any:
    if isinstance(body.validity, str):
        start, end = convert.parse_interval(body.validity)
    else:
        start, end = body.validity.start, body.validity.end
    pb = convert.promotion_proto(
        title=body.title, description=body.description, discount=body.discount, start=start, end=end,
        target_loyalty_status=body.target_loyalty_status, zone=body.zone)
    return convert.promotion_json(await promotions.create_promotion(caller, pb))


@router.get("/display/{display_id}", response_model=DisplayOut, responses=error_responses(404, 422),
            summary="What a display shows now")
async def get_display(caller: Reader, promotions: Promotions, display_id: PathId) -> Any:
    return convert.display_json(await promotions.display(caller, display_id))


@router.get("/{user_id}", response_model=list[PromotionOut], responses=error_responses(404, 422),
            summary="The promotions for a customer's loyalty status")
async def customer_promotions(caller: Reader, promotions: Promotions, user_id: PathId) -> Any:
    reply = await promotions.customer_promotions(caller, user_id)
    return [convert.promotion_json(p) for p in reply.promotions]
