"""`footfall up --demo`: a sample camera so live counts appear at once.

The demo registers a camera ``DEMO`` with the occupancy service (resolution 480x360) and a bidirectional
line ``door`` from (240, 0) to (240, 360), then streams the PETS 2009 S2.L1 video in a loop at its real
frame rate. The video is OpenCV's ``vtest.avi`` (768x576, 10 fps); the line is scaled from the camera's
480x360 to the video's size, so it sits at x = 384.

Where the video comes from, first found wins:

1. ``/usr/share/doc/opencv-doc/examples/data/vtest.avi`` (Debian/Ubuntu package ``opencv-doc``);
2. ``<data_dir>/samples/vtest.avi``;
3. otherwise ``apt-get download opencv-doc`` (no root needed) into a temporary folder, and the one file
   extracted to ``<data_dir>/samples/vtest.avi``.

When none works the demo logs how to get the file and the platform runs without the demo camera.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from footfall.services.core.errors import FootfallError
from footfall.services.vision.service import VisionService
from footfall.services.vision.stream_requests import StreamRequest, make_line

log = logging.getLogger(__name__)

DEMO_CAMERA = "DEMO"
DEMO_LINE = "door"
DEMO_RESOLUTION = (480, 360)
# A small capacity, so the dashboard shows the capacity bar and warnings with the few people of the clip.
DEMO_CAPACITY = 6
DEMO_LINE_COORDS = ((240.0, 0.0), (240.0, 360.0))
PACKAGE = "opencv-doc"
STANDARD_PATH = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
_MEMBER = "./usr/share/doc/opencv-doc/examples/data/vtest.avi"

HOW_TO = (
    "the demo video (PETS 2009, OpenCV's vtest.avi) was not found at {standard} or {local} and could not be "
    "downloaded; get it with:\n"
    "    apt-get download opencv-doc && dpkg-deb -x opencv-doc_*.deb /tmp/opencv-doc && "
    "mkdir -p {local_dir} && cp /tmp/opencv-doc/usr/share/doc/opencv-doc/examples/data/vtest.avi {local}\n"
    "(or `sudo apt-get install opencv-doc`) and restart `footfall up --demo`. Continuing without the demo camera."
)


def local_video_path(data_dir: Path) -> Path:
    return Path(data_dir) / "samples" / "vtest.avi"


def find_sample_video(data_dir: Path, standard: Path = STANDARD_PATH) -> Path | None:
    for candidate in (standard, local_video_path(data_dir)):
        if candidate.is_file() and candidate.stat().st_size > 0:
            return candidate
    return None


def fetch_sample_video(data_dir: Path, *, timeout_s: float = 600.0) -> Path | None:
    """Download the ``opencv-doc`` package with apt (no root) and extract only ``vtest.avi``."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        log.info("apt-get/dpkg-deb not available: cannot download %s", PACKAGE)
        return None
    target = local_video_path(data_dir)
    with tempfile.TemporaryDirectory(prefix="footfall-demo-") as tmp:
        log.info("downloading the demo video: apt-get download %s (about 96 MB) ...", PACKAGE)
        try:
            subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, check=True, timeout=timeout_s,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            log.warning("apt-get download %s failed: %s %s", PACKAGE, exc, detail.decode(errors="replace").strip())
            return None
        debs = sorted(Path(tmp).glob(f"{PACKAGE}_*.deb"))
        if not debs:
            return None
        try:
            extract_from_deb(debs[0], target)
        except (OSError, subprocess.SubprocessError, tarfile.TarError, KeyError) as exc:
            log.warning("could not extract vtest.avi from %s: %s", debs[0].name, exc)
            return None
    log.info("demo video saved to %s", target)
    return target


