"""Errors raised by the inference package."""

from __future__ import annotations

from pathlib import Path


class ModelLoadError(RuntimeError):
    """A model could not be loaded: missing, malformed or of an unsupported layout.

    Raised while a detector is being constructed, never mid-stream, so a misconfigured camera worker
    fails at start-up with the path and the reason.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot load model {self.path!r}: {reason}")


class InferenceError(RuntimeError):
    """A backend failed on a request (e.g. the Triton server went away) or returned the wrong tensors."""
