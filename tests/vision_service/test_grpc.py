"""VisionService over gRPC with the real detector: streams, crossings on NATS, pushed frames, failures."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from footfall.v1 import common_pb2, events_pb2, vision_pb2
from footfall.services.core.events import unpack
from footfall.services.vision.lines import LineZone
from footfall.services.vision.pipeline import CameraConfig, VisionPipeline
from footfall.services.vision.publisher import crossing_event_id
from footfall.services.vision.sources import VideoFileSource
from footfall.services.vision.tracking import TrackerConfig
from tests.conftest import refusing_port
from tests.vision_service.conftest import (
    Vision,
    jpeg,
    new_camera,
    start_vision_stack,
    stop_vision_stack,
    stream_message_count,
)

pytestmark = pytest.mark.data

DOOR = vision_pb2.CountingLine(
    line_id=7, name="door", start=common_pb2.Point(x=240, y=0), end=common_pb2.Point(x=240, y=360),
    direction=common_pb2.LINE_DIRECTION_BIDIRECTIONAL,
)
FRAMES = 300  # the first 300 frames of PETS S2.L1 hold 9 ground-truth crossings of x=240


async def watchers_registered(service: Any, count: int, timeout: float = 10.0) -> None:
    """Until `count` WatchTracks subscribers are registered with the service (its own record of them)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(service._watchers) < count:
        assert loop.time() < deadline, f"{len(service._watchers)} of {count} track watchers after {timeout}s"
        await asyncio.sleep(0.01)


def offline_crossings(detector: Any, video: Path, frames: int) -> list[tuple[int, int, str]]:
    """The same analysis without the service: (frame, tracker id, direction) of every crossing."""
    source = VideoFileSource(video)
    pipeline = VisionPipeline(detector, {"cam": CameraConfig(
        lines=(LineZone("door", (240.0, 0.0), (240.0, 360.0)),), tracker=TrackerConfig(frame_rate=source.fps or 10.0),
    )})
    out: list[tuple[int, int, str]] = []
    for i, frame in enumerate(source):
        if i >= frames:
            break
        result = pipeline.process_batch({"cam": frame})["cam"]
        out.extend((c.frame_index, c.track_id, c.direction) for c in result.crossings)
    source.close()
    return out


