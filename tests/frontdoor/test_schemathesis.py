"""Schemathesis over the whole authenticated OpenAPI document, against the real gateway and services.

Every operation of `/openapi.json` (fetched with org A's admin's login, as a client would) is called with
generated valid and invalid inputs, as org A's admin, over one keep-alive connection. None may answer with a
server error (5xx) or quote an exception (driver, gRPC or Python internals), and the connection must survive
every error response. The examples are derandomized, so a failure reproduces in CI.

Also the inputs the issue measured as 500s: NUL bytes, lone surrogates, out-of-range numbers.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.frontdoor.conftest import FrontDoor

# Per operation: valid inputs, then invalid ones (fewer: most fail the same first check).
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
#: Text a response must never hold: it would quote an exception from inside the platform.
LEAK = re.compile(
    r"Traceback|psycopg|sqlstate|grpc\._|_cython|StatusCode\.|AioRpcError|RpcError|debug_error_string"
    r"|File \"/|pydantic_core|Exception:|Error\('",
)
#: Routes that end the credential they are called with: they get a fresh login each time.
LOGOUTS = {"/admin/logout", "/api/auth/logout/"}


def _problem(response: requests.Response) -> str | None:
    if response.status_code >= 500:
        return f"server error {response.status_code}"
    text = response.content[:200_000].decode("utf-8", "replace")
    found = LEAK.search(text)
    if found:
        return f"response quotes an exception ({found.group(0)!r})"
    return None


def _fuzz(operation: Any, mode: GenerationMode, count: int, call: Any) -> None:
    """`count` derandomized cases of `operation` in `mode`, each handed to `call(case)`."""

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        call(case)

    run()


def test_no_server_errors_over_the_whole_document(frontdoor: FrontDoor) -> None:
    fd = frontdoor
    admin = fd.a.admin
    schema = schemathesis.openapi.from_url(f"{fd.base_url}/openapi.json", headers=admin.headers, timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, "the document lost operations"
    session = requests.Session()  # one keep-alive connection: an error response must not drop it
    failures: dict[str, list[str]] = {}
    calls = 0
    started = time.monotonic()

    for operation in operations:
        for mode, count in EXAMPLES.items():
            label = f"{operation.label} [{mode.value}]"

            def call(case: Any, path: str = operation.path, label: str = label) -> None:
                nonlocal calls
                # Logout ends the credential it is called with: a fresh login each time.
                headers = {"Authorization": f"Bearer {fd.login(admin)}"} if path in LOGOUTS else admin.headers
                response = case.call(session=session, headers=headers, timeout=30)
                calls += 1
                problem = _problem(response)
                if problem:
                    failures.setdefault(label, []).append(
                        f"{problem}: {case.as_curl_command()} -> {response.text[:300]}")

            try:
                _fuzz(operation, mode, count, call)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, label  # nothing to make invalid: no parameters, no body
            except Exception as err:  # noqa: BLE001 - an unsatisfiable schema, a broken connection: all findings
                failures.setdefault(label, []).append(f"{type(err).__name__}: {err}"[:500])

    print(f"\nschemathesis: {len(operations)} operations, {calls} calls in {time.monotonic() - started:.0f} s, "
          f"{len(failures)} operations with problems")
    assert not failures, json.dumps({k: v[:3] for k, v in failures.items()}, indent=1)


# --------------------------------------------------------------------------------------------------
# The measured 500s, by hand: each must be a 4xx in its route's error shape.

NUL, SURROGATE = "bad\x00name", "bad\ud800name"


def _raw(fd: FrontDoor, method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
    """`body` as JSON escaped to ASCII, which is how a lone surrogate travels (`\\ud800`)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {**fd.a.admin.headers, "Content-Type": "application/json"}
    return requests.request(method, f"{fd.base_url}{path}", data=data, headers=headers, timeout=30, **kw)


