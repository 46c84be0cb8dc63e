"""Drive HTTP load with `wrk` (Debian package `wrk`) and read its figures back.

A Python load generator saturates long before the gateway does (httpx reached 621 req/s against a bare
Starlette endpoint on this 2-core machine, which serves ~19k req/s to wrk), so the gateway benchmarks use wrk
and measure a bare endpoint in the same run: the ratio is what they report, not the absolute rate.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

# wrk prints this Lua summary last; latencies are in microseconds.
_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("WRK_JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, \\"non2xx\\": %d, "
    .. "\\"p50_us\\": %d, \\"p99_us\\": %d, \\"mean_us\\": %f}\\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass(frozen=True)
class LoadResult:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    requests: int
    errors: int  # socket errors and non-2xx answers

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("this benchmark needs wrk: apt-get install wrk")
    return path


def run_wrk(
    name: str,
    url: str,
    *,
    connections: int = 50,
    threads: int = 2,
    duration_s: float = 10.0,
    method: str = "GET",
    body: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Load `url` for `duration_s` with `connections` keep-alive connections; its rate and latencies."""
    lines = [f'wrk.method = "{method}"']
    for key, value in (headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}")
    if body is not None:
        lines.append('wrk.headers["Content-Type"] = "application/json"')
        lines.append(f"wrk.body = {json.dumps(json.dumps(body))}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n" + _DONE)
    try:
        out = subprocess.run(
            [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s", "--latency",
             "-s", script.name, url],
            capture_output=True, text=True, check=True, timeout=duration_s + 60,
        ).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    match = re.search(r"^WRK_JSON (\{.*\})$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    figures = json.loads(match.group(1))
    seconds = figures["duration_us"] / 1e6
    return LoadResult(
        name=name,
        rps=figures["requests"] / seconds if seconds else 0.0,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        mean_ms=figures["mean_us"] / 1000,
        requests=figures["requests"],
        errors=figures["errors"] + figures["non2xx"],
    )