async def test_stream_publishes_line_crossings_with_deterministic_ids(
    vision: Vision, pets_video: Path, detector: Any
) -> None:
    # JetStream drops a republished id only inside its duplicate window (120 s by default). The replay below
    # comes after a whole run and the offline comparison, which can take longer than that on a loaded machine:
    # this test's stream keeps ids for an hour, so what it checks is the ids, not the machine's speed.
    info = await vision.bus.js.stream_info(vision.bus.stream)
    await vision.bus.js.update_stream(dataclasses.replace(info.config, duplicate_window=3600))
    camera = new_camera("GATE")
    right_half = vision_pb2.Zone(name="right", points=[common_pb2.Point(x=x, y=y) for x, y in
                                                        ((240, 0), (480, 0), (480, 360), (240, 360))])
    request = vision_pb2.StartStreamRequest(camera_id=camera, path=str(pets_video), lines=[DOOR], zones=[right_half],
                                            max_frames=FRAMES, session_id="run-1")
    started = (await vision.stub.StartStream(request, metadata=vision.md)).stream
    assert started.camera_id == camera and started.session_id == "run-1"
    assert started.status in (vision_pb2.STREAM_STATUS_CONNECTING, vision_pb2.STREAM_STATUS_CONNECTED)
    assert [line.name for line in started.lines] == ["door"]

    with pytest.raises(grpc.aio.AioRpcError) as err:  # one stream per camera
        await vision.stub.StartStream(request, metadata=vision.md)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS

    stream = await vision.wait_finished(camera)
    assert stream.status == vision_pb2.STREAM_STATUS_STOPPED, stream.status_detail
    assert stream.frames == FRAMES
    counts = {c.line_name: (c.in_count, c.out_count) for c in stream.line_counts}
    await vision.service.publisher.flush()
    await vision.events.wait_for(lambda e: len(e.of("crossing")) == sum(counts["door"]), 10)

    envelopes = vision.events.of("crossing")
    crossings = [unpack(env, events_pb2.LineCrossed) for env in envelopes]
    # Ground truth for these frames: 9 crossings (3 left-to-right = in, 6 right-to-left = out).
    assert 6 <= len(crossings) <= 12, [(c.frame_index, c.direction) for c in crossings]
    assert counts["door"] == (
        sum(c.direction == common_pb2.CROSSING_DIRECTION_IN for c in crossings),
        sum(c.direction == common_pb2.CROSSING_DIRECTION_OUT for c in crossings),
    )
    for env, c in zip(envelopes, crossings):
        assert env.organization_id == vision.org and env.source == "vision" and env.type == "crossing"
        assert c.camera_id == camera and c.line_id == 7 and c.line_name == "door"
        assert c.track_id.startswith("run-1-")
        assert 0.0 < c.confidence <= 1.0
        assert 0 <= c.frame_index < FRAMES
        assert abs(c.anchor.x - 240.0) < 1e-6 and 0 <= c.anchor.y <= 360
        assert c.occurred_at.seconds > 0 and env.occurred_at == c.occurred_at
        assert env.event_id == crossing_event_id(
            vision.org, camera, "run-1", c.track_id, "door", c.frame_index,
            "in" if c.direction == common_pb2.CROSSING_DIRECTION_IN else "out",
        )
    assert len({env.event_id for env in envelopes}) == len(envelopes)

    # Exactly what the pipeline finds on the same frames without the service.
    offline = await asyncio.to_thread(offline_crossings, detector, pets_video, FRAMES)
    assert sorted((c.frame_index, c.track_id.rsplit("-", 1)[1], c.direction) for c in crossings) == sorted(
        (f, str(t), common_pb2.CROSSING_DIRECTION_IN if d == "in" else common_pb2.CROSSING_DIRECTION_OUT)
        for f, t, d in offline
    )

    # Status events: connected, then stopped at max_frames.
    statuses = [unpack(env, events_pb2.CameraSourceStatusChanged).status for env in vision.events.of("source_status")]
    assert statuses == ["connected", "stopped"]
    # Track ends were published for every track (the stream's end closes the open ones).
    ended = [unpack(env, events_pb2.TrackEnded) for env in vision.events.of("track_ended")]
    assert ended and all(e.camera_id == camera and e.path for e in ended)
    assert {c.track_id for c in crossings} <= {e.track_id for e in ended}

    # Zone visits of the right half of the frame.
    entered = [unpack(env, events_pb2.ZoneEntered) for env in vision.events.of("zone_entered")]
    exited = [unpack(env, events_pb2.ZoneExited) for env in vision.events.of("zone_exited")]
    assert entered and exited and len(exited) <= len(entered) + 8  # people already inside at frame 0 never entered
    assert all(z.camera_id == camera and z.zone_name == "right" and z.track_id.startswith("run-1-") for z in entered)
    assert all(z.dwell_seconds >= 0 and z.reason in ("left", "track_ended") for z in exited)
    assert [z.name for z in stream.zones] == ["right"]

    # A restart with the same session id (a crash and replay) republishes the same ids: JetStream drops them.
    subject = vision.bus.subject(vision.org, "vision", "crossing")
    stored = await stream_message_count(vision.bus, subject)
    assert stored == len(envelopes)
    first_ids = [env.event_id for env in envelopes]
    await vision.stub.StartStream(request, metadata=vision.md)
    await vision.wait_finished(camera)
    await vision.service.publisher.flush()
    await vision.events.wait_for(lambda e: len(e.of("crossing")) == 2 * len(first_ids), 10)
    assert [env.event_id for env in vision.events.of("crossing")][len(first_ids):] == first_ids
    assert await stream_message_count(vision.bus, subject) == stored


