"""The audit trail of configuration changes made over gRPC: who did what, to which target, from where, and
whether it worked.

Logins, users, keys (the accounts service), recognitions and erasures (identity) write their own entries
with more detail. Everything else that changes how a store is watched goes through the gRPC interceptor,
which records the methods in `AUDITED_METHODS` once each call has finished, so no service can forget to.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from google.protobuf.message import Message

from footfall.services.core.principal import Principal

log = logging.getLogger(__name__)

#: Client address a gateway passes on for the caller it serves.
CLIENT_IP_METADATA_KEY = "x-forwarded-for"

#: Full gRPC method -> audit action.
AUDITED_METHODS: dict[str, str] = {
    "/footfall.v1.VisionService/StartStream": "stream.start",
    "/footfall.v1.VisionService/StopStream": "stream.stop",
    "/footfall.v1.OccupancyService/CreateCamera": "camera.create",
    "/footfall.v1.OccupancyService/UpdateCamera": "camera.update",
    "/footfall.v1.OccupancyService/CreateLine": "line.create",
    "/footfall.v1.OccupancyService/UpdateLine": "line.update",
    "/footfall.v1.OccupancyService/CalibrateOccupancy": "occupancy.calibrate",
    "/footfall.v1.OccupancyService/ResolveAlert": "alert.resolve",
    "/footfall.v1.CustomersService/CreateWebhook": "webhook.create",
    "/footfall.v1.CustomersService/DeleteWebhook": "webhook.delete",
    "/footfall.v1.IdentityService/SetIdentityPolicy": "identity.policy",
    "/footfall.v1.PromotionsService/CreatePromotion": "promotion.create",
    "/footfall.v1.PromotionsService/SetZoneProducts": "zone.products",
    "/footfall.v1.PromotionsService/CreateDisplay": "display.create",
}

# Request fields that name what a call acts on, in order of preference.
_TARGET_FIELDS = ("camera_id", "camera_key", "line_id", "alert_id", "webhook_id", "id", "zone", "url", "name",
                  "title")
_MAX_DETAIL_VALUE = 200


class AuditSink(Protocol):
    async def record(self, *, org: str, actor: Principal, action: str, target: str, detail: dict[str, Any],
                     ip: str, outcome: str) -> None: ...


def client_ip(metadata: Any, peer: str) -> str:
    """The caller's address: what the gateway says it served (first hop), else the gRPC peer's host."""
    for key, value in metadata or ():
        if key == CLIENT_IP_METADATA_KEY and isinstance(value, str) and value.strip():
            return value.split(",", 1)[0].strip()[:64]
    host = peer.split(":", 1)[1] if peer.count(":") >= 1 and peer.split(":", 1)[0] in ("ipv4", "ipv6") else peer
    return host.rsplit(":", 1)[0].strip("[]")[:64]


def describe(request: Message) -> tuple[str, dict[str, Any]]:
    """The target and a bounded summary of a request: its set scalar fields (enums by name), long values
    cut; bytes, lists and nested messages (images, zones) left out."""
    detail: dict[str, Any] = {}
    for field, value in request.ListFields():
        if field.type in (field.TYPE_BYTES, field.TYPE_MESSAGE) or field.is_repeated:
            continue
        if field.type == field.TYPE_ENUM:
            enum_value = field.enum_type.values_by_number.get(value)
            value = enum_value.name if enum_value is not None else value
        detail[field.name] = str(value)[:_MAX_DETAIL_VALUE]
    target = next((detail[f] for f in _TARGET_FIELDS if detail.get(f) not in (None, "", "0")), "")
    return target, detail


async def record_call(sink: AuditSink | None, method: str, principal: Principal, org: str, request: Any,
                      ip: str, outcome: str) -> None:
    """Write the entry for an audited method; an audit failure is logged, never turned into a failed call
    that already took effect."""
    action = AUDITED_METHODS.get(method)
    if sink is None or action is None:
        return
    target, detail = describe(request) if isinstance(request, Message) else ("", {})
    try:
        await sink.record(org=org, actor=principal, action=action, target=target, detail=detail, ip=ip,
                          outcome=outcome)
    except Exception:
        log.exception("could not write the audit entry for %s by %s", action, principal.subject)
