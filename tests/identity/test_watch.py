"""`WatchPersons`: new persons of the caller's organisation, live, from real NATS through the gRPC stream.

A watcher's subscription is known to be in place once a probe published after the call started reaches it;
probes carry their own camera key (or known person ids) so the assertions can tell them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
from footfall.v1 import common_pb2, events_pb2, identity_pb2

from tests.conftest import unique_org
from tests.identity.conftest import Stack

PROBE_CAMERA = "PROBE"


class Watcher:
    """One `WatchPersons` call read in the background into a queue."""

    def __init__(self, stack: Stack, org: str, camera_id: str = "") -> None:
        self.call = stack.identity.WatchPersons(
            identity_pb2.WatchPersonsRequest(camera_id=camera_id), metadata=stack.md(org, "analyst")
        )
        self.queue: asyncio.Queue[events_pb2.PersonJoined] = asyncio.Queue()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for reply in self.call:
            self.queue.put_nowait(reply.person)

    async def next(self, timeout: float = 15.0) -> events_pb2.PersonJoined:
        get = asyncio.ensure_future(self.queue.get())
        done, _ = await asyncio.wait({get, self.task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if get not in done:
            get.cancel()
            if self.task in done:
                self.task.result()  # the stream failed: raise its error
            raise AssertionError("no person arrived")
        return get.result()

    async def ready(self, probe: Callable[[int], Awaitable[object]]) -> None:
        """Probe until one probe arrives: the subscription is in place from then on."""
        for attempt in range(200):
            await probe(attempt)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.get(), 0.1)
                return
        raise AssertionError("the watch never started")

    async def next_real(self, probes: set[str] | None = None) -> events_pb2.PersonJoined:
        """The next person that is not a probe (probes still in flight are skipped)."""
        while True:
            person = await self.next()
            if person.camera_id != PROBE_CAMERA and person.person_id not in (probes or set()):
                return person

    async def close(self) -> None:
        self.call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def watching(stack: Stack, org: str, camera_id: str = "") -> AsyncIterator[Watcher]:
    watcher = Watcher(stack, org, camera_id)
    try:
        yield watcher
    finally:
        await watcher.close()


async def publish_joined(stack: Stack, org: str, person_id: str, camera_id: str, **fields: object) -> None:
    """A `person_joined` event as the identity service publishes it (durably, on JetStream)."""
    joined = events_pb2.PersonJoined(person_id=person_id, camera_id=camera_id, **fields)  # type: ignore[arg-type]
    joined.occurred_at.GetCurrentTime()
    await stack.bus.emit(org, "identity", "person_joined", joined)


async def test_a_watcher_receives_its_organisations_new_persons_and_never_another_organisations(
    stack: Stack,
) -> None:
    org_a, org_b = unique_org("watcha"), unique_org("watchb")
    async with watching(stack, org_a) as watch_a, watching(stack, org_b) as watch_b:
        await watch_a.ready(lambda n: publish_joined(stack, org_a, f"probe-{n}", PROBE_CAMERA))
        await watch_b.ready(lambda n: publish_joined(stack, org_b, f"probe-{n}", PROBE_CAMERA))

        person_id = str(uuid.uuid4())
        await publish_joined(
            stack,
            org_a,
            person_id,
            "GATE_A",
            full_name="Ada Lovelace",
            age=36,
            gender="Female",
            emotion="Happy",
            body_type="Slim",
            customer_id=7,
        )
        got = await watch_a.next_real()
        assert (
            got.person_id,
            got.full_name,
            got.age,
            got.gender,
            got.emotion,
            got.body_type,
            got.camera_id,
            got.customer_id,
        ) == (person_id, "Ada Lovelace", 36, "Female", "Happy", "Slim", "GATE_A", 7)
        assert got.HasField("occurred_at")

        # B's stream is ordered: a marker published after A's person arrives with nothing of A before it
        marker = str(uuid.uuid4())
        await publish_joined(stack, org_b, marker, "GATE_B")
        assert (await watch_b.next_real()).person_id == marker


def _person_watches(stack: Stack, org: str) -> int:
    """Server-side watches of ``org`` now running: each holds one core-NATS subscription to its person_joined
    subject (counted per org: another test's watch may still be unwinding)."""
    subs = stack.bus.nc._subs.values()  # the service's own connection: nothing public counts them
    return sum(1 for s in subs if s.subject.endswith(f".{org}.identity.person_joined"))


async def test_a_closed_watch_ends_its_nats_subscription(stack: Stack) -> None:
    org = unique_org("watchend")
    before = _person_watches(stack, org)
    async with watching(stack, org) as watch:
        await watch.ready(lambda n: publish_joined(stack, org, f"probe-{n}", PROBE_CAMERA))
        assert _person_watches(stack, org) == before + 1
    deadline = asyncio.get_running_loop().time() + 10
    while _person_watches(stack, org) > before:
        assert asyncio.get_running_loop().time() < deadline, "the subscription outlived the call"
        await asyncio.sleep(0.02)


async def test_persons_the_service_starts_reach_watchers_of_their_camera(stack: Stack) -> None:
    org = unique_org("watchcam")
    probes: set[str] = set()

    async def track(camera: str, object_id: str) -> str:
        objects = [identity_pb2.TrackedObjectUpdate(object_id=object_id, position=common_pb2.Point(x=5, y=5))]
        reply = await stack.identity.Track(
            identity_pb2.TrackRequest(camera_id=camera, objects=objects), metadata=stack.md(org)
        )
        return reply.person_ids[0]

    async def probe(n: int) -> None:
        probes.add(await track("CAM_Y", f"probe-{n}"))

    async with watching(stack, org, camera_id="CAM_Y") as watch:
        await watch.ready(probe)
        await track("CAM_X", "elsewhere")
        wanted = await track("CAM_Y", "visitor")
        got = await watch.next_real(probes)
        assert got.person_id == wanted and got.camera_id == "CAM_Y"


async def test_watching_needs_a_credential(stack: Stack) -> None:
    call = stack.identity.WatchPersons(
        identity_pb2.WatchPersonsRequest(), metadata=(("x-footfall-org", "x"),)
    )
    try:
        await call.read()
        raise AssertionError("an anonymous watch was served")
    except grpc.aio.AioRpcError as err:
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