async def test_process_frame_detects_people_and_keeps_track_ids(
    vision: Vision, pets_frames: Callable[[int, int], list[np.ndarray]]
) -> None:
    frames = pets_frames(200, 4)  # 8 people are in view at frame 200
    replies = []
    for image in frames:
        request = vision_pb2.ProcessFrameRequest(camera_id="shop-door", image=jpeg(image))
        replies.append(await vision.stub.ProcessFrame(request, metadata=vision.md))
    first, last = replies[0], replies[-1]
    assert first.camera_id == "shop-door" and (first.frame_width, first.frame_height) == (480, 360)
    assert len(first.detections) >= 3
    for d in first.detections:
        assert 0 <= d.box.x1 < d.box.x2 <= 480 and 0 <= d.box.y1 < d.box.y2 <= 360 and 0 < d.confidence <= 1
    assert [r.frame_index for r in replies] == [0, 1, 2, 3]
    # Tracks are confirmed after two frames; their ids then stay stable.
    assert len(last.tracks) >= 3
    tracked = [d.track_id for d in last.detections if d.track_id]
    assert len(tracked) >= 3 and set(tracked) <= {t.track_id for t in last.tracks}
    assert {t.track_id for t in replies[2].tracks} & {t.track_id for t in last.tracks}

    listed = await vision.stub.ListTracks(vision_pb2.ListTracksRequest(camera_id="shop-door"), metadata=vision.md)
    assert listed.frame_index == 3 and [t.track_id for t in listed.tracks] == [t.track_id for t in last.tracks]
    streams = await vision.stub.ListStreams(vision_pb2.ListStreamsRequest(), metadata=vision.md)
    pushed = {s.camera_id: s for s in streams.streams}["shop-door"]
    assert pushed.source == "push" and pushed.status == vision_pb2.STREAM_STATUS_CONNECTED and pushed.frames == 4

    # The default camera for frames that name none.
    reply = await vision.stub.ProcessFrame(vision_pb2.ProcessFrameRequest(image=jpeg(frames[0])), metadata=vision.md)
    assert reply.camera_id == "device-camera"


