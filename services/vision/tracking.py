"""Person tracking: detections in, stable :class:`Track` ids and track-end events out.

The association is done by the ``trackers`` library (Apache-2.0). By default that is
``BoTSORTTracker`` with camera-motion compensation off, which is ByteTrack as published: a
Kalman filter per person and two-stage IoU matching where confident detections are matched
first (to all tracks, IoU fused with the score) and the leftover, recently seen tracks then take
low-confidence detections (IoU >= 0.5). That second stage is why the detector runs at a *low*
threshold: a person half hidden behind a pole keeps their track on a 0.3-confidence box instead
of being dropped and re-born with a new id. (``trackers.ByteTrackTracker`` uses one IoU
threshold for both stages, so background clutter at 0.1-0.4 keeps lost tracks alive: on PETS
2009 it produced ~5,000 false boxes at a 0.1 detector threshold, against ~200 here.)

This wrapper adds what counting and journeys need on top:

* stable 1-based ids (never reused), first/last-seen frame and time, hits and foot-point path;
* stitching: a person hidden long enough for the Kalman prediction to drift comes back as a new
  library track; when they could have walked from where they were lost to where the new track
  appeared, the new track keeps the old id (see :meth:`PersonTracker._stitch`). People last
  seen at the image border left the view and are never continued;
* :class:`~footfall.services.vision.track.TrackEnd` events when a track is not matched for
  ``lost_seconds`` or when the stream ends (:meth:`PersonTracker.finish`);
* the box reported for an observed track is the Kalman-filtered one (``smooth_boxes``), and
  boxes are clipped to the frame;
* tracks missed for at most ``coast_seconds`` can be reported with their predicted box and
  ``observed=False`` (off by default: lines and zones only ever use observed positions);
* :meth:`PersonTracker.predict`: a frame the detector did not look at (adaptive detection rate,
  :mod:`~footfall.services.vision.gating`) reports the tracks at their extrapolated boxes, also with
  ``observed=False``, and leaves the association state alone; :attr:`PersonTracker.steady` says
  whether the last detected frame left the tracker in a state where that is safe.

All durations are in seconds and converted with the stream's frame rate, so a 25 fps camera
and a 7 fps one keep a track alive for the same time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from footfall.services.vision.geometry import any_close, at_border, boxes_close, clip_box
from footfall.services.vision.track import Track, TrackEnd
from footfall.services.vision.track_history import TrackHistory


class _Detections:  # structural stand-in for footfall.inference.detections.Detections
    xyxy: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tracker settings; the defaults suit people walking in a fixed camera view.

    Attributes:
        algorithm: Which ``trackers`` association runs underneath:

            * ``"botsort"`` (default): ``BoTSORTTracker`` with camera-motion compensation off,
              which is ByteTrack's original association: confident detections are matched to
              all tracks (IoU fused with the detection score), then low-confidence detections
              only to tracks seen in the previous frame and only with IoU >= ``low_match_iou``.
              Low-score clutter therefore cannot keep a dead track alive.
            * ``"bytetrack"``: ``ByteTrackTracker``, one IoU threshold for both stages (weak
              boxes of background clutter keep lost tracks alive: many false tracks when the
              detector runs at a low threshold).
            * ``"ocsort"`` / ``"cbiou"``: the library's OC-SORT and C-BIoU trackers.
        frame_rate: Nominal frames per second of the stream (converts seconds to frames).
        high_threshold: Detections at or above this are matched in the first stage; the rest
            (down to the detector's own threshold) only extend existing tracks.
        new_track_threshold: Minimum confidence of an unmatched detection to start a track
            (ByteTrack's reference code uses ``high_threshold + 0.1``).
        match_iou: Minimum IoU between a track's predicted box and a confident detection.
            Low because at walking speed and 7-10 fps consecutive boxes of one person overlap
            little; the Hungarian assignment still prefers the best overlap.
        low_match_iou: Minimum IoU for the low-confidence second stage (ByteTrack's 0.5).
        min_hits: Consecutive matched frames before a track is confirmed and gets an id.
        lost_seconds: How long an unmatched track is kept (and can be re-found) before it ends.
        coast_seconds: How long an unmatched track is still reported, with its predicted box.
        smooth_boxes: Report the Kalman-filtered box instead of the raw detection.
        stitch_seconds: A new track within this many seconds of a lost one may take its id
            when the lost person could have walked there (see ``PersonTracker._stitch``);
            0 disables it. At most ``lost_seconds``.
        stitch_distance: Allowed distance at zero gap, in body heights (detector jitter).
        stitch_speed: Body heights per second a hidden person may move (~1.7 m/s walking).
        border_margin: A track last seen this close to the image border (fraction of the
            frame's width/height) has left the view and is not stitched.
    """

    algorithm: str = "botsort"
    frame_rate: float = 10.0
    high_threshold: float = 0.5
    new_track_threshold: float = 0.6
    match_iou: float = 0.1
    low_match_iou: float = 0.5
    min_hits: int = 2
    lost_seconds: float = 2.0
    coast_seconds: float = 0.0
    smooth_boxes: bool = True
    stitch_seconds: float = 2.0
    stitch_distance: float = 0.5
    stitch_speed: float = 1.0
    border_margin: float = 0.02

    def __post_init__(self) -> None:
        if not (self.frame_rate > 0 and math.isfinite(self.frame_rate)):
            raise ValueError("frame_rate must be a positive number")
        if self.min_hits < 1:
            raise ValueError("min_hits must be >= 1")
        if self.lost_seconds < 0 or self.coast_seconds < 0 or self.stitch_seconds < 0:
            raise ValueError("lost_seconds, coast_seconds and stitch_seconds must be >= 0")
        if self.algorithm not in ("botsort", "bytetrack", "ocsort", "cbiou"):
            raise ValueError(f"unknown tracking algorithm {self.algorithm!r}")


