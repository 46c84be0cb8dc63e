#!/usr/bin/env python3
"""Assemble a Triton model repository from inference/triton/model_repository and the shipped ONNX.

Standalone (standard library only, no footfall import), so it also runs in a deployment image::

    # GPU Triton with the onnxruntime backend: config as shipped + nanodet/1/model.onnx
    python inference/triton/prepare_repository.py --output /models
    # in place (a symlink to inference/models/nanodet/nanodet.onnx; git ignores it)
    python inference/triton/prepare_repository.py --link
    # a Triton with only the python backend (tests, CPU dev): same name, inputs and outputs
    python inference/triton/prepare_repository.py --output /tmp/repo --python-backend

Each model folder of the template holds ``config.pbtxt``; the ONNX it serves is given by ``MODELS``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "model_repository"
PYTHON_MODEL = HERE / "python_backend" / "model.py"
MODELS_DIR = HERE.parent / "models"
# Triton model name -> the ONNX file it serves.
MODELS = {"nanodet": MODELS_DIR / "nanodet" / "nanodet.onnx"}


def python_backend_config(text: str, instance_kind: str = "KIND_CPU", threads: int = 0) -> str:
    """The onnxruntime config rewritten for Triton's python backend running model.py."""
    text, found = re.subn(
        r'^platform:\s*"onnxruntime_onnx"\s*$', 'backend: "python"', text, flags=re.MULTILINE
    )
    if found != 1:
        raise ValueError('the template config must contain one line platform: "onnxruntime_onnx"')
    text = set_instance_kind(text, instance_kind)
    header = (
        "# Python-backend variant (model.py runs model.onnx with onnxruntime), by prepare_repository.py\n"
    )
    return (
        header
        + text
        + (f'parameters: {{\n  key: "intra_op_threads"\n  value: {{ string_value: "{threads}" }}\n}}\n')
    )


def set_instance_kind(text: str, kind: str) -> str:
    if kind not in ("KIND_GPU", "KIND_CPU"):
        raise ValueError(f"instance kind must be KIND_GPU or KIND_CPU, not {kind}")
    return re.sub(r"\bkind:\s*KIND_\w+", f"kind: {kind}", text)


def set_max_batch_size(text: str, size: int) -> str:
    return re.sub(r"^max_batch_size:\s*\d+", f"max_batch_size: {size}", text, flags=re.MULTILINE)


def prepare(
    output: Path,
    *,
    link: bool = False,
    python_backend: bool = False,
    instance_kind: str | None = None,
    max_batch_size: int | None = None,
    threads: int = 0,
    models: dict[str, Path] | None = None,
) -> Path:
    """Write ``output/<name>/config.pbtxt`` and ``output/<name>/1/model.onnx`` for every model."""
    models = MODELS if models is None else models
    in_place = output.resolve() == TEMPLATE.resolve()
    if in_place and (python_backend or instance_kind or max_batch_size is not None):
        raise ValueError("the in-place repository keeps the shipped configs: pass --output for a variant")
    output.mkdir(parents=True, exist_ok=True)
    for name, onnx in models.items():
        if not onnx.is_file():
            raise FileNotFoundError(f"{onnx} is missing: it ships with the repository (git lfs?)")
        config = (TEMPLATE / name / "config.pbtxt").read_text()
        if python_backend:
            config = python_backend_config(config, instance_kind or "KIND_CPU", threads)
        elif instance_kind:
            config = set_instance_kind(config, instance_kind)
        if max_batch_size is not None:
            config = set_max_batch_size(config, max_batch_size)
        model_dir = output / name
        version_dir = model_dir / "1"
        version_dir.mkdir(parents=True, exist_ok=True)
        if not in_place:
            (model_dir / "config.pbtxt").write_text(config)
        target = version_dir / "model.onnx"
        if target.is_symlink() or target.exists():
            target.unlink()
        if link:
            target.symlink_to(os.path.relpath(onnx.resolve(), version_dir.resolve()))
        else:
            shutil.copyfile(onnx, target)
        stale = version_dir / "model.py"
        if python_backend:
            shutil.copyfile(PYTHON_MODEL, stale)
        elif stale.exists():
            stale.unlink()
    return output


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output", type=Path, default=TEMPLATE, help="repository to write (default: in place)"
    )
    parser.add_argument("--link", action="store_true", help="symlink the ONNX instead of copying it")
    parser.add_argument("--python-backend", action="store_true", help="serve through model.py + onnxruntime")
    parser.add_argument("--instance-kind", choices=["KIND_GPU", "KIND_CPU"], default=None)
    parser.add_argument("--max-batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (python backend)")
    args = parser.parse_args()
    out = prepare(
        args.output,
        link=args.link,
        python_backend=args.python_backend,
        instance_kind=args.instance_kind,
        max_batch_size=args.max_batch_size,
        threads=args.threads,
    )
    print(out)


if __name__ == "__main__":
    main()