def extract_from_deb(deb: Path, target: Path) -> None:
    """Stream the package's data through tar and write only the video (not the 270 MB of docs)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                if member.name in (_MEMBER, _MEMBER[2:]) and member.isfile():
                    source = tar.extractfile(member)
                    if source is None:
                        break
                    with open(partial, "wb") as out:
                        shutil.copyfileobj(source, out)
                    partial.replace(target)
                    break
            else:
                raise KeyError(f"{_MEMBER} is not in {deb.name}")
        proc.stdout.close()
        proc.kill()


class DemoFeed:
    """Registers the demo camera and line with occupancy and streams the sample video in a loop."""

    def __init__(
        self, service: VisionService, org: str, data_dir: Path, grpc_target: Callable[[], str | None],
        *, standard_path: Path = STANDARD_PATH, download: bool = True, credentials: Any = None,
    ) -> None:
        self.service = service
        self._credentials = credentials  # a ServiceCredentials; None: the process's default
        self.org = org
        self.data_dir = Path(data_dir)
        self._target = grpc_target
        self.standard_path = standard_path
        self.download = download
        self._task: asyncio.Task[None] | None = None
        self.video: Path | None = None
        self.started = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="vision-demo")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        try:
            video = await asyncio.to_thread(find_sample_video, self.data_dir, self.standard_path)
            if video is None and self.download:
                video = await asyncio.to_thread(fetch_sample_video, self.data_dir)
            if video is None:
                local = local_video_path(self.data_dir)
                log.warning(HOW_TO.format(standard=self.standard_path, local=local, local_dir=local.parent))
                return
            self.video = video
            registered = await self._register_camera()
            lines: tuple[Any, ...] = ()
            if not registered:
                # Occupancy is not running here: count on the line anyway, scaled to the video.
                lines = (await asyncio.to_thread(self._scaled_line, video),)
            await self.service.start_stream(self.org, StreamRequest(
                camera_id=DEMO_CAMERA, kind="path", target=str(video), lines=lines, loop=True, realtime=True,
            ), trusted=True)  # the platform's own sample video, wherever apt put it
            log.info("demo camera %s streaming %s in a loop (line %s at x=%g of %dx%d)", DEMO_CAMERA, video,
                     DEMO_LINE, DEMO_LINE_COORDS[0][0], *DEMO_RESOLUTION)
            self.started.set()
        except asyncio.CancelledError:
            raise
        except FootfallError as exc:
            log.warning("demo camera not started: %s", exc)
        except Exception:
            log.exception("demo camera not started")

    def _scaled_line(self, video: Path) -> Any:
        from footfall.services.vision.sources import VideoFileSource

        source = VideoFileSource(video)
        width, height = source.frame_size
        source.close()
        sx, sy = width / DEMO_RESOLUTION[0], height / DEMO_RESOLUTION[1]
        (x1, y1), (x2, y2) = DEMO_LINE_COORDS
        return make_line(DEMO_LINE, (x1 * sx, y1 * sy), (x2 * sx, y2 * sy), "bidirectional")

    async def _register_camera(self, wait_s: float = 60.0) -> bool:
        """Create camera DEMO and its door line with occupancy (idempotent); False when occupancy is absent."""
        import grpc

        from footfall.v1 import common_pb2, occupancy_pb2, occupancy_pb2_grpc
        from footfall.services.core.tokens import default_service_credentials

        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        target = self._target()
        while target is None and loop.time() < deadline:  # the in-process gRPC server starts after us
            await asyncio.sleep(0.2)
            target = self._target()
        if target is None:
            return False
        md = (self._credentials or default_service_credentials()).metadata(self.org)
        async with grpc.aio.insecure_channel(target) as channel:
            stub = occupancy_pb2_grpc.OccupancyServiceStub(channel)
            while True:
                try:
                    camera = await self._ensure_camera(stub, md)
                    lines = await stub.ListLines(occupancy_pb2.ListLinesRequest(camera_id=camera.id, page_size=100),
                                                 metadata=md, timeout=10)
                    if not any(line.line_name == DEMO_LINE and line.is_active for line in lines.lines):
                        (x1, y1), (x2, y2) = DEMO_LINE_COORDS
                        await stub.CreateLine(occupancy_pb2.CreateLineRequest(
                            camera_id=camera.id, line_name=DEMO_LINE, x1=x1, y1=y1, x2=x2, y2=y2,
                            direction=common_pb2.LINE_DIRECTION_BIDIRECTIONAL,
                        ), metadata=md, timeout=10)
                    return True
                except grpc.aio.AioRpcError as err:
                    if err.code() == grpc.StatusCode.UNIMPLEMENTED:
                        log.info("occupancy service not running: demo counts only in the vision service")
                        return False
                    if err.code() != grpc.StatusCode.UNAVAILABLE or loop.time() > deadline:
                        log.warning("could not register the demo camera with occupancy: %s %s", err.code().name,
                                    err.details())
                        return False
                    await asyncio.sleep(0.5)

    async def _ensure_camera(self, stub: Any, md: Any) -> Any:
        import grpc

        from footfall.v1 import occupancy_pb2

        try:
            reply = await stub.CreateCamera(occupancy_pb2.CreateCameraRequest(
                camera_id=DEMO_CAMERA, camera_name="Demo entrance (PETS 2009)", location="Demo",
                camera_type="bidirectional", max_occupancy=DEMO_CAPACITY, resolution_width=DEMO_RESOLUTION[0],
                resolution_height=DEMO_RESOLUTION[1],
            ), metadata=md, timeout=10)
            return reply.camera
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        token = ""
        while True:
            page = await stub.ListCameras(occupancy_pb2.ListCamerasRequest(
                include_inactive=True, page_size=100, page_token=token), metadata=md, timeout=10)
            for camera in page.cameras:
                if camera.camera_id == DEMO_CAMERA:
                    return camera
            token = page.next_page_token
            if not token:
                raise RuntimeError("camera DEMO exists but is not listed")
