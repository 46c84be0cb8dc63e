"""A camera on a real RTSP server (GStreamer's gst-rtsp-server serving the PETS video's H.264, started by
tests/tools/rtsp_server.py with the system python3): connected, analysed, counted, stopped at max_frames."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from footfall.services.core.events import unpack
from footfall.v1 import events_pb2, vision_pb2

from tests.vision_service.conftest import Vision, new_camera
from tests.vision_service.test_grpc import DOOR

pytestmark = pytest.mark.data

SERVER = Path(__file__).resolve().parents[1] / "tools" / "rtsp_server.py"
GI_PYTHON = os.environ.get("FOOTFALL_TEST_GI_PYTHON", "/usr/bin/python3")  # the one apt's python3-gi is for


@pytest.fixture
def rtsp_url(pets_video: Path) -> Iterator[str]:
    check = subprocess.run([GI_PYTHON, str(SERVER), "--check"], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        pytest.skip(f"no gst-rtsp-server for {GI_PYTHON} (tests/run.sh installs it): {check.stderr.strip()[-300:]}")
    proc = subprocess.Popen([GI_PYTHON, str(SERVER), str(pets_video), "pets"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]  # printed once it listens
        assert line.startswith("ready rtsp://"), (line, proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
        yield line.split()[1]
    finally:
        proc.stdin.close()  # type: ignore[union-attr]  # its signal to stop
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_rtsp_camera_is_analysed_and_counted(vision: Vision, rtsp_url: str) -> None:
    camera = new_camera("RTSP")
    request = vision_pb2.StartStreamRequest(camera_id=camera, url=rtsp_url, lines=[DOOR], max_frames=120,
                                            session_id="rtsp-1")
    started = (await vision.stub.StartStream(request, metadata=vision.md)).stream
    assert started.source == rtsp_url
    stream = await vision.wait_finished(camera)
    assert stream.status == vision_pb2.STREAM_STATUS_STOPPED, stream.status_detail
    assert stream.frames == 120 and stream.reconnects == 0
    assert (stream.frame_width, stream.frame_height) == (480, 360)
    door = {c.line_name: c for c in stream.line_counts}["door"]

    await vision.service.publisher.flush()
    await vision.events.wait_for(lambda e: len(e.of("source_status")) == 2, 10)
    statuses = [unpack(env, events_pb2.CameraSourceStatusChanged).status for env in vision.events.of("source_status")]
    assert statuses == ["connected", "stopped"]
    await vision.events.wait_for(lambda e: len(e.of("crossing")) == door.in_count + door.out_count, 10)
    # People were found and followed in the live frames (whatever frames a busy machine had to skip).
    ended = [unpack(env, events_pb2.TrackEnded) for env in vision.events.of("track_ended")]
    assert len(ended) >= 3 and all(e.camera_id == camera and e.track_id.startswith("rtsp-1-") for e in ended)
