"""Milliseconds per frame of PersonDetector on the PETS video (or any video).

    .venv/bin/python -m footfall.inference.tools.benchmark --threads 2
    .venv/bin/python -m footfall.inference.tools.benchmark --size 480 352 --confidence 0.1 --batch 4
    .venv/bin/python -m footfall.inference.tools.benchmark --backend triton --triton-url 127.0.0.1:8001

Reports medians over the frames: the whole ``detect``/``detect_batch`` call and its three parts
(letterbox + normalise, backend, decode + NMS), and the mean number of detections per frame.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from footfall.inference import load_person_detector
from footfall.inference.preprocess import preprocess

DEFAULT_VIDEO = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "video" / "pets2009_s2l1_480x360.avi"
)


def read_frames(video: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise SystemExit(f"no frames decoded from {video}")
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--video", type=Path, default=Path(os.environ.get("FOOTFALL_BENCH_VIDEO", DEFAULT_VIDEO))
    )
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--model", default="nanodet")
    parser.add_argument("--backend", choices=["onnx", "triton"], default="onnx")
    parser.add_argument("--triton-url", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), default=None)
    parser.add_argument("--confidence", type=float, default=None)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()

    detector = load_person_detector(
        args.backend,
        args.model,
        triton_url=args.triton_url,
        threads=args.threads,
        input_size=tuple(args.size) if args.size else None,
        confidence=args.confidence,
    )
    frames = read_frames(args.video, args.frames)
    for frame in frames[:5]:
        detector.detect(frame)  # warm up

    totals, pre, infer, post, counts = [], [], [], [], []
    for start in range(0, len(frames), args.batch):
        chunk = frames[start : start + args.batch]
        t0 = time.perf_counter()
        results = detector.detect_batch(chunk)
        totals.append((time.perf_counter() - t0) / len(chunk))
        counts.extend(len(r) for r in results)
        # the same call, split into its stages
        t0 = time.perf_counter()
        tensor, boxes = preprocess(chunk, detector.model.input, detector.input_size)
        t1 = time.perf_counter()
        output = detector._run(tensor)
        t2 = time.perf_counter()
        for i, box in enumerate(boxes):
            detector._postprocess(output[i], box)
        t3 = time.perf_counter()
        pre.append((t1 - t0) / len(chunk))
        infer.append((t2 - t1) / len(chunk))
        post.append((t3 - t2) / len(chunk))

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.2f}"

    width, height = detector.input_size
    print(
        f"{args.model} via {args.backend}, {width}x{height}, conf {detector.confidence}, batch {args.batch}, "
        f"{args.threads} threads, {len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}\n"
        f"  ms/frame (median): total {ms(totals)} = preprocess {ms(pre)} + backend {ms(infer)} "
        f"+ decode/NMS {ms(post)}\n"
        f"  detections/frame: {np.mean(counts):.2f}"
    )
    detector.close()


if __name__ == "__main__":
    main()
