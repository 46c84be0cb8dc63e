"""Open-set recognition on the shared face photos: enrol one photo per person, identify the rest.

The photos (../shared/data/faces/face_recognition, see its README) hold Obama x9 (some partial), Biden,
Alex Lacamoire, Kit Harington, Rose Leslie, Lin-Manuel Miranda once (never enrolled) and, in
obama_and_biden.jpg, a third person seen from behind (never enrolled). Every face the detector finds is
labelled here, left to right in each photo. The numbers asserted are the ones in inference/MODELS.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from footfall.inference.faces import MATCH_THRESHOLD, FaceAnalyzer, distances, identify, load_face_analyzer

pytestmark = pytest.mark.data

PHOTOS = "faces/face_recognition"
# photo -> the people in it, left to right (by box x1); None: never enrolled.
LABELS: dict[str, list[str | None]] = {
    "examples/alex-lacamoire.png": ["alex"],
    "examples/knn_examples/test/alex_lacamoire1.jpg": ["alex"],
    "examples/knn_examples/train/alex_lacamoire/img1.jpg": ["alex"],
    "examples/knn_examples/train/biden/biden2.jpg": ["biden"],
    "tests/test_images/biden.jpg": ["biden"],
    "examples/knn_examples/train/kit_harington/john1.jpeg": ["kit"],
    "examples/knn_examples/train/kit_harington/john2.jpeg": ["kit"],
    "examples/knn_examples/test/johnsnow_test1.jpg": ["kit"],
    "examples/knn_examples/train/rose_leslie/img1.jpg": ["rose"],
    "examples/knn_examples/train/rose_leslie/img2.jpg": ["rose"],
    "examples/knn_examples/test/kit_with_rose.jpg": ["rose", "kit"],
    "examples/knn_examples/test/obama1.jpg": ["obama"],
    "examples/knn_examples/test/obama_and_biden.jpg": ["biden", "obama", None],
    "examples/obama-480p.jpg": ["obama"],
    "examples/obama_small.jpg": ["obama"],
    "examples/two_people.jpg": ["obama", "biden"],
    "tests/test_images/obama.jpg": ["obama"],
    "tests/test_images/obama2.jpg": ["obama"],
    "tests/test_images/obama3.jpg": ["obama"],
    "tests/test_images/obama_partial_face.jpg": ["obama"],
    "tests/test_images/obama_partial_face2.jpg": ["obama"],
    "examples/lin-manuel-miranda.png": [None],
}
ENROLMENT = {
    "alex": "examples/knn_examples/train/alex_lacamoire/img1.jpg",
    "biden": "examples/knn_examples/train/biden/biden2.jpg",
    "kit": "examples/knn_examples/train/kit_harington/john1.jpeg",
    "rose": "examples/knn_examples/train/rose_leslie/img1.jpg",
    "obama": "tests/test_images/obama.jpg",
}
GENDER = {"alex": "male", "biden": "male", "kit": "male", "rose": "female", "obama": "male"}


@pytest.fixture(scope="module")
def analyzer() -> Iterator[FaceAnalyzer]:
    face_analyzer = load_face_analyzer(threads=2)
    yield face_analyzer
    face_analyzer.close()


@pytest.fixture(scope="module")
def faces(shared_data: Path, analyzer: FaceAnalyzer) -> list[tuple[str, str | None, object]]:
    """(photo, person, FaceAnalysis) for every labelled face."""
    found = []
    for photo, people in LABELS.items():
        image = cv2.imread(str(shared_data / PHOTOS / photo))
        assert image is not None, photo
        results = sorted(analyzer.analyze(image), key=lambda r: float(r.face.box[0]))
        assert len(results) == len(people), f"{photo}: {len(results)} faces, expected {len(people)}"
        found += [(photo, person, result) for person, result in zip(people, results, strict=True)]
    return found


def test_every_face_is_found(faces) -> None:
    assert len(faces) == sum(len(p) for p in LABELS.values()) == 26


def test_enrol_one_photo_identify_the_others(faces) -> None:
    gallery = [(person, r.embedding) for photo, person, r in faces if person and ENROLMENT[person] == photo]
    assert sorted(p for p, _ in gallery) == sorted(ENROLMENT)
    labels = [p for p, _ in gallery]
    vectors = np.stack([v for _, v in gallery])
    probes = [(person, r) for photo, person, r in faces if person and ENROLMENT[person] != photo]
    strangers = [r for _, person, r in faces if person is None]
    right = sum(identify(r.embedding, vectors, labels).label == person for person, r in probes)
    assert len(probes) == 19 and right / len(probes) >= 0.95
    assert right == 19
    assert len(strangers) == 2
    assert all(identify(r.embedding, vectors, labels).label is None for r in strangers)


def test_threshold_separates_every_pair(faces) -> None:
    """All-pairs verification: FRR and FAR at MATCH_THRESHOLD (the gap reported in MODELS.md)."""
    genuine, impostor = [], []
    for (_, a, ra), (_, b, rb) in itertools.combinations(faces, 2):
        d = float(distances(ra.embedding, rb.embedding[None])[0])
        (genuine if a is not None and a == b else impostor).append(d)
    assert (len(genuine), len(impostor)) == (63, 262)
    frr = sum(d >= MATCH_THRESHOLD for d in genuine) / len(genuine)
    far = sum(d < MATCH_THRESHOLD for d in impostor) / len(impostor)
    assert frr == 0.0 and far == 0.0
    assert max(genuine) < 0.53 < MATCH_THRESHOLD < 0.66 < min(impostor)


def test_attributes_report(faces) -> None:
    """What the models say (MODELS.md): gender as the photos show for every labelled face; ages and
    emotions are only checked to be well-formed, since the photos carry no ground truth for them."""
    for _, person, r in faces:
        attrs = r.attributes
        assert 0 <= attrs.age <= 80 and 0.0 < attrs.age_confidence <= 1.0
        assert abs(sum(attrs.emotions.values()) - 1.0) < 1e-3
        assert attrs.emotion == max(attrs.emotions, key=attrs.emotions.get)
        if person is not None:
            assert attrs.gender == GENDER[person], (person, attrs)
