"""The two routes the web app added: who is logged in (`/api/dashboard/me`) and a camera's picture
(`/cameras/{id}/snapshot`), against the same real `footfall up --demo`."""

from __future__ import annotations

import time

import httpx

from tests.webapp.conftest import Demo


def test_me_says_who_and_which_role(demo: Demo) -> None:
    r = httpx.get(demo.url + "api/dashboard/me", headers={"Authorization": f"Bearer {demo.token()}"}, timeout=30)
    assert r.status_code == 200
    assert r.json() == {"username": demo.username, "display_name": r.json()["display_name"], "org": "default",
                        "home_org": "default", "role": "platform_admin"}
    assert httpx.get(demo.url + "api/dashboard/me", timeout=30).status_code == 401


def test_snapshot_is_one_jpeg_of_the_camera(demo: Demo) -> None:
    headers = {"Authorization": f"Bearer {demo.token()}"}
    deadline = time.monotonic() + 240
    while True:  # the demo's first frame can take a while on a busy machine
        r = httpx.get(demo.url + "cameras/DEMO/snapshot", headers=headers, timeout=30)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        assert r.status_code == 503 and r.json() == {"detail": "Service not ready"}
        time.sleep(1)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content[:2] == b"\xff\xd8"  # a JPEG
    assert (int(r.headers["x-frame-width"]), int(r.headers["x-frame-height"])) == (480, 360)
    assert r.headers["cache-control"] == "no-store"
    missing = httpx.get(demo.url + "cameras/NO_SUCH_CAMERA/snapshot", headers=headers, timeout=30)
    assert missing.status_code == 404 and missing.json() == {"detail": "Camera not found"}
    assert httpx.get(demo.url + "cameras/DEMO/snapshot", timeout=30).status_code == 401
