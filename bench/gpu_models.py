"""The ONNX networks on a CUDA GPU, in batches: throughput and parity with the in-process CPU backend.

    python3 bench/gpu_models.py --models DIR --images DIR [--batches 1,8,32,128] [--json PATH]

Runs where a GPU and PyTorch are (the device machine of a session; not part of the install): each
ONNX network we ship or use — RetinaFace (faces, 640x640), age and gender (the face attribute chips) and
NanoDet (people, 416x320) — is converted to PyTorch with onnx2torch and run on the GPU in fp32 and fp16
at each batch size; the same real inputs go through onnxruntime on the CPU for parity (max absolute
difference of every output) and for a CPU throughput reference measured in the same run.

The dlib embedder and shape predictor (face identity) and the LiteRT emotion model have no GPU path
in our stack; they stay on the CPU (see bench/face_models.py for their per-core rates).

``--models`` holds retinaface.onnx, nanodet.onnx, age-v1.onnx, gender-v1.onnx; ``--images`` real photos
(faces and frames). Inputs are the photos resized to each network's size: a throughput measure on real
pixels, not an accuracy claim.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass(frozen=True)
class Net:
    name: str
    file: str
    size: tuple[int, int]  # width, height
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


NETS = (
    Net("retinaface", "retinaface.onnx", (640, 640), (104.0, 117.0, 123.0), (1.0, 1.0, 1.0)),
    Net("nanodet", "nanodet.onnx", (416, 320), (103.53, 116.28, 123.675), (57.375, 57.12, 58.395)),
    Net("age", "age-v1.onnx", (64, 64), (0.0, 0.0, 0.0), (255.0, 255.0, 255.0)),
    Net("gender", "gender-v1.onnx", (32, 32), (0.0, 0.0, 0.0), (255.0, 255.0, 255.0)),
)

# Opset 18 changed only Pad (an optional `axes` input) among the ops these graphs use.
_SAFE_AT_17 = {"MaxPool", "Conv", "Pad", "GlobalAveragePool", "AveragePool", "Softmax", "Flatten", "Gemm",
               "Relu", "Add", "Mul"}


def convertible(path: Path):  # type: ignore[no-untyped-def]
    """The graph in a form onnx2torch converts: Identity-of-weight nodes folded, opset 18 lowered."""
    import onnx

    model = onnx.load(str(path))
    weights = {i.name for i in model.graph.initializer}
    rename = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Identity" and n.input[0] in weights}
    kept = [n for n in model.graph.node if n.output[0] not in rename]
    for node in kept:
        for k, name in enumerate(node.input):
            node.input[k] = rename.get(name, name)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    ops = {n.op_type for n in model.graph.node}
    if model.opset_import[0].version >= 18 and ops <= _SAFE_AT_17 and all(
        len(n.input) <= 3 for n in model.graph.node if n.op_type == "Pad"
    ):
        model.opset_import[0].version = 17
    return model


def batch_of(images: list[np.ndarray], net: Net, n: int) -> np.ndarray:
    w, h = net.size
    mean = np.asarray(net.mean, np.float32)
    std = np.asarray(net.std, np.float32)
    chosen = [images[k % len(images)] for k in range(n)]
    x = np.stack([(cv2.resize(im, (w, h)).astype(np.float32) - mean) / std for im in chosen])
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median seconds per call after two warm-ups."""
    fn()
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--batches", default="1,8,32,128")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--cpu-batch", type=int, default=8, help="batch for the onnxruntime CPU reference")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu to check the script itself")
    args = parser.parse_args()

    import onnx2torch
    import onnxruntime as ort
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device visible to PyTorch")
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    images = [cv2.imread(str(p)) for p in sorted(args.images.iterdir()) if p.suffix.lower() in {".jpg", ".png"}]
    images = [im for im in images if im is not None]
    if not images:
        raise SystemExit(f"no images under {args.images}")
    batches = [int(b) for b in args.batches.split(",")]
    report: dict[str, object] = {
        "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else "none (cpu check)", "torch": torch.__version__, "onnxruntime": ort.__version__,
        "ort_providers": ort.get_available_providers(), "cpu_threads": os.cpu_count(), "images": len(images),
        "nets": {},
    }
    for net in NETS:
        path = args.models / net.file
        module = onnx2torch.convert(convertible(path)).eval().to(device)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        probe = batch_of(images, net, 4)
        reference = session.run(None, {input_name: probe})
        entry: dict[str, object] = {}
        with torch.inference_mode():
            for dtype in (torch.float32, torch.float16) if device.type == "cuda" else (torch.float32,):
                half = module.half() if dtype is torch.float16 else module.float()
                got = half(torch.from_numpy(probe).to(device, dtype))
                got = got if isinstance(got, (list, tuple)) else [got]
                entry[f"parity_max_abs_{str(dtype).split('.')[-1]}"] = max(
                    float(np.abs(r - g.float().cpu().numpy()).max()) for r, g in zip(reference, got)
                )
                rates = {}
                for b in batches:
                    x = torch.from_numpy(batch_of(images, net, b)).to(device, dtype)

                    def step() -> None:
                        half(x)
                        sync()

                    rates[b] = round(b / timed(step, args.repeat), 1)
                entry[f"gpu_{str(dtype).split('.')[-1]}_per_s"] = rates
            module.float()
        cpu_x = batch_of(images, net, args.cpu_batch)
        cpu_s = timed(lambda: session.run(None, {input_name: cpu_x}), max(3, args.repeat // 4))
        entry["cpu_onnxruntime_per_s"] = round(args.cpu_batch / cpu_s, 1)
        report["nets"][net.name] = entry  # type: ignore[index]
        print(net.name, json.dumps(entry), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
