"""What the gateway app does around serving: its lifespan, and the FastAPI options that keep requests cheap.

    app = FastAPI(..., lifespan=gateway_lifespan, **FASTAPI_OPTIONS)
"""

from __future__ import annotations

import gc
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

# FastAPI's own OpenTelemetry (recent releases) asks the OTel providers on every request; the gateway reports
# Prometheus metrics (`footfall.graph.core.metrics`) and configures no OpenTelemetry.
FASTAPI_OPTIONS: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


@asynccontextmanager
async def gateway_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The live-occupancy feed (`app.state.live_occupancy`) runs while the server does; without a lifespan
    (tests over ASGITransport) every live read asks the service.

    What was built before serving (services, schema, models) lives as long as the process: frozen, the
    collector's full passes no longer walk it. Each such pass walked ~250k objects of a `footfall up`
    process, 1 s on a busy 2-core machine, and every request waiting behind it took that long.
    """
    gc.collect()
    gc.freeze()
    cache = getattr(app.state, "live_occupancy", None)
    if cache is not None:
        await cache.start(app.state.nats_url)
    try:
        yield
    finally:
        if cache is not None:
            await cache.close()
