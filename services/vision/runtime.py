"""Starts the vision service inside a platform process: domain facade, gRPC servicer, optional demo feed,
and this process's place among the vision workers (:func:`start_cluster`)."""

from __future__ import annotations

import logging
import os
import re
import socket
from dataclasses import dataclass
from typing import Any

from footfall.v1 import vision_pb2_grpc
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.vision.demo import DemoFeed
from footfall.services.vision.detection import DetectorSettings, detector_loader
from footfall.services.vision.face_engine import FaceEngine, face_analyzer_loader
from footfall.services.vision.faces import FaceSampling
from footfall.services.vision.identities import GrpcCustomerDirectory, IdentityListener
from footfall.services.vision.leases import LEASE_BUCKET, POSITION_BUCKET, CameraLeases
from footfall.services.vision.occupancy_lines import OccupancyLines
from footfall.services.vision.service import VisionService
from footfall.services.vision.cluster import VisionCluster
from footfall.services.vision.routing import RoutingServicer
from footfall.services.vision.servicer import SERVICE_NAME, VisionServicer
from footfall.services.vision.source_policy import SourcePolicy
from footfall.services.vision.stream_store import StreamStore

log = logging.getLogger(__name__)


@dataclass
class VisionRuntime:
    service: VisionService
    demo: DemoFeed | None = None
    identities: IdentityListener | None = None
    cluster: VisionCluster | None = None
    servicer: RoutingServicer | None = None

    async def stop(self) -> None:
        if self.demo is not None:
            await self.demo.stop()
        if self.identities is not None:
            await self.identities.stop()
        if self.cluster is not None:  # hands its cameras to the other workers before the streams stop
            await self.cluster.stop()
        if self.servicer is not None:
            await self.servicer.close()
        await self.service.stop()


async def start_vision(settings: Settings, db: Database, bus: EventBus, grpc_server: GrpcServer) -> VisionRuntime:
    """Register `footfall.v1.VisionService` on ``grpc_server``; the detector loads in the background.

    Streams are stored in ``db`` and shared with the other vision workers (see
    :mod:`footfall.services.vision.cluster`); a single process needs no extra configuration. Counting lines of cameras started without lines come from
    the occupancy service at ``settings.grpc_target``, else this process's own gRPC server. Tracks' best face
    crops go to the identity service on NATS (``faces_enabled``); its recognitions come back on NATS and
    attach to the tracks, with names and loyalty from the customers service at the same address.
    """

    def grpc_target() -> str | None:
        if settings.grpc_target:
            return settings.grpc_target
        return f"127.0.0.1:{grpc_server.port}" if grpc_server.port else None

    faces = FaceEngine(
        face_analyzer_loader(settings), enabled=settings.faces_enabled,
        sampling=FaceSampling(every_n=settings.face_detect_every_n,
                              max_tracks_per_frame=settings.face_max_tracks_per_frame),
    )
    detector = DetectorSettings.from_settings(settings)
    service = VisionService(bus, detector_loader(detector), detect_workers=detector.workers,
                            lines_provider=OccupancyLines(grpc_target),
                            sources=SourcePolicy.from_settings(settings), max_image_pixels=settings.max_image_pixels,
                            faces=faces, blur_cameras=frozenset(settings.faces_blur_cameras))
    await service.start()
    identities = IdentityListener(bus, service, GrpcCustomerDirectory(grpc_target))
    await identities.start()
    cluster = await start_cluster(settings, db, bus, service, grpc_server)
    servicer = RoutingServicer(VisionServicer(service, settings.default_org), cluster)
    grpc_server.add(vision_pb2_grpc.add_VisionServiceServicer_to_server, servicer, SERVICE_NAME)
    runtime = VisionRuntime(service, identities=identities, cluster=cluster, servicer=servicer)
    if settings.demo:
        runtime.demo = DemoFeed(service, settings.default_org, settings.data_dir, grpc_target)
        runtime.demo.start()
    return runtime


def advertise_address(settings: Any, port: int | None) -> str:
    """Where the other workers reach this one: the setting, else this host's address and the gRPC port."""
    if settings.vision_advertise_address:
        return str(settings.vision_advertise_address)
    host = settings.grpc_host
    if host in ("", "0.0.0.0", "::", "[::]"):
        try:
            host = socket.gethostbyname(socket.gethostname())
        except OSError:
            host = "127.0.0.1"
    return f"{host}:{port or settings.grpc_port}"


async def start_cluster(settings: Any, db: Database, bus: EventBus, service: VisionService, grpc_server: Any
                        ) -> VisionCluster:
    """This process's place among the vision workers (restarting the stored streams it takes)."""
    worker = settings.vision_worker_id or f"{socket.gethostname()}-{os.getpid()}"
    # Streams, leases and positions belong to the event namespace the streams publish under.
    scope = re.sub(r"[^A-Za-z0-9_-]", "_", bus.prefix)
    leases = CameraLeases(bus.js, worker, lambda: advertise_address(settings, grpc_server.port),
                          ttl_s=settings.vision_lease_ttl_s, bucket=f"{scope}_{LEASE_BUCKET}",
                          positions_bucket=f"{scope}_{POSITION_BUCKET}")
    cluster = VisionCluster(service, StreamStore(db, bus.prefix), leases, bus=bus)
    await cluster.start()
    return cluster
