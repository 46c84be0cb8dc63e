"""Face models benchmark: faces embedded per second per core, and each model's cost per call.

    .venv/bin/python bench/face_models.py [--threads 1] [--repeat 3] [--json PATH]

On every shared face photo (../shared/data/faces/face_recognition, or FOOTFALL_TEST_DATA), in-process,
with ``--threads`` threads per model (1 = per core): detection (RetinaFace at 640 px, whole call),
alignment (dlib 5-point predictor + chips), embedding (dlib ResNet), age, gender, emotion; then the
end-to-end rate of detection + alignment + embedding in faces per second (per core when --threads 1).
Times are medians over ``--repeat`` passes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import cv2

from footfall.inference.faces import load_face_analyzer

ROOT = Path(__file__).resolve().parents[1]


def photos() -> list[Path]:
    data = Path(os.environ.get("FOOTFALL_TEST_DATA", ROOT.parent / "shared" / "data"))
    folder = data / "faces" / "face_recognition"
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not found:
        raise SystemExit(f"no face photos under {folder}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    analyzer = load_face_analyzer(threads=args.threads)
    images = [cv2.imread(str(p)) for p in photos()]
    timings: dict[str, list[float]] = {k: [] for k in ("detect", "align", "embed", "age_gender_emotion")}
    pipeline: list[float] = []
    faces_per_pass = 0
    for _ in range(args.repeat):
        faces_per_pass = 0
        for image in images:
            t0 = time.perf_counter()
            faces = analyzer.detect(image)
            t1 = time.perf_counter()
            aligned = analyzer.align_all(image, faces)
            t2 = time.perf_counter()
            for a in aligned:
                t = time.perf_counter()
                analyzer.embed(a)
                timings["embed"].append(time.perf_counter() - t)
            t3 = time.perf_counter()
            for a in aligned:
                t = time.perf_counter()
                analyzer.attributes(a)
                timings["age_gender_emotion"].append(time.perf_counter() - t)
            timings["detect"].append(t1 - t0)
            if faces:
                timings["align"].append((t2 - t1) / len(faces))
            pipeline.append(t3 - t0)
            faces_per_pass += len(faces)
    passes = args.repeat
    total_pipeline = sum(pipeline) / passes
    result = {
        "threads": args.threads,
        "photos": len(images),
        "faces": faces_per_pass,
        "ms_median": {k: round(statistics.median(v) * 1000, 1) for k, v in timings.items() if v},
        "faces_per_second": round(faces_per_pass / total_pipeline, 2),
        "faces_per_second_per_core": round(faces_per_pass / total_pipeline / args.threads, 2),
    }
    for name, ms in result["ms_median"].items():
        unit = "per frame" if name == "detect" else "per face"
        print(f"{name:20s} {ms:8.1f} ms {unit}")
    print(
        f"detect + align + embed: {result['faces_per_second']} faces/s with {args.threads} thread(s) "
        f"({result['faces_per_second_per_core']} per core; {faces_per_pass} faces in {len(images)} photos)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