@pytest.mark.parametrize("text", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/occupancy/cameras", {"camera_id": "{text}", "camera_name": "x"}),
        ("POST", "/api/occupancy/cameras", {"camera_id": "OK_CAM", "location": "{text}"}),
        ("PUT", "/api/occupancy/cameras/{camera}", {"camera_name": "{text}"}),
        ("POST", "/api/occupancy/lines", {"camera_id": "{camera}", "line_name": "{text}", "x1": 0, "y1": 0,
                                          "x2": 1, "y2": 1, "direction": "entry"}),
        ("POST", "/api/occupancy/cameras/{camera}/calibrate", {"occupancy_value": 1, "notes": "{text}"}),
        ("POST", "/api/transactions", {"transaction_id": "{text}", "transaction_time": 1700000000}),
        ("POST", "/api/webhooks", {"url": "https://hooks.example.com/{text}"}),
        ("POST", "/admin/users", {"username": "{text}", "password": "pw-123456"}),
        ("POST", "/admin/login", {"username": "{text}", "password": "x"}),
        ("POST", "/process-frame", {"frame_b64": "{text}", "camera_id": "{text}"}),
    ],
)
def test_bad_text_is_a_client_error(frontdoor: FrontDoor, method: str, path: str, body: dict[str, Any],
                                    text: str) -> None:
    camera = frontdoor.a.camera_id
    filled = json.loads(json.dumps(body).replace("{text}", json.dumps(text)[1:-1]).replace('"{camera}"', str(camera)))
    r = _raw(frontdoor, method, path.format(camera=camera), filled)
    assert r.status_code in (400, 401, 422), r.text
    assert isinstance(r.json().get("detail"), str | list), r.text
    assert not LEAK.search(r.text), r.text


@pytest.mark.parametrize("text", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("path", [
    "/api/journeys?zone={q}", "/api/journeys?page_token={q}", "/api/journeys/export?zone={q}",
    "/api/occupancy/cameras/{camera}/hourly?tz={q}", "/cameras/{q}/tracking", "/admin/users/{q}",
    "/api/webhooks?page_token={q}",
])
def test_bad_text_in_the_url_is_a_client_error(frontdoor: FrontDoor, path: str, text: str) -> None:
    q = requests.utils.quote(text.encode("utf-8", "surrogatepass"), safe="")
    method = "DELETE" if path.startswith("/admin/users/") else "GET"
    r = _raw(frontdoor, method, path.format(q=q, camera=frontdoor.a.camera_id))
    assert 400 <= r.status_code < 500, r.text
    assert "detail" in r.json(), r.text
    assert not LEAK.search(r.text), r.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/occupancy/cameras/{camera}/daily?days=2147483648", None),
        ("GET", "/api/occupancy/cameras/{camera}/hourly?days=-1", None),
        ("GET", "/api/occupancy/cameras/{camera}/monthly?months=99999999999999999999", None),
        ("GET", "/api/occupancy/cameras/{camera}/logs?hours=2147483648", None),
        ("GET", "/api/occupancy/cameras/9223372036854775808", None),
        ("GET", "/api/occupancy/cameras/0/live", None),
        ("GET", "/api/journeys/99999999999999999999", None),
        ("GET", "/api/journeys?page_size=2147483648", None),
        ("GET", "/admin/logs?limit=2147483648", None),
        ("POST", "/api/transactions", {"transaction_id": "big", "transaction_time": 1700000000, "amount": 1e12}),
        ("POST", "/api/transactions", {"transaction_id": "far", "transaction_time": 1e300}),
        ("POST", "/api/occupancy/cameras/{camera}/calibrate", {"occupancy_value": 2**63}),
        ("POST", "/api/occupancy/cameras", {"camera_id": "BIG", "max_occupancy": 2**31}),
        ("POST", "/api/occupancy/lines", {"camera_id": 2**63, "line_name": "l", "x1": 0, "y1": 0, "x2": 1,
                                          "y2": 1, "direction": "entry"}),
    ],
)
def test_out_of_range_numbers_are_client_errors(frontdoor: FrontDoor, method: str, path: str, body: Any) -> None:
    r = _raw(frontdoor, method, path.format(camera=frontdoor.a.camera_id), body)
    assert r.status_code in (400, 404, 422), r.text
    assert "detail" in r.json(), r.text
    assert not LEAK.search(r.text), r.text
