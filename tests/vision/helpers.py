"""Shared helpers for the vision tests: data location and tiny track builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from footfall.services.vision.track import Track

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path | None:
    """``FOOTFALL_TEST_DATA`` or ``<repo>/../shared/data``; ``None`` when absent."""
    path = Path(os.environ.get("FOOTFALL_TEST_DATA") or REPO_ROOT.parent / "shared" / "data")
    return path if path.is_dir() else None


def require_data(*relative: str) -> Path:
    """The shared data directory, or skip the test when it (or one of ``relative``) is missing."""
    root = data_dir()
    if root is None:
        pytest.skip("shared test data not found: set FOOTFALL_TEST_DATA or place it at ../shared/data")
    for rel in relative:
        if not (root / rel).exists():
            pytest.skip(f"shared test data lacks {rel}")
    return root


def foot_track(
    track_id: int,
    x: float,
    y: float,
    *,
    height: float = 50.0,
    width: float = 20.0,
    confidence: float = 0.9,
    observed: bool = True,
    frame: int = 0,
) -> Track:
    """A track whose foot point (bottom-centre) is at ``(x, y)``."""
    return Track(
        track_id=track_id,
        xyxy=(x - width / 2, y - height, x + width / 2, y),
        confidence=confidence,
        observed=observed,
        age=frame,
        hits=frame + 1,
        first_seen_frame=0,
        first_seen_time=0.0,
        last_seen_frame=frame,
        last_seen_time=frame / 10.0,
    )
