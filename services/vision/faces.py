"""Best face crop of each track: which tracks to look at, where their face is, which crop is worth sending.

The identity service embeds a track once, from its best crop, and again only when a clearly better crop
appears (issue 7). Vision is where the frames are, so vision picks those crops: it looks for a face in the
upper part of a tracked person's box (never the whole frame, never every frame), keeps the best crop by
:func:`footfall.inference.faces.face_quality`, and hands over a crop only when it is the track's first
usable one or :func:`footfall.inference.faces.clearly_better` than the last one handed over.

CPU stays bounded: a track is examined at most every ``every_n`` frames, at most ``max_tracks_per_frame``
tracks per frame (those waiting longest first, in one batched detector call), people too small to show a
detectable face are skipped, and a track whose crop can no longer be clearly beaten is never examined again.
Everything here is plain CPU work for the face thread (:mod:`footfall.services.vision.face_engine`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from footfall.inference.faces import Face, FaceQuality, clearly_better
from footfall.services.vision.geometry import Box, Point, anchor_point
from footfall.services.vision.track import Track

# clearly_better's margin: a crop scoring above 1 - margin can never be clearly beaten (scores are <= 1).
BETTER_MARGIN = 0.15
# The published crop: the face box grown by this fraction of its size on every side (context for the
# identity service's own detection and alignment), scaled down to at most this many pixels on its longer
# side and JPEG-encoded at this quality: well under FaceCropObserved's 256 KiB.
CROP_MARGIN = 0.5
CROP_MAX_SIDE = 320
CROP_JPEG_QUALITY = 90


class FaceFinder(Protocol):
    """What sampling needs of :class:`footfall.inference.faces.FaceAnalyzer`."""

    def detect_batch(self, frames: Sequence[npt.NDArray[np.uint8]]) -> list[list[Face]]: ...

    def quality(self, frame: npt.NDArray[np.uint8], face: Face) -> FaceQuality: ...


@dataclass(frozen=True)
class FaceSampling:
    """How often and where faces are looked for (``FOOTFALL_FACE_*`` settings)."""

    every_n: int = 5  # frames between two looks at the same track
    max_tracks_per_frame: int = 2
    # A standing person's face is about 1/7 of their height: below this box height the face is under
    # the detector's 12-pixel minimum and looking is wasted work.
    min_person_height: float = 84.0
    upper_fraction: float = 0.5  # the part of the person box searched for the face, from its top
    min_quality: float = 0.1  # crops scoring less (profiles, blur, a few pixels) are never handed over

    def __post_init__(self) -> None:
        if self.every_n < 1 or self.max_tracks_per_frame < 1:
            raise ValueError("every_n and max_tracks_per_frame must be at least 1")
        if not 0.0 < self.upper_fraction <= 1.0:
            raise ValueError("upper_fraction must be in (0, 1]")


@dataclass(frozen=True, eq=False)
class FaceCrop:
    """A crop worth handing to the identity service; ``box`` and ``landmarks`` are in crop pixels."""

    track_id: int
    sequence: int  # 1 for the track's first crop, 2 for the first clearly better one, ...
    frame_index: int
    timestamp: float
    jpeg: bytes
    box: Box
    landmarks: npt.NDArray[np.float32]  # (5, 2)
    detection_score: float
    quality: FaceQuality
    position: Point  # the person's foot point in frame pixels


@dataclass
class _TrackFaces:
    last_looked: int | None = None
    sent: FaceQuality | None = None
    sent_count: int = 0

    @property
    def finished(self) -> bool:
        return self.sent is not None and self.sent.score > 1.0 - BETTER_MARGIN


class FaceSampler:
    """One camera's face sampling state: per track, when it was last examined and what was handed over."""

    def __init__(self, sampling: FaceSampling | None = None) -> None:
        self.sampling = sampling or FaceSampling()
        self._tracks: dict[int, _TrackFaces] = {}
        self.looks = 0  # person crops examined (for measuring the cost)

    def due(self, tracks: Iterable[Track], frame_index: int) -> list[Track]:
        """The tracks to examine at this frame: observed, tall enough, not finished, not examined within
        ``every_n`` frames; those waiting longest first, at most ``max_tracks_per_frame``."""
        s = self.sampling
        waiting: list[tuple[float, int, Track]] = []
        for track in tracks:
            if not track.observed or track.xyxy[3] - track.xyxy[1] < s.min_person_height:
                continue
            state = self._tracks.get(track.track_id)
            last = state.last_looked if state is not None else None
            if state is not None and state.finished:
                continue
            if last is not None and frame_index - last < s.every_n:
                continue
            waiting.append((-math.inf if last is None else float(last), track.track_id, track))
        waiting.sort(key=lambda item: item[:2])
        return [track for _, _, track in waiting[: s.max_tracks_per_frame]]

    def observe(
        self, finder: FaceFinder, image: npt.NDArray[np.uint8], tracks: Sequence[Track], frame_index: int,
        timestamp: float,
    ) -> list[FaceCrop]:
        """Examine the due tracks of this frame; returns the crops to hand over (first or clearly better)."""
        due = self.due(tracks, frame_index)
        if not due:
            return []
        regions = [upper_region(track.xyxy, image.shape[1], image.shape[0], self.sampling.upper_fraction)
                   for track in due]
        looked = [(t, r) for t, r in zip(due, regions) if r is not None]
        for track in due:
            self._tracks.setdefault(track.track_id, _TrackFaces()).last_looked = frame_index
        if not looked:
            return []
        crops = [image[y1:y2, x1:x2] for _, (x1, y1, x2, y2) in looked]
        found = finder.detect_batch(crops)
        self.looks += len(crops)
        out: list[FaceCrop] = []
        for (track, (x1, y1, _, _)), faces in zip(looked, found):
            face = face_of_person([shifted(f, x1, y1) for f in faces], track.xyxy)
            if face is None:
                continue
            quality = finder.quality(image, face)
            state = self._tracks[track.track_id]
            if quality.score < self.sampling.min_quality or not clearly_better(quality, state.sent, BETTER_MARGIN):
                continue
            state.sent, state.sent_count = quality, state.sent_count + 1
            out.append(cut_crop(image, face, quality, track, state.sent_count, frame_index, timestamp))
        return out

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop ended tracks."""
        for track_id in track_ids:
            self._tracks.pop(track_id, None)


def upper_region(box: Box, width: int, height: int, fraction: float) -> tuple[int, int, int, int] | None:
    """The integer frame region searched for a person's face: the box's upper ``fraction``, a little
    above it too (boxes often cut the top of the head); None when it is empty."""
    x1, y1, x2, y2 = box
    tall = y2 - y1
    rx1, rx2 = max(0, math.floor(x1)), min(width, math.ceil(x2))
    ry1 = max(0, math.floor(y1 - 0.05 * tall))
    ry2 = min(height, math.ceil(y1 + fraction * tall))
    if rx2 - rx1 < 8 or ry2 - ry1 < 8:
        return None
    return rx1, ry1, rx2, ry2


def shifted(face: Face, dx: float, dy: float) -> Face:
    offset = np.asarray((dx, dy), np.float32)
    return Face(box=face.box + np.tile(offset, 2), score=face.score, landmarks=face.landmarks + offset)


def face_of_person(faces: Sequence[Face], box: Box) -> Face | None:
    """The face that belongs to the person in ``box``: centred inside the box, nearest its vertical axis
    (people overlap, so a crop may hold a neighbour's face too)."""
    x1, _, x2, _ = box
    width = max(1.0, x2 - x1)
    axis = (x1 + x2) / 2
    inside = [f for f in faces if x1 <= (f.box[0] + f.box[2]) / 2 <= x2]
    if not inside:
        return None
    return min(inside, key=lambda f: (abs((f.box[0] + f.box[2]) / 2 - axis) / width, -f.score))


def cut_crop(
    image: npt.NDArray[np.uint8], face: Face, quality: FaceQuality, track: Track, sequence: int,
    frame_index: int, timestamp: float,
) -> FaceCrop:
    """The face with a margin, at most CROP_MAX_SIDE pixels, as JPEG; box and landmarks moved into it."""
    height, width = image.shape[:2]
    fx1, fy1, fx2, fy2 = (float(v) for v in face.box)
    pad_x, pad_y = CROP_MARGIN * (fx2 - fx1), CROP_MARGIN * (fy2 - fy1)
    cx1, cy1 = max(0, math.floor(fx1 - pad_x)), max(0, math.floor(fy1 - pad_y))
    cx2, cy2 = min(width, math.ceil(fx2 + pad_x)), min(height, math.ceil(fy2 + pad_y))
    crop = image[cy1:cy2, cx1:cx2]
    scale = min(1.0, CROP_MAX_SIDE / max(crop.shape[0], crop.shape[1]))
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, CROP_JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding of a face crop failed")
    origin = np.asarray((cx1, cy1), np.float32)
    box = (face.box.reshape(2, 2) - origin) * scale
    return FaceCrop(
        track_id=track.track_id, sequence=sequence, frame_index=frame_index, timestamp=timestamp,
        jpeg=buf.tobytes(), box=(float(box[0, 0]), float(box[0, 1]), float(box[1, 0]), float(box[1, 1])),
        landmarks=((face.landmarks - origin) * scale).astype(np.float32), detection_score=face.score,
        quality=quality, position=anchor_point(track.xyxy),
    )