@dataclass(frozen=True, slots=True)
class TrackingStep:
    """Output of one tracker update: confirmed tracks at this frame and tracks that ended."""

    tracks: tuple[Track, ...]
    ended: tuple[TrackEnd, ...]


class PersonTracker:
    """Tracks people in one camera. Not thread-safe: one instance per camera."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._histories: dict[int, TrackHistory] = {}
        self._public: dict[int, int] = {}  # library tracklet id -> our track id
        self._last_time: float | None = None
        self._next_id = 1  # ids are never reused within this object, also across finish()
        self._bt = self._new_backend()
        self._observed: tuple[Track, ...] = ()  # the observed tracks of the last update
        self._fresh: set[int] = set()  # ids started or stitched at the last update
        self._watched: list[tuple[int | None, tuple[float, float, float, float]]] = []  # see watched()
        #: Whether the last update left nothing in flux (see there): the next frame may be predicted.
        self.steady = False

    def _new_backend(self) -> Any:
        import trackers  # heavy import (supervision); only when tracking

        cfg = self.config
        # trackers counts its buffer in 30 fps frames and rescales it by frame_rate.
        common: dict[str, Any] = {
            "lost_track_buffer": max(0, round(cfg.lost_seconds * 30.0)),
            "frame_rate": cfg.frame_rate,
            "minimum_consecutive_frames": cfg.min_hits,
            "high_conf_det_threshold": cfg.high_threshold,
        }
        if cfg.algorithm == "bytetrack":
            return trackers.ByteTrackTracker(
                track_activation_threshold=cfg.new_track_threshold,
                minimum_iou_threshold=cfg.match_iou,
                **common,
            )
        if cfg.algorithm == "ocsort":
            return trackers.OCSORTTracker(minimum_iou_threshold=cfg.match_iou, **common)
        if cfg.algorithm == "botsort":
            common["enable_cmc"] = False
        cls = trackers.BoTSORTTracker if cfg.algorithm == "botsort" else trackers.CBIoUTracker
        return cls(
            track_activation_threshold=cfg.new_track_threshold,
            minimum_iou_threshold_first_assoc=cfg.match_iou,
            minimum_iou_threshold_second_assoc=cfg.low_match_iou,
            **common,
        )

    def update(
        self,
        detections: _Detections,
        frame_index: int,
        timestamp: float,
        frame_size: tuple[int, int] | None = None,
        *,
        predicted: frozenset[int] = frozenset(),
    ) -> TrackingStep:
        """Associate this frame's detections; returns confirmed tracks and ended tracks.

        ``timestamp`` (seconds, increasing) drives the motion model and the lost/coast budgets,
        so a stream whose rate varies or that skips frames is handled correctly. A timestamp
        that does not increase is replaced by one nominal frame after the previous one.
        With ``frame_size`` (width, height) reported boxes are clipped to the frame: filtered
        and predicted boxes may otherwise overshoot the image border.

        ``predicted``: ids of people the detector did not look at in this frame (see :meth:`settled`);
        unless a detection matched them anyway, they are reported at their extrapolated boxes with
        ``observed=False``, as by :meth:`predict`.
        """
        import supervision as sv

        cfg = self.config
        if self._last_time is not None and not timestamp > self._last_time:
            timestamp = self._last_time + 1.0 / cfg.frame_rate
        self._last_time = timestamp

        xyxy = np.asarray(detections.xyxy, dtype=np.float32).reshape(-1, 4)
        conf = np.asarray(detections.confidence, dtype=np.float32).reshape(-1)
        sv_dets = sv.Detections(xyxy=xyxy, confidence=conf, class_id=np.zeros(len(conf), dtype=int))
        result = self._bt.update(sv_dets, timestamp=timestamp)
        matched: dict[int, tuple[float, np.ndarray]] = {}
        if result.tracker_id is not None:
            for i, tid in enumerate(result.tracker_id.tolist()):
                if tid >= 0:
                    c = float(result.confidence[i]) if result.confidence is not None else 1.0
                    matched[tid] = (c, result.xyxy[i])

        confirmed = [t for t in self._bt.tracks if int(t.tracker_id) >= 0]
        observed_now = {
            int(t.tracker_id) for t in confirmed if t.time_since_update == 0 and int(t.tracker_id) in matched
        }
        newcomers = [
            t
            for t in confirmed
            if int(t.tracker_id) not in self._public and int(t.tracker_id) in observed_now
        ]
        if newcomers and cfg.stitch_seconds > 0:
            self._stitch(newcomers, observed_now, timestamp, frame_size)
        for t in newcomers:
            if int(t.tracker_id) not in self._public:
                self._public[int(t.tracker_id)] = self._next_id
                self._next_id += 1

        tracks: list[Track] = []
        alive: set[int] = set()
        states: dict[int, np.ndarray] = {}  # each tracklet's state box, read once
        for tracklet in self._bt.tracks:
            raw_id = int(tracklet.tracker_id)
            track_id = self._public.get(raw_id)
            if track_id is None:
                continue
            state = states[id(tracklet)] = tracklet.get_state_bbox()
            alive.add(track_id)
            history = self._histories.get(track_id)
            observed = raw_id in observed_now
            if observed:
                confidence, det_box = matched[raw_id]
                box_t = clip_box(state if cfg.smooth_boxes else det_box, frame_size)
                if history is None:
                    history = self._histories[track_id] = TrackHistory(
                        track_id, frame_index, timestamp, frame_index, timestamp
                    )
                history.observe(frame_index, timestamp, box_t, confidence)
            elif track_id in predicted and history is not None:
                box_t = self._extrapolated(history, timestamp, frame_size)
                confidence = history.last_confidence
            else:
                if history is None or timestamp - history.last_time > cfg.coast_seconds + 1e-6:
                    continue
                box_t = clip_box(state, frame_size)
                confidence = history.last_confidence
            tracks.append(
                Track(
                    track_id=track_id,
                    xyxy=box_t,
                    confidence=confidence,
                    observed=observed,
                    age=frame_index - history.first_frame,
                    hits=history.hits,
                    first_seen_frame=history.first_frame,
                    first_seen_time=history.first_time,
                    last_seen_frame=history.last_frame,
                    last_seen_time=history.last_time,
                )
            )
        live_raw = {int(t.tracker_id) for t in self._bt.tracks}
        self._public = {raw: pub for raw, pub in self._public.items() if raw in live_raw}
        ended = [
            self._histories.pop(tid).end(frame_index, timestamp)
            for tid in sorted(set(self._histories) - alive)
        ]
        tracks.sort(key=lambda t: t.track_id)
        # Steady: every reported person was matched at this frame, nobody started, ended or was stitched,
        # and no tracklet is on its way to confirmation. Only then may the next frame be predicted instead of
        # detected. (People lost behind someone may be held: the gate still watches their predicted boxes.)
        # People close to each other (boxes within half a width) are where identities swap: keep detecting.
        self.steady = (
            not newcomers and not ended and all(t.observed for t in tracks)
            and all(int(t.tracker_id) >= 0 for t in self._bt.tracks)
            and not any_close([t.xyxy for t in tracks])
        )
        self._observed = tuple(t for t in tracks if t.observed)
        self._watched = [
            (self._public.get(int(t.tracker_id)),
             tuple(float(v) for v in (states[id(t)] if id(t) in states else t.get_state_bbox())[:4]))
            for t in self._bt.tracks
        ]
        self._fresh = {self._public[int(t.tracker_id)] for t in newcomers if int(t.tracker_id) in self._public}
        return TrackingStep(tuple(tracks), tuple(ended))

    def predict(
        self, frame_index: int, timestamp: float, frame_size: tuple[int, int] | None = None
    ) -> TrackingStep:
        """A frame the detector did not look at: the tracks observed at the last update, moved on at
        their recent velocity to ``timestamp``, with ``observed=False`` (so lines and zones wait for the
        next detected frame and join it to the last observation by a straight path).

        The association state (Kalman filters, lost budgets) is left alone: the next :meth:`update`
        predicts over the whole gap from its timestamp. Nothing ends at a predicted frame.
        """
        tracks: list[Track] = []
        for track in self._observed:
            history = self._histories.get(track.track_id)
            if history is None:
                continue
            box = self._extrapolated(history, timestamp, frame_size)
            tracks.append(Track(
                track_id=track.track_id, xyxy=box, confidence=history.last_confidence, observed=False,
                age=frame_index - history.first_frame, hits=history.hits,
                first_seen_frame=history.first_frame, first_seen_time=history.first_time,
                last_seen_frame=history.last_frame, last_seen_time=history.last_time,
            ))
        return TrackingStep(tuple(tracks), ())

    #: Seconds of observed centres the velocity of :meth:`predict` is fitted over.
    PREDICT_WINDOW_S = 0.5

    def _extrapolated(
        self, history: TrackHistory, timestamp: float, frame_size: tuple[int, int] | None
    ) -> tuple[float, float, float, float]:
        """The last observed box moved on at the recent velocity to ``timestamp``."""
        x1, y1, x2, y2 = history.last_box
        cx, cy = history.predicted_center(timestamp, self.PREDICT_WINDOW_S)
        dx, dy = cx - (x1 + x2) / 2, cy - (y1 + y2) / 2
        return clip_box(np.array((x1 + dx, y1 + dy, x2 + dx, y2 + dy)), frame_size)

    def settled(self) -> dict[int, tuple[float, float, float, float]]:
        """People whose next frame may go undetected (per-person adaptive detection rate, see
        :mod:`~footfall.services.vision.gating`), with their boxes at the last update: observed there
        with a confident detection (one that could start a track, so the association finds them again
        after a skipped frame), neither started nor stitched at it, and nobody else (tracked, lost or
        not yet confirmed) within half a box width: that is where identities swap."""
        threshold = self.config.new_track_threshold
        candidates = {t.track_id: t.xyxy for t in self._observed
                      if t.confidence >= threshold and t.track_id not in self._fresh}
        if not candidates:
            return {}
        everyone = self.watched()
        return {tid: box for tid, box in candidates.items()
                if not any(owner != tid and boxes_close(box, other) for owner, other in everyone)}

    def _stitch(
        self,
        newcomers: list[Any],
        observed_now: set[int],
        timestamp: float,
        frame_size: tuple[int, int] | None,
    ) -> None:
        """Give a newly confirmed track the id of a lost track whose motion leads to it.

        A person hidden for a moment (behind a pillar, another person) often comes back as a new
        library track because the Kalman prediction drifted while they were hidden. The distance
        from a newcomer's centre to a lost track is the smaller of the distances to the lost
        track's last centre and to that centre extrapolated at its recent velocity (people stop
        and turn while hidden), in units of the lost person's height. A newcomer of compatible
        height within ``stitch_distance + stitch_speed * gap_seconds`` (how far a walking person
        can get) takes over the lost track's id, and the lost library track is dropped. Pairs are
        chosen by minimum total distance. A track last seen touching the image border left the
        view and is never continued: whoever appears next is a new visit.
        """
        from scipy.optimize import linear_sum_assignment

        cfg = self.config
        window = min(cfg.stitch_seconds, cfg.lost_seconds) + 1e-6
        lost = [
            (raw, pub)
            for raw, pub in self._public.items()
            if raw not in observed_now
            and pub in self._histories
            and 0 < timestamp - self._histories[pub].last_time <= window
            and not at_border(self._histories[pub].last_box, frame_size, cfg.border_margin)
        ]
        if not lost:
            return
        cost = np.full((len(newcomers), len(lost)), np.inf)
        for i, t in enumerate(newcomers):
            x1, y1, x2, y2 = clip_box(t.get_state_bbox(), frame_size)
            cx, cy, h_new = (x1 + x2) / 2, (y1 + y2) / 2, y2 - y1
            for j, (_, pub) in enumerate(lost):
                hist = self._histories[pub]
                h_old = hist.height(1.0)
                if h_old <= 0 or h_new <= 0 or not 0.5 <= h_new / h_old <= 2.0:
                    continue
                gap = timestamp - hist.last_time
                px, py = hist.predicted_center(timestamp, 1.0)
                _, lx, ly, _ = hist.recent[-1]
                dist = min(math.hypot(cx - px, cy - py), math.hypot(cx - lx, cy - ly)) / h_old
                if dist <= cfg.stitch_distance + cfg.stitch_speed * gap:
                    cost[i, j] = dist
        if not np.isfinite(cost).any():
            return
        rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))
        drop: set[int] = set()
        for i, j in zip(rows, cols):
            if np.isfinite(cost[i, j]):
                old_raw, pub = lost[j]
                self._public[int(newcomers[i].tracker_id)] = pub
                del self._public[old_raw]
                drop.add(old_raw)
        self._bt.tracks = [t for t in self._bt.tracks if int(t.tracker_id) not in drop]

    def finish(self, frame_index: int, timestamp: float) -> tuple[TrackEnd, ...]:
        """End every open track (end of stream) and reset the tracker."""
        ended = tuple(h.end(frame_index, timestamp) for _, h in sorted(self._histories.items()))
        self._histories.clear()
        self._public.clear()
        self._bt = self._new_backend()
        self._last_time = None
        self._observed = ()
        self._fresh = set()
        self._watched = []
        self.steady = False
        return ended

    def watched(self) -> list[tuple[int | None, tuple[float, float, float, float]]]:
        """:meth:`watched_boxes` with the id of each box's person (None: not confirmed yet), as of the last
        update."""
        return list(self._watched)

    def watched_boxes(self) -> list[tuple[float, float, float, float]]:
        """Boxes of every person the tracker still holds, confirmed or not, seen or lost (their
        last estimate): where the next detection must look (see :mod:`footfall.services.vision.gating`)."""
        return [box for _, box in self._watched]

    @property
    def active_track_ids(self) -> list[int]:
        """Ids of confirmed tracks the tracker still holds (observed or lost)."""
        return sorted(self._histories)
