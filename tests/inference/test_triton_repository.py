"""The shipped Triton model repository agrees with the model it serves; the prepare script works."""

from __future__ import annotations

import json
import re
from pathlib import Path

import onnxruntime as ort
import pytest

from footfall.inference import resolve_model
from footfall.inference.triton import prepare_repository as prep

SHIPPED = prep.TEMPLATE / "nanodet" / "config.pbtxt"


def test_shipped_config_matches_the_model() -> None:
    text = SHIPPED.read_text()
    spec = resolve_model("nanodet")
    session = ort.InferenceSession(str(spec.path), providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    (model_output,) = session.get_outputs()
    assert re.search(r'^name:\s*"nanodet"', text, re.MULTILINE)
    assert re.search(r'^platform:\s*"onnxruntime_onnx"', text, re.MULTILINE)
    assert re.search(r"^max_batch_size:\s*[1-9]\d*", text, re.MULTILINE)
    assert "dynamic_batching" in text and "kind: KIND_GPU" in text
    assert f'name: "{model_input.name}"' in text and model_input.name == spec.input.name
    assert f'name: "{model_output.name}"' in text and model_output.name == spec.output_name
    assert re.search(r"dims:\s*\[\s*3,\s*-1,\s*-1\s*\]", text)
    channels = model_output.shape[-1]
    assert channels == spec.num_classes + 4 * (spec.head.reg_max + 1)  # type: ignore[union-attr]
    assert re.search(rf"dims:\s*\[\s*-1,\s*{channels}\s*\]", text)
    assert prep.MODELS["nanodet"].resolve() == spec.path


def test_prepare_copies_the_model(tmp_path: Path) -> None:
    out = prep.prepare(tmp_path / "repo")
    model = out / "nanodet" / "1" / "model.onnx"
    assert model.is_file() and not model.is_symlink()
    assert model.read_bytes() == prep.MODELS["nanodet"].read_bytes()
    assert (out / "nanodet" / "config.pbtxt").read_text() == SHIPPED.read_text()


def test_prepare_links_and_overrides(tmp_path: Path) -> None:
    out = prep.prepare(tmp_path / "repo", link=True, instance_kind="KIND_CPU", max_batch_size=2)
    model = out / "nanodet" / "1" / "model.onnx"
    assert model.is_symlink() and model.resolve() == prep.MODELS["nanodet"].resolve()
    config = (out / "nanodet" / "config.pbtxt").read_text()
    assert "kind: KIND_CPU" in config and "max_batch_size: 2" in config


def test_python_backend_variant(tmp_path: Path) -> None:
    out = prep.prepare(tmp_path / "repo", python_backend=True, threads=2)
    config = (out / "nanodet" / "config.pbtxt").read_text()
    assert 'backend: "python"' in config and "onnxruntime_onnx" not in config.split("\n", 1)[1]
    assert "kind: KIND_CPU" in config and 'string_value: "2"' in config
    assert (out / "nanodet" / "1" / "model.py").read_text() == prep.PYTHON_MODEL.read_text()
    # Going back to the onnxruntime variant removes the stale model.py.
    prep.prepare(out)
    assert not (out / "nanodet" / "1" / "model.py").exists()


def test_in_place_keeps_the_shipped_config() -> None:
    with pytest.raises(ValueError, match="--output"):
        prep.prepare(prep.TEMPLATE, python_backend=True)


def test_python_model_is_valid_python() -> None:
    compile(prep.PYTHON_MODEL.read_text(), str(prep.PYTHON_MODEL), "exec")
    assert json.loads((prep.MODELS["nanodet"].parent / "model.json").read_text())["name"] == "nanodet"


@pytest.mark.parametrize("python_backend", [False, True], ids=["onnxruntime", "python"])
def test_configs_parse_as_triton_model_configs(tmp_path: Path, python_backend: bool) -> None:
    """Both variants are valid ModelConfig text protos with the same name, tensors and batching."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    out = prep.prepare(tmp_path / "repo", python_backend=python_backend)
    config = text_format.Parse((out / "nanodet" / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    assert config.name == "nanodet" and config.max_batch_size == 16
    assert (config.backend, config.platform) == (
        ("python", "") if python_backend else ("", "onnxruntime_onnx")
    )
    assert [(i.name, list(i.dims)) for i in config.input] == [("image", [3, -1, -1])]
    assert [(o.name, list(o.dims)) for o in config.output] == [("output", [-1, 124])]
    assert config.HasField("dynamic_batching")
    kind = (
        model_config_pb2.ModelInstanceGroup.KIND_CPU
        if python_backend
        else model_config_pb2.ModelInstanceGroup.KIND_GPU
    )
    assert config.instance_group[0].kind == kind
