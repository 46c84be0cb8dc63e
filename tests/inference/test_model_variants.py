"""The derived NanoDet models (``inference/tools/quantize_nanodet.py``): uint8 input, fp32 and int8."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from footfall.inference import load_person_detector
from footfall.inference.loading import BUILTIN_MODELS, resolve_model
from footfall.inference.preprocess import preprocess


@pytest.mark.parametrize("name", ["nanodet-u8", "nanodet-int8"])
def test_variant_files_match_their_description(name: str) -> None:
    doc = json.loads(BUILTIN_MODELS[name].read_text())
    spec = resolve_model(name)
    assert spec.input.layout == "nhwc_uint8"
    assert hashlib.sha256(Path(spec.path).read_bytes()).hexdigest() == doc["sha256"]
    assert spec.class_names == resolve_model("nanodet").class_names


def test_uint8_preprocess_is_the_letterboxed_frame(pets_frames) -> None:
    frame = pets_frames[200]
    floats, boxes = preprocess([frame], resolve_model("nanodet").input, (416, 320))
    raw, raw_boxes = preprocess([frame, frame], resolve_model("nanodet-u8").input, (416, 320))
    assert raw.dtype == np.uint8 and raw.shape == (2, 320, 416, 3)
    assert raw_boxes[0] == boxes[0]
    spec = resolve_model("nanodet").input
    again = (raw[:1].astype(np.float32) - np.float32(spec.mean)) * np.float32([1 / s for s in spec.std])
    np.testing.assert_array_equal(again.transpose(0, 3, 1, 2), floats)


def test_u8_model_gives_the_same_detections_as_nanodet(pets_frames) -> None:
    fp32 = load_person_detector(confidence=0.2, threads=1)
    u8 = load_person_detector(model="nanodet-u8", confidence=0.2, threads=1)
    for number in (1, 200, 400):
        a, b = fp32.detect(pets_frames[number]), u8.detect(pets_frames[number])
        np.testing.assert_array_equal(a.xyxy, b.xyxy)
        np.testing.assert_array_equal(a.confidence, b.confidence)


def test_int8_model_finds_the_people(pets_frames, pets_ground_truth) -> None:
    from tests.inference.test_detector import matched

    det = load_person_detector(model="nanodet-int8", input_size=(480, 352), threads=1)
    hits = truth_total = found = 0
    for number, frame in pets_frames.items():
        got = det.detect(frame)
        truth = pets_ground_truth.get(number, np.zeros((0, 4), np.float32))
        found += len(got)
        truth_total += len(truth)
        hits += matched(got.xyxy, truth)
    assert hits / truth_total >= 0.8, (hits, truth_total)
    assert hits / found >= 0.8, (hits, found)
