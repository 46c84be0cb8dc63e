"""Per-operation DataLoaders: a nested field (`camera.lines`, `line.camera`) costs one call per distinct key
and level, however often the query repeats it (`cameras { lines { camera { lines ... } } }`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def loader(info: Any, name: str, batch: Callable[[list[K]], Awaitable[Sequence[V | BaseException]]]) -> DataLoader[K, V]:
    """The operation's loader called `name`, made on first use from `batch` (keys -> values, same order).

    Over a websocket the context lives as long as the connection, so there a loader only batches and
    never caches (a later operation must see later data).
    """
    loaders: dict[str, DataLoader[Any, Any]] = info.context.loaders
    found = loaders.get(name)
    if found is None:
        cache = not isinstance(info.context.request, WebSocket)
        found = loaders[name] = DataLoader(load_fn=batch, cache=cache)
    return found
