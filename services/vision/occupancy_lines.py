"""A camera's counting lines from the occupancy service, for cameras streamed without lines of their own.

Lines are scaled from the camera's configured resolution to the frame size (see
:class:`~footfall.services.vision.camera_lines.LineSet`), keeping each line's id so crossings name it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from footfall.services.core.errors import InvalidArgument, Unavailable
from footfall.services.vision.camera_lines import CameraLine, LineSet
from footfall.services.vision.lines import LineDirection
from footfall.services.vision.stream_requests import make_line

log = logging.getLogger(__name__)


class OccupancyLines:
    """A camera's active virtual lines from the occupancy service (gRPC), by the camera's external key.

    ``target`` gives the gRPC address when first needed (the in-process server's port is known only once
    it has started). Any failure (occupancy not running, camera unknown) means no lines, with a log line.
    """

    def __init__(self, target: Callable[[], str | None], *, timeout: float = 5.0, credentials: Any = None) -> None:
        self._target = target
        self.timeout = timeout
        # A ServiceCredentials; None: the process's default (set by whoever starts the platform).
        self._credentials = credentials
        self._channel: Any = None

    def _stub(self) -> Any:
        import grpc

        from footfall.v1 import occupancy_pb2_grpc

        if self._channel is None:
            target = self._target()
            if not target:
                raise Unavailable("occupancy service address unknown")
            self._channel = grpc.aio.insecure_channel(target)
        return occupancy_pb2_grpc.OccupancyServiceStub(self._channel)

    def _metadata(self, org: str) -> Any:
        from footfall.services.core.tokens import default_service_credentials

        return (self._credentials or default_service_credentials()).metadata(org)

    async def find_camera(self, org: str, camera_id: str) -> Any | None:
        """The occupancy camera with this external key (one ListCameras call, filtered by the key), or None."""
        from footfall.v1 import occupancy_pb2

        reply = await self._stub().ListCameras(
            occupancy_pb2.ListCamerasRequest(include_inactive=True, page_size=1, camera_key=camera_id),
            metadata=self._metadata(org), timeout=self.timeout,
        )
        return next((c for c in reply.cameras if c.camera_id == camera_id), None)

    async def __call__(self, org: str, camera_id: str) -> LineSet:
        from footfall.v1 import common_pb2, occupancy_pb2

        try:
            camera = await self.find_camera(org, camera_id)
            if camera is None:
                log.info("camera %s/%s is not registered with occupancy: no counting lines", org, camera_id)
                return LineSet()
            stub = self._stub()
            lines: list[Any] = []
            token = ""
            while True:
                reply = await stub.ListLines(
                    occupancy_pb2.ListLinesRequest(camera_id=camera.id, page_size=100, page_token=token),
                    metadata=self._metadata(org), timeout=self.timeout,
                )
                lines.extend(reply.lines)
                token = reply.next_page_token
                if not token:
                    break
        except Exception as exc:  # noqa: BLE001 - occupancy absent or unreachable: stream without lines
            reason = exc.details() if hasattr(exc, "details") and callable(exc.details) else str(exc)
            log.warning("could not read occupancy lines for %s/%s (%s): streaming without lines", org, camera_id,
                        reason or type(exc).__name__)
            return LineSet()
        directions = {
            common_pb2.LINE_DIRECTION_ENTRY: LineDirection.ENTRY,
            common_pb2.LINE_DIRECTION_EXIT: LineDirection.EXIT,
            common_pb2.LINE_DIRECTION_BIDIRECTIONAL: LineDirection.BIDIRECTIONAL,
        }
        out: list[CameraLine] = []
        used: set[str] = set()
        for line in sorted(lines, key=lambda v: v.id):
            if not line.is_active:
                continue
            name = line.line_name or f"line-{line.id}"
            if name in used:
                name = f"{name}#{line.id}"
            used.add(name)
            try:
                out.append(make_line(name, (line.x1, line.y1), (line.x2, line.y2),
                                     directions.get(line.direction, LineDirection.BIDIRECTIONAL), line_id=line.id))
            except InvalidArgument as exc:
                log.warning("skipping occupancy line %d of %s/%s: %s", line.id, org, camera_id, exc)
        size = None
        if camera.resolution_width > 0 and camera.resolution_height > 0:
            size = (int(camera.resolution_width), int(camera.resolution_height))
        return LineSet(tuple(out), size)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
