"""Shared fixtures for the inference tests: real data (skipped when absent) and a detector."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from footfall.inference import PersonDetector, load_person_detector

REPO_ROOT = Path(__file__).resolve().parents[2]
PETS_VIDEO = "video/pets2009_s2l1_480x360.avi"
PETS_FRAMES = (1, 100, 200, 300, 400, 500, 600, 700)  # 1-based, as in the ground truth


def data_root() -> Path:
    return Path(os.environ.get("FOOTFALL_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not (root / PETS_VIDEO).is_file():
        pytest.skip(f"real test data not found at {root} (set FOOTFALL_TEST_DATA)")
    return root


@pytest.fixture(scope="session")
def pets_frames(data_dir: Path) -> dict[int, np.ndarray]:
    """Frames of the PETS 2009 S2.L1 video by 1-based number, read sequentially (no seeking)."""
    capture = cv2.VideoCapture(str(data_dir / PETS_VIDEO))
    frames: dict[int, np.ndarray] = {}
    number = 0
    try:
        while number < max(PETS_FRAMES):
            ok, frame = capture.read()
            if not ok:
                break
            number += 1
            if number in PETS_FRAMES:
                frames[number] = frame
    finally:
        capture.release()
    if len(frames) != len(PETS_FRAMES):
        pytest.skip(f"could not decode {PETS_VIDEO} (got frames {sorted(frames)})")
    return frames


@pytest.fixture(scope="session")
def pets_ground_truth(data_dir: Path) -> dict[int, np.ndarray]:
    """Ground-truth boxes (x1, y1, x2, y2) per 1-based frame, 480x360 coordinates."""
    boxes: dict[int, list[list[float]]] = {}
    with (data_dir / "pets2009_s2l1" / "gt_mot_480x360.txt").open() as handle:
        for row in csv.reader(handle):
            frame, _, x, y, w, h = (float(v) for v in row[:6])
            boxes.setdefault(int(frame), []).append([x, y, x + w, y + h])
    return {f: np.asarray(b, np.float32) for f, b in boxes.items()}


@pytest.fixture(scope="session")
def detector() -> Iterator[PersonDetector]:
    det = load_person_detector(threads=2)
    yield det
    det.close()
