"""Optional backend for ultralytics YOLO ``.pt`` weights (``pip install footfall[yolo]``).

ultralytics is AGPL-3.0 and pulls torch, so it is imported only here, only when a ``.pt`` file is
asked for. The torch model's raw detect output ``(B, 4 + C, N)`` goes through the same letterbox,
YOLO decoder and NMS as an ONNX export of the same weights.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from footfall.inference.errors import InferenceError, ModelLoadError
from footfall.inference.spec import InputSpec, ModelSpec, YoloHead

YOLO_INPUT = "images"
YOLO_OUTPUT = "output0"


class UltralyticsBackend:
    def __init__(self, weights: str | Path) -> None:
        self.path = Path(weights)
        if not self.path.is_file():
            raise ModelLoadError(self.path, "file does not exist" if not self.path.exists() else "not a file")
        # Never reach for the network: no asset downloads, no pip installs at run time.
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_AUTOINSTALL", "False")
        try:
            import torch
            from ultralytics import YOLO
        except ImportError as exc:
            raise ModelLoadError(
                self.path, f".pt weights need the optional extra: pip install 'footfall[yolo]' ({exc})"
            ) from exc
        try:
            yolo = YOLO(str(self.path), task="detect")
            if getattr(yolo, "task", "detect") != "detect":
                raise ModelLoadError(self.path, f"a {yolo.task!r} model, not a detection model")
            self.model: Any = yolo.model.eval()
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(self.path, f"ultralytics cannot load it: {exc}") from exc
        self._torch = torch
        names = yolo.names
        self.class_names = tuple(str(names[i]) for i in sorted(names))
        args = getattr(self.model, "args", {}) or {}
        imgsz = args.get("imgsz", 640) if isinstance(args, dict) else 640
        self.image_size = int(imgsz if isinstance(imgsz, int) else max(imgsz))
        self.stride = int(max(getattr(self.model, "stride", [32])))

    def spec(self) -> ModelSpec:
        side = self.image_size
        return ModelSpec(
            name=self.path.stem,
            path=self.path,
            head=YoloHead(),
            class_names=self.class_names,
            input=InputSpec(
                name=YOLO_INPUT,
                default_size=(side, side),
                fixed_size=False,
                size_divisor=self.stride,
                channel_order="rgb",
                mean=(0.0, 0.0, 0.0),
                std=(255.0, 255.0, 255.0),
                pad_value=114,
            ),
            output_name=YOLO_OUTPUT,
            confidence=0.25,
            nms_iou=0.7,
        )

    def infer(self, inputs: dict[str, npt.NDArray[np.float32]]) -> dict[str, npt.NDArray[np.float32]]:
        torch = self._torch
        try:
            with torch.inference_mode():
                out = self.model(torch.from_numpy(inputs[YOLO_INPUT]))
            if isinstance(out, (list, tuple)):
                out = out[0]
            return {YOLO_OUTPUT: out.float().cpu().numpy()}
        except Exception as exc:
            raise InferenceError(f"ultralytics failed on {self.path}: {exc}") from exc
