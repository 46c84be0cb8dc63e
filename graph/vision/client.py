"""The typed gRPC client of `footfall.v1.VisionService`: streams, pushed frames, tracks and the live view."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import grpc
from footfall.graph.core.client import DEFAULT_TIMEOUT_S, Identity, ServiceClient
from footfall.v1 import vision_pb2, vision_pb2_grpc


class VisionClient(ServiceClient):
    """`footfall.v1.VisionService`: streams, pushed frames, tracks and the live view."""

    service_name = "Vision"
    grpc_service = "footfall.v1.VisionService"

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(channel, timeout=timeout)
        self.stub = vision_pb2_grpc.VisionServiceStub(channel)

    async def start_stream(self, caller: Identity, request: vision_pb2.StartStreamRequest) -> vision_pb2.Stream:
        return (await self.unary(self.stub.StartStream, request, caller)).stream

    async def stop_stream(self, caller: Identity, camera_id: str) -> vision_pb2.Stream:
        return (await self.unary(self.stub.StopStream, vision_pb2.StopStreamRequest(camera_id=camera_id), caller)).stream

    async def get_stream(self, caller: Identity, camera_id: str) -> vision_pb2.Stream:
        return (await self.unary(self.stub.GetStream, vision_pb2.GetStreamRequest(camera_id=camera_id), caller)).stream

    async def list_streams(self, caller: Identity, page_size: int = 0, page_token: str = "") -> vision_pb2.ListStreamsResponse:
        request = vision_pb2.ListStreamsRequest(page_size=page_size, page_token=page_token)
        return await self.unary(self.stub.ListStreams, request, caller)

    async def process_frame(self, caller: Identity, camera_id: str, image: bytes) -> vision_pb2.ProcessFrameResponse:
        request = vision_pb2.ProcessFrameRequest(camera_id=camera_id, image=image)
        return await self.unary(self.stub.ProcessFrame, request, caller)

    async def list_tracks(self, caller: Identity, camera_id: str) -> vision_pb2.ListTracksResponse:
        return await self.unary(self.stub.ListTracks, vision_pb2.ListTracksRequest(camera_id=camera_id), caller)

    def watch_tracks(self, caller: Identity, camera_id: str = "") -> AsyncGenerator[vision_pb2.WatchTracksResponse, None]:
        """Track updates until the caller stops iterating (closing the iterator cancels the call)."""
        request = vision_pb2.WatchTracksRequest(camera_id=camera_id)
        return self.stream(self.stub.WatchTracks, request, caller)

    def watch_frames(
        self, caller: Identity, camera_id: str, *, max_fps: float = 0.0, quality: int = 0
    ) -> AsyncGenerator[vision_pb2.WatchFramesResponse, None]:
        request = vision_pb2.WatchFramesRequest(camera_id=camera_id, max_fps=max_fps, quality=quality)
        return self.stream(self.stub.WatchFrames, request, caller)
