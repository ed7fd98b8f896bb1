"""How many simulations run at once in this process, and who waits for a slot."""

import asyncio
from collections.abc import Callable
from typing import TypeVar

import anyio

from app.services.errors import Unavailable

T = TypeVar("T")


class SimulationSlots:
    """At most `capacity` simulations run at once in this process; a caller waits at most
    `max_wait_seconds` for a slot, then gets 503 with Retry-After: no unbounded queue."""

    def __init__(self, capacity: int, max_wait_seconds: float) -> None:
        self._semaphore = asyncio.Semaphore(capacity)
        self.max_wait_seconds = max_wait_seconds

    async def run(self, function: Callable[..., T], *args: object) -> T:
        if self._semaphore.locked():
            try:
                await asyncio.wait_for(self._semaphore.acquire(), self.max_wait_seconds or 1e-9)
            except TimeoutError:
                raise Unavailable(
                    "All simulation slots are busy; retry shortly",
                    retry_after_seconds=max(1.0, self.max_wait_seconds),
                ) from None
        else:
            await self._semaphore.acquire()
        try:
            return await anyio.to_thread.run_sync(function, *args)
        finally:
            self._semaphore.release()
