"""`CameraSession.reconfigure`: lines and zones swapped between two frames of a running camera; a line that did
not change keeps its counts, a changed one starts again, a new zone counts from the next frame."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from footfall.services.core.events import EventBus
from footfall.services.vision.lines import LineDirection
from footfall.services.vision.camera_lines import LineSet
from footfall.services.vision.service import VisionService
from footfall.services.vision.stream_requests import make_line, make_zone
from tests.conftest import unique_org
from tests.vision_service.conftest import jpeg

DOOR = make_line("door", (240, 0), (240, 360), LineDirection.BIDIRECTIONAL, line_id=1)
AISLE = make_line("aisle", (0, 200), (480, 200), LineDirection.ENTRY, line_id=2)
pytestmark = pytest.mark.data

HALL = make_zone("hall", [(0, 0), (480, 0), (480, 360), (0, 360)])


async def test_reconfigure_keeps_the_counts_of_unchanged_lines(
    event_bus: EventBus, detector: Any, pets_frames: Callable[[int, int], list[np.ndarray]]
) -> None:
    async def lines(org: str, camera: str) -> LineSet:
        return LineSet((DOOR,))

    org = unique_org("reconf")
    service = VisionService(event_bus, lambda: detector, lines_provider=lines)
    await service.start(preload=False)
    try:
        def door_total() -> int:
            session = service.camera_session(org, "cam")
            return sum(session.line_counts.get("door", {}).values()) if session is not None else 0

        frames = pets_frames(0, 60)
        index = 0
        while door_total() == 0:
            assert index < len(frames), "no crossing of the door in the first 60 frames"
            await service.process_frame(org, "cam", jpeg(frames[index]))
            index += 1
        session = service.camera_session(org, "cam")
        assert session is not None
        door_counts = dict(session.line_counts["door"])

        await session.reconfigure(lines=LineSet((DOOR, AISLE)), zones=(HALL,))
        assert session.line_counts["door"] == door_counts and session.line_counts["aisle"] == {"in": 0, "out": 0}
        assert [x.zone.name for x in session.lines] == ["door", "aisle"] and session.events.line_ids["aisle"] == 2
        for image in frames[index:index + 10]:  # a person is inside once seen there for a few frames
            analysis = await service.process_frame(org, "cam", jpeg(image))
            assert analysis.session is session and session.snapshot is not None
            if session.snapshot.zone_occupancy["hall"] > 0:
                break
        assert session.snapshot.zone_occupancy["hall"] > 0  # everyone in view is in the whole-frame zone
        assert session.line_counts["door"]["in"] >= door_counts["in"]

        moved = make_line("door", (250, 0), (250, 360), LineDirection.BIDIRECTIONAL, line_id=1)
        await session.reconfigure(lines=LineSet((moved,)))
        assert session.line_counts == {"door": {"in": 0, "out": 0}}  # a changed line counts afresh
        assert session.zones == (HALL,)  # zones untouched when only lines are given
    finally:
        await service.stop()
