"""The vision gRPC service of a worker in a cluster: every call about a camera reaches the worker running it.

A camera runs on one worker at a time (:mod:`footfall.services.vision.cluster`); its lease names that
worker's gRPC address. A call about a camera another worker runs (GetStream, StopStream, ProcessFrame,
ListTracks, WatchTracks for one camera, WatchFrames) is forwarded there with the caller's own credential
and organisation, so the owner authenticates and authorises it exactly as if it had been called directly;
``x-footfall-forwarded`` keeps a forwarded call from being forwarded again. ListStreams lists every stored
stream of the organisation, asking each stream's owner for its live figures. Everything else is the plain
:class:`~footfall.services.vision.servicer.VisionServicer`.

WatchTracks for *all* cameras streams the cameras running on the worker that answers it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from footfall.v1 import vision_pb2, vision_pb2_grpc

from footfall.services.core.errors import InvalidArgument, Unavailable
from footfall.services.core.grpc import domain_error_from, maps_domain_errors, org_of
from footfall.services.core.tenancy import ORG_METADATA_KEY
from footfall.services.vision.cluster import VisionCluster
from footfall.services.vision.service import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from footfall.services.vision.servicer import VisionServicer, stream_message
from footfall.services.vision.stream_requests import validate_camera_id

log = logging.getLogger(__name__)

FORWARDED = "x-footfall-forwarded"
_PASSED = ("authorization", ORG_METADATA_KEY, "x-request-id")
OWNER_TIMEOUT_S = 5.0


class RoutingServicer(vision_pb2_grpc.VisionServiceServicer):
    """``local`` for the cameras this worker runs (or nobody does), the owner's server for the others."""

    def __init__(self, local: VisionServicer, cluster: VisionCluster) -> None:
        self.local = local
        self.cluster = cluster
        self._channels: dict[str, grpc.aio.Channel] = {}

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()

    def _stub(self, address: str) -> vision_pb2_grpc.VisionServiceStub:
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = grpc.aio.insecure_channel(address)
        return vision_pb2_grpc.VisionServiceStub(channel)

    async def _owner(self, context: grpc.aio.ServicerContext, camera_id: str) -> vision_pb2_grpc.VisionServiceStub | None:
        """The owner's stub when another worker runs ``camera_id``; None: serve it here."""
        if not camera_id or _forwarded(context):
            return None
        holder = await self.cluster.remote_holder(org_of(context), validate_camera_id(camera_id))
        return self._stub(holder.address) if holder is not None else None

    async def _unary(self, call: Callable[..., Awaitable[Any]], request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await call(request, metadata=_metadata(context), timeout=OWNER_TIMEOUT_S)
        except grpc.aio.AioRpcError as err:
            raise domain_error_from(err) from None

    async def _stream(self, call: Callable[..., Any], request: Any, context: grpc.aio.ServicerContext
                      ) -> AsyncIterator[Any]:
        responses = call(request, metadata=_metadata(context))
        try:
            async for message in responses:
                yield message
        except grpc.aio.AioRpcError as err:
            raise domain_error_from(err) from None
        finally:
            responses.cancel()

    # ---- calls about one camera ---------------------------------------------------------------------

    async def StartStream(self, request: vision_pb2.StartStreamRequest, context: grpc.aio.ServicerContext
                          ) -> vision_pb2.StartStreamResponse:
        reply = await self.local.StartStream(request, context)
        if reply is not None:
            reply.stream.worker = self.cluster.worker
        return reply

    @maps_domain_errors
    async def StopStream(self, request: vision_pb2.StopStreamRequest, context: grpc.aio.ServicerContext
                         ) -> vision_pb2.StopStreamResponse:
        owner = await self._owner(context, request.camera_id)
        if owner is not None:
            try:
                return await self._unary(owner.StopStream, request, context)
            except Unavailable:  # its owner died: forget the stream here, its lease just runs out
                pass
        return await self.local.StopStream(request, context)

    @maps_domain_errors
    async def GetStream(self, request: vision_pb2.GetStreamRequest, context: grpc.aio.ServicerContext
                        ) -> vision_pb2.GetStreamResponse:
        owner = await self._owner(context, request.camera_id)
        if owner is not None:
            try:
                return await self._unary(owner.GetStream, request, context)
            except Unavailable:  # the owner died and its lease has not expired yet: show what is stored
                pass
        session, worker = await self.cluster.describe(org_of(context), validate_camera_id(request.camera_id))
        message = stream_message(session)
        message.worker = worker
        return vision_pb2.GetStreamResponse(stream=message)

    @maps_domain_errors
    async def ProcessFrame(self, request: vision_pb2.ProcessFrameRequest, context: grpc.aio.ServicerContext
                           ) -> vision_pb2.ProcessFrameResponse:
        owner = await self._owner(context, request.camera_id)
        if owner is not None:
            return await self._unary(owner.ProcessFrame, request, context)
        return await self.local.ProcessFrame(request, context)

    @maps_domain_errors
    async def ListTracks(self, request: vision_pb2.ListTracksRequest, context: grpc.aio.ServicerContext
                         ) -> vision_pb2.ListTracksResponse:
        owner = await self._owner(context, request.camera_id)
        if owner is not None:
            return await self._unary(owner.ListTracks, request, context)
        return await self.local.ListTracks(request, context)

    @maps_domain_errors
    async def WatchTracks(self, request: vision_pb2.WatchTracksRequest, context: grpc.aio.ServicerContext
                          ) -> AsyncIterator[vision_pb2.WatchTracksResponse]:
        owner = await self._owner(context, request.camera_id)
        source = (self._stream(owner.WatchTracks, request, context) if owner is not None
                  else self.local.WatchTracks(request, context))
        async for message in source:
            yield message

    @maps_domain_errors
    async def WatchFrames(self, request: vision_pb2.WatchFramesRequest, context: grpc.aio.ServicerContext
                          ) -> AsyncIterator[vision_pb2.WatchFramesResponse]:
        owner = await self._owner(context, request.camera_id)
        source = (self._stream(owner.WatchFrames, request, context) if owner is not None
                  else self.local.WatchFrames(request, context))
        async for message in source:
            yield message

    # ---- every camera -------------------------------------------------------------------------------

    @maps_domain_errors
    async def ListStreams(self, request: vision_pb2.ListStreamsRequest, context: grpc.aio.ServicerContext
                          ) -> vision_pb2.ListStreamsResponse:
        if request.page_size < 0:
            raise InvalidArgument("page_size must not be negative")
        size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _after(request.page_token)
        org = org_of(context)
        entries = [e for e in await self.cluster.streams(org) if e[0] > after]
        page = entries[:size]
        token = base64.urlsafe_b64encode(page[-1][0].encode()).decode() if len(entries) > size else ""
        messages = await asyncio.gather(*(self._listed(context, org, camera, session) for camera, session, _ in page))
        return vision_pb2.ListStreamsResponse(streams=messages, next_page_token=token)

    async def _listed(self, context: grpc.aio.ServicerContext, org: str, camera_id: str, session: Any
                      ) -> vision_pb2.Stream:
        """One camera's entry: here, from its owner, or as stored when no worker answers for it."""
        if session is None and not _forwarded(context):
            holder = await self.cluster.remote_holder(org, camera_id)
            if holder is not None:
                try:
                    reply = await self._unary(self._stub(holder.address).GetStream,
                                              vision_pb2.GetStreamRequest(camera_id=camera_id), context)
                    return reply.stream
                except Exception as exc:  # noqa: BLE001 - the owner is going away: show what is stored
                    log.info("owner %s of %s/%s did not answer: %s", holder.worker, org, camera_id, exc)
        described, worker = await self.cluster.describe(org, camera_id)
        message = stream_message(described)
        message.worker = worker
        return message


def _forwarded(context: grpc.aio.ServicerContext) -> bool:
    return any(key == FORWARDED for key, _ in context.invocation_metadata() or ())


def _metadata(context: grpc.aio.ServicerContext) -> list[tuple[str, str]]:
    """The caller's credential and organisation, marked as forwarded."""
    passed = [(k, v) for k, v in context.invocation_metadata() or () if k in _PASSED and isinstance(v, str)]
    return [*passed, (FORWARDED, "1")]


def _after(token: str) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument("invalid page_token") from None
