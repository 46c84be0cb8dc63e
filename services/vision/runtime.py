"""Starts the vision service inside a platform process: domain facade, gRPC servicer, optional demo feed."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from footfall.v1 import vision_pb2_grpc
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.vision.demo import DemoFeed
from footfall.services.vision.service import OccupancyLines, VisionService, detector_loader
from footfall.services.vision.servicer import SERVICE_NAME, VisionServicer
from footfall.services.vision.source_policy import SourcePolicy

log = logging.getLogger(__name__)


@dataclass
class VisionRuntime:
    service: VisionService
    demo: DemoFeed | None = None

    async def stop(self) -> None:
        if self.demo is not None:
            await self.demo.stop()
        await self.service.stop()


async def start_vision(settings: Settings, db: Database, bus: EventBus, grpc_server: GrpcServer) -> VisionRuntime:
    """Register `footfall.v1.VisionService` on ``grpc_server``; the detector loads in the background.

    Vision keeps no tables (``db`` is unused). Counting lines of cameras started without lines come from
    the occupancy service at ``settings.grpc_target``, else this process's own gRPC server.
    """

    def grpc_target() -> str | None:
        if settings.grpc_target:
            return settings.grpc_target
        return f"127.0.0.1:{grpc_server.port}" if grpc_server.port else None

    service = VisionService(bus, detector_loader(settings), lines_provider=OccupancyLines(grpc_target),
                            sources=SourcePolicy.from_settings(settings), max_image_pixels=settings.max_image_pixels)
    await service.start()
    grpc_server.add(vision_pb2_grpc.add_VisionServiceServicer_to_server,
                    VisionServicer(service, settings.default_org), SERVICE_NAME)
    runtime = VisionRuntime(service)
    if settings.demo:
        runtime.demo = DemoFeed(service, settings.default_org, settings.data_dir, grpc_target)
        runtime.demo.start()
    return runtime
