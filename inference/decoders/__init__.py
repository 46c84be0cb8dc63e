"""Output decoders: raw head tensors to scored boxes in model-input pixels."""

from __future__ import annotations

from footfall.inference.decoders.base import Candidates, Decoder
from footfall.inference.decoders.nanodet import NanoDetDecoder
from footfall.inference.decoders.yolo import YoloDecoder
from footfall.inference.spec import ModelSpec, NanoDetHead, YoloHead


def decoder_for(spec: ModelSpec) -> Decoder:
    if isinstance(spec.head, NanoDetHead):
        return NanoDetDecoder(spec.head, spec.num_classes)
    if isinstance(spec.head, YoloHead):
        return YoloDecoder(spec.num_classes)
    raise TypeError(f"no decoder for head {spec.head!r}")


__all__ = ["Candidates", "Decoder", "NanoDetDecoder", "YoloDecoder", "decoder_for"]
