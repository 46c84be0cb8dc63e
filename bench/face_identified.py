"""Issue 7: end-to-end time from a face entering the frame to `customer_identified` on NATS.

    .venv/bin/python bench/face_identified.py                   # 4 runs of the Hamilton clip (1 cold, 3 warm)
    .venv/bin/python bench/face_identified.py --runs 5 --json bench/results/face_identified.json

Everything as deployed: an embedded PostgreSQL and nats-server in a temporary directory, `Platform` (every
service, the gateway), the real person detector and face models. Lin-Manuel Miranda is registered (with consent)
from his photo; the shared Hamilton clip, which shows him, is then streamed in real time (`realtime: true`, no
loop) on a fresh camera per run, and a NATS subscription notes when each event arrives.

The moment the face enters the frame is the clip's first frame in which the face detector finds a face within the
match threshold of the enrolled one (found here, once, with the same models); at real-time pacing that frame is
due `t0` seconds after the stream starts. Per run:

* `total`: `customer_identified` arrival - (stream start + t0). The start is taken just before `startStream` is
  sent; pacing begins at the first decoded frame, slightly later, so `total` is an upper bound (by the source's
  opening time, tens of milliseconds).
* `to_crop`: the first `vision.face_crop` of the camera - (start + t0): vision's share (detection, tracking,
  face sampling every few frames, crop encoding, publishing).
* `identify`: `customer_identified` - first `face_crop`: identity's share (decoding, alignment, embedding,
  attributes, vector search, audit entry, outbox publish).

Reports p50 and max of each over the runs after the first (the first stream also loads vision's models; it is
printed but not summarised). Only loopback addresses are used; every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
SHARED = REPO_ROOT.parent / "shared" / "data"

EXAMPLES = "faces/face_recognition/examples"
CLIP = f"{EXAMPLES}/short_hamilton_clip.mp4"
PHOTO = f"{EXAMPLES}/lin-manuel-miranda.png"
PASSWORD = "correct horse battery staple"
THRESHOLD = 0.6  # the identity service's default match distance
EVENT_DEADLINE_S = 60.0


def face_entry_s(clip: Path, photo: Path) -> tuple[float, int]:
    """Media time and index of the clip's first frame holding a face within THRESHOLD of the photo's."""
    import cv2
    import numpy as np
    from footfall.inference.faces.factory import load_face_analyzer

    analyzer = load_face_analyzer()
    try:
        image = cv2.imread(str(photo))
        face = max(analyzer.detect(image), key=lambda f: f.width * f.height)
        enrolled = analyzer.embed(analyzer.align(image, face))
        capture = cv2.VideoCapture(str(clip))
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        index = 0
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    raise SystemExit(f"no frame of {clip} shows the face of {photo}")
                for found in analyzer.detect(frame):
                    vector = analyzer.embed(analyzer.align(frame, found))
                    if float(np.linalg.norm(vector - enrolled)) <= THRESHOLD:
                        return index / fps, index
                index += 1
        finally:
            capture.release()
    finally:
        analyzer.close()


@dataclass
class Arrivals:
    """Wall-clock arrival of each camera's first face crop and first `customer_identified`."""

    crops: dict[str, float] = field(default_factory=dict)
    identified: dict[str, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_message(self, msg: Any) -> None:
        from footfall.v1 import events_pb2

        now = time.time()
        envelope = events_pb2.EventEnvelope()
        envelope.ParseFromString(msg.data)
        if envelope.type == "face_crop":
            crop = events_pb2.FaceCropObserved()
            envelope.payload.Unpack(crop)
            self.crops.setdefault(crop.camera_id, now)
        elif envelope.type == "customer_identified":
            identified = events_pb2.CustomerIdentified()
            envelope.payload.Unpack(identified)
            self.identified.setdefault(identified.camera_id, now)
        self.changed.set()

    async def identified_on(self, camera: str) -> float:
        async with asyncio.timeout(EVENT_DEADLINE_S):
            while camera not in self.identified:
                self.changed.clear()
                await self.changed.wait()
        return self.identified[camera]


async def run(args: argparse.Namespace, db_url: str, nats_url: str, data_dir: Path) -> dict[str, Any]:
    import httpx
    import nats
    from footfall.deploy.platform import Platform
    from footfall.services.core.config import Settings

    shared: Path = args.data
    t0, first_frame = face_entry_s(shared / CLIP, shared / PHOTO)
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=data_dir, database_url=db_url, nats_url=nats_url, nats_stream=f"BENCH{tag.upper()}",
        nats_subject_prefix=f"bench{tag}", grpc_host="127.0.0.1", grpc_port=0, default_org=f"bench-{tag}",
        admin_username="root", admin_password=PASSWORD, admin_email="root@example.com", rate_limit_enabled=False,
        media_roots=[shared / EXAMPLES], jwt_secret=secrets.token_urlsafe(48),
    )
    platform = Platform(settings)
    await platform.start()
    arrivals = Arrivals()
    bus = await nats.connect(nats_url)
    runs: list[dict[str, float]] = []
    try:
        await bus.subscribe(f"{settings.nats_subject_prefix}.*.vision.face_crop", cb=arrivals.on_message)
        await bus.subscribe(f"{settings.nats_subject_prefix}.*.identity.customer_identified", cb=arrivals.on_message)
        transport = httpx.ASGITransport(app=platform.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as http:
            r = await http.post("/admin/login", json={"username": "root", "password": PASSWORD})
            r.raise_for_status()
            http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            photo = base64.b64encode((shared / PHOTO).read_bytes()).decode("ascii")
            r = await http.post("/register", json={"name": "Lin-Manuel Miranda", "face_image_b64": photo,
                                                   "consent": {"method": "kiosk", "purpose": "benchmark"}})
            r.raise_for_status()
            for i in range(args.runs):
                camera = f"BENCH-{i}-{uuid.uuid4().hex[:4]}"
                r = await http.post("/api/occupancy/cameras", json={
                    "camera_id": camera, "camera_name": camera, "location": "bench", "camera_type": "entry_only",
                    "max_occupancy": 50, "resolution_width": 640, "resolution_height": 360})
                r.raise_for_status()
                started = time.time()
                await _gql(http, "mutation($c: ID!, $p: String!) { startStream(input: {cameraId: $c, path: $p, "
                                 "realtime: true}) { sessionId } }", {"c": camera, "p": str(shared / CLIP)})
                try:
                    identified = await arrivals.identified_on(camera)
                finally:
                    await _gql(http, "mutation($c: ID!) { stopStream(cameraId: $c) { status } }", {"c": camera})
                entered = started + t0
                crop = arrivals.crops.get(camera, identified)
                runs.append({"total_s": identified - entered, "to_crop_s": crop - entered,
                             "identify_s": identified - crop})
                print(f"run {i + 1}: total {runs[-1]['total_s']:.3f} s (vision {runs[-1]['to_crop_s']:.3f} s, "
                      f"identity {runs[-1]['identify_s']:.3f} s)", flush=True)
    finally:
        await bus.close()
        await platform.stop()
    warm = runs[1:] or runs  # the first stream also loads vision's models: reported, not summarised
    summary = {key: {"p50_s": round(statistics.median(r[key] for r in warm), 3),
                     "max_s": round(max(r[key] for r in warm), 3)} for key in ("total_s", "to_crop_s", "identify_s")}
    return {"face_enters_at_s": round(t0, 3), "face_enters_at_frame": first_frame, "runs": len(runs),
            "summarised_runs": len(warm), "per_run": [{k: round(v, 3) for k, v in r.items()} for r in runs],
            "summary": summary}


async def _gql(http: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = await http.post("/graphql", json={"query": query, "variables": variables})
    body = r.json()
    if r.status_code != 200 or body.get("errors"):
        raise SystemExit(f"GraphQL failed: {r.text}")
    return body["data"]  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=4, help="streams, one after another (the first is cold)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("FOOTFALL_TEST_DATA") or SHARED),
                        help="the shared data (default: FOOTFALL_TEST_DATA or ../shared/data)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not (args.data / CLIP).is_file():
        parser.error("the shared data with the Hamilton clip was not found: pass --data")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    logging.basicConfig(level=logging.WARNING)

    from footfall.services.core.embedded import EmbeddedPostgres, NatsServer
    from footfall.services.core.migrations import apply_migrations

    with tempfile.TemporaryDirectory(prefix="fffaceid") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", delete_on_stop=True)
        db_url = pg.start()
        try:
            apply_migrations(db_url)
            with NatsServer(Path(tmp) / "js") as nats_server:
                results = asyncio.run(run(args, db_url, nats_server.url, Path(tmp) / "data"))
        finally:
            with contextlib.suppress(Exception):
                pg.stop()
    s = results["summary"]
    print(f"face enters at {results['face_enters_at_s']} s (frame {results['face_enters_at_frame']}); "
          f"{results['runs']} real-time streams, the last {results['summarised_runs']} summarised")
    print(f"{'':<26}{'p50':>8}{'max':>8}  (s)")
    for name, key in (("entry -> identified", "total_s"), ("  entry -> face crop", "to_crop_s"),
                      ("  face crop -> identified", "identify_s")):
        print(f"{name:<26}{s[key]['p50_s']:>8}{s[key]['max_s']:>8}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