@pytest.mark.parametrize(
    ("image", "message"),
    [(b"", "image is required"), (b"not an image at all", "not a decodable image"),
     (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "not a decodable image")],
)
async def test_malformed_frames_are_invalid_argument(vision: Vision, image: bytes, message: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await vision.stub.ProcessFrame(vision_pb2.ProcessFrameRequest(camera_id="c1", image=image), metadata=vision.md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (err.value.details() or "")


async def test_bad_stream_requests_are_refused(vision: Vision, tmp_path: Path) -> None:
    not_video = tmp_path / "notes.avi"
    not_video.write_text("hello")
    cases = [
        (vision_pb2.StartStreamRequest(camera_id="c"), "source is required"),
        (vision_pb2.StartStreamRequest(camera_id="", path=str(not_video)), "camera_id is required"),
        (vision_pb2.StartStreamRequest(camera_id="c", path=str(tmp_path / "missing.mp4")), "not found"),
        (vision_pb2.StartStreamRequest(camera_id="c", path=str(not_video)), "cannot"),
        (vision_pb2.StartStreamRequest(camera_id="c", url="ftp://example.com/x"), "url must start with"),
        (vision_pb2.StartStreamRequest(camera_id="c", url="rtsp://h/x", lines=[vision_pb2.CountingLine(
            name="flat", start=common_pb2.Point(x=1, y=1), end=common_pb2.Point(x=1, y=1))]), "zero length"),
        (vision_pb2.StartStreamRequest(camera_id="c", url="rtsp://h/x", zones=[vision_pb2.Zone(
            name="z", points=[common_pb2.Point(x=0, y=0), common_pb2.Point(x=1, y=1)])]), "at least 3 points"),
    ]
    for request, message in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await vision.stub.StartStream(request, metadata=vision.md)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert message in (err.value.details() or ""), (message, err.value.details())
    for call, request in [
        (vision.stub.GetStream, vision_pb2.GetStreamRequest(camera_id="nope")),
        (vision.stub.ListTracks, vision_pb2.ListTracksRequest(camera_id="nope")),
        (vision.stub.StopStream, vision_pb2.StopStreamRequest(camera_id="nope")),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(request, metadata=vision.md)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_failing_source_is_reported_reconnecting_then_failed(vision: Vision) -> None:
    with refusing_port() as port:
        await _failing_source_is_reported_reconnecting_then_failed(vision, port)


async def _failing_source_is_reported_reconnecting_then_failed(vision: Vision, port: int) -> None:
    camera = new_camera("DEAD")
    url = f"rtsp://127.0.0.1:{port}/nothing-listens-here"
    request = vision_pb2.StartStreamRequest(camera_id=camera, url=url, max_reconnect_attempts=3)
    await vision.stub.StartStream(request, metadata=vision.md)

    seen: set[int] = set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while vision_pb2.STREAM_STATUS_FAILED not in seen:
        listed = await vision.stub.ListStreams(vision_pb2.ListStreamsRequest(), metadata=vision.md)
        stream = {s.camera_id: s for s in listed.streams}[camera]
        seen.add(stream.status)
        assert loop.time() < deadline, seen
        await asyncio.sleep(0.05)
    assert vision_pb2.STREAM_STATUS_RECONNECTING in seen
    assert stream.frames == 0 and stream.reconnects >= 2 and "3 attempts" in stream.status_detail

    def statuses(e: Any) -> list[str]:
        return [unpack(env, events_pb2.CameraSourceStatusChanged).status for env in e.of("source_status")]

    await vision.events.wait_for(lambda e: "failed" in statuses(e), 10)
    changes = [unpack(env, events_pb2.CameraSourceStatusChanged) for env in vision.events.of("source_status")]
    assert [c.status for c in changes] == ["reconnecting", "failed"]
    assert all(c.camera_id == camera and c.detail for c in changes)

    # A failed camera can be started again (here: stopped at once, reported stopped).
    await vision.stub.StartStream(request, metadata=vision.md)
    stopped = await vision.stub.StopStream(vision_pb2.StopStreamRequest(camera_id=camera), metadata=vision.md)
    assert stopped.stream.status == vision_pb2.STREAM_STATUS_STOPPED


async def test_two_cameras_share_batched_detection(event_bus: Any, detector: Any, pets_video: Path) -> None:
    v = await start_vision_stack(event_bus, detector, batch_window_s=0.05)
    try:
        cams = [new_camera("A"), new_camera("B")]
        for cam in cams:
            await v.stub.StartStream(vision_pb2.StartStreamRequest(
                camera_id=cam, path=str(pets_video), lines=[DOOR], max_frames=60), metadata=v.md)
        finished = [await v.wait_finished(cam) for cam in cams]
        assert all(s.frames == 60 and s.status == vision_pb2.STREAM_STATUS_STOPPED for s in finished)
        stats = v.service.engine.stats
        assert stats.frames == 120
        assert stats.max_batch_size == 2 and stats.sizes[2] >= 30, stats.sizes
        # Same video, same analysis: both cameras count the same.
        assert finished[0].line_counts[0].in_count == finished[1].line_counts[0].in_count
        assert finished[0].line_counts[0].out_count == finished[1].line_counts[0].out_count
        listed = await v.stub.ListStreams(vision_pb2.ListStreamsRequest(page_size=1), metadata=v.md)
        assert len(listed.streams) == 1 and listed.next_page_token
        rest = await v.stub.ListStreams(vision_pb2.ListStreamsRequest(page_size=1, page_token=listed.next_page_token),
                                        metadata=v.md)
        assert {listed.streams[0].camera_id, rest.streams[0].camera_id} == set(cams) and not rest.next_page_token
    finally:
        await stop_vision_stack(v)


async def test_watch_tracks_and_frames(vision: Vision, pets_frames: Callable[[int, int], list[np.ndarray]]) -> None:
    frames = pets_frames(100, 3)
    await vision.stub.ProcessFrame(vision_pb2.ProcessFrameRequest(camera_id="w", image=jpeg(frames[0])),
                                   metadata=vision.md)
    tracks_call = vision.stub.WatchTracks(vision_pb2.WatchTracksRequest(camera_id="w"), metadata=vision.md)
    frames_call = vision.stub.WatchFrames(vision_pb2.WatchFramesRequest(camera_id="w"), metadata=vision.md)
    first_jpeg = await asyncio.wait_for(frames_call.read(), 10)  # the latest frame at once
    assert first_jpeg.jpeg[:2] == b"\xff\xd8" and (first_jpeg.frame_width, first_jpeg.frame_height) == (480, 360)
    await watchers_registered(vision.service, 1)  # WatchTracks has subscribed: it sees every next frame
    for image in frames[1:]:
        await vision.stub.ProcessFrame(vision_pb2.ProcessFrameRequest(camera_id="w", image=jpeg(image)),
                                       metadata=vision.md)
    updates = [await asyncio.wait_for(tracks_call.read(), 10) for _ in range(2)]
    assert [u.frame_index for u in updates] == [1, 2]
    assert updates[-1].camera_id == "w" and updates[-1].tracks
    nxt = await asyncio.wait_for(frames_call.read(), 10)
    assert nxt.frame_index >= 1 and nxt.jpeg[:2] == b"\xff\xd8"
    tracks_call.cancel()
    frames_call.cancel()


async def test_idle_pushed_camera_ends_its_tracks(event_bus: Any, detector: Any,
                                                  pets_frames: Callable[[int, int], list[np.ndarray]]) -> None:
    v = await start_vision_stack(event_bus, detector, pushed_idle_s=0.5)
    try:
        for image in pets_frames(200, 3):
            await v.stub.ProcessFrame(vision_pb2.ProcessFrameRequest(camera_id="kiosk", image=jpeg(image)),
                                      metadata=v.md)
        await v.events.wait_for(lambda e: len(e.of("track_ended")) >= 3 and len(e.of("source_status")) == 2, 15)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await v.stub.GetStream(vision_pb2.GetStreamRequest(camera_id="kiosk"), metadata=v.md)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        statuses = [unpack(env, events_pb2.CameraSourceStatusChanged).status for env in v.events.of("source_status")]
        assert statuses == ["connected", "stopped"]
        # The next frame starts a new session (new track ids).
        reply = await v.stub.ProcessFrame(vision_pb2.ProcessFrameRequest(
            camera_id="kiosk", image=jpeg(pets_frames(203, 1)[0])), metadata=v.md)
        assert reply.frame_index == 0
    finally:
        await stop_vision_stack(v)


async def test_a_detector_that_cannot_load_makes_the_service_unavailable(event_bus: Any, pets_video: Path) -> None:
    def broken() -> Any:
        raise RuntimeError("model file missing")

    v = await start_vision_stack(event_bus, None, load_detector=broken)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await v.stub.ProcessFrame(vision_pb2.ProcessFrameRequest(camera_id="c", image=jpeg(np.zeros((32, 32, 3),
                                                                                                   np.uint8))),
                                      metadata=v.md)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "person detector unavailable: model file missing" in (err.value.details() or "")
        await v.stub.StartStream(vision_pb2.StartStreamRequest(camera_id="f", path=str(pets_video)), metadata=v.md)
        stream = await v.wait_finished("f", 30)
        assert stream.status == vision_pb2.STREAM_STATUS_FAILED and "model file missing" in stream.status_detail
    finally:
        await stop_vision_stack(v)
