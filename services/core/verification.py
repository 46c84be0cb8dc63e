"""Concurrent checks of one credential share one answer: one lookup per credential, not one per connection.

Used by the gateway (every HTTP request and websocket) and by every gRPC server (`AuthInterceptor`), in front of
an authenticator that trusts an answer for a short while.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from footfall.services.core.principal import Principal


class CredentialVerifier(Protocol):
    async def authenticate(self, credential: str) -> Principal: ...


class SharedVerification:
    """A `CredentialVerifier` whose concurrent checks of one credential share one answer.

    Verifiers trust an answer for a short while (revocations reach other processes within it); when it runs
    out, every connection of a busy client asks at the same moment, and a database lookup per connection
    held up all of them (p99 in the hundreds of milliseconds at 50 connections). Here a check that has to wait
    is joined by the ones that come meanwhile. Nothing is cached here: how long an answer is trusted stays
    the verifier's. Other attributes (`forget`, `clear`) are the verifier's.
    """

    def __init__(self, verifier: CredentialVerifier) -> None:
        self.verifier = verifier
        self._pending: dict[str, asyncio.Future[Principal]] = {}
        # A verifier that can say synchronously what it trusts (`held(credential) -> Principal | None`) answers
        # a trusted credential without the shared future's bookkeeping: most requests, at every request.
        self._held: Callable[[str], Principal | None] | None = getattr(verifier, "held", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.verifier, name)

    async def authenticate(self, credential: str) -> Principal:
        if self._held is not None:
            held = self._held(credential)
            if held is not None:
                return held
        while (pending := self._pending.get(credential)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request was cancelled
                # the check it joined was given up by its own request: join the next, or check for this one
        # No task of its own: a check answered from the verifier's cache completes without ever waiting.
        future: asyncio.Future[Principal] = asyncio.get_running_loop().create_future()
        self._pending[credential] = future
        try:
            principal = await self.verifier.authenticate(credential)
        except Exception as err:
            future.set_exception(err)
            future.exception()  # marked as retrieved: nobody may have joined
            raise
        except BaseException:  # cancelled: whoever joined checks for themselves
            future.cancel()
            raise
        else:
            future.set_result(principal)
            return principal
        finally:
            if self._pending.get(credential) is future:
                del self._pending[credential]
