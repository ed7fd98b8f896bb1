"""How many simulations run at once in this process, who gets the next free slot, and how much
compute one account may ask for per minute.

- At most `capacity` simulations run at once; one account holds at most `per_account` of them, so
  one account's large runs always leave a slot to the others.
- Callers that cannot start wait in one queue per account; a freed slot goes to the waiting
  account running the fewest simulations, and among those to the one served longest ago, not to
  whoever queued first: an account with many requests queued cannot push the others back.
  A caller waits at most `max_wait_seconds`, then gets 503 with Retry-After: no unbounded queue.
- Before it queues, a run is charged to its account's compute budget (path-months per minute,
  in the shared rate limiter: across workers when Redis is set); over it, 429 with Retry-After.
"""

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from typing import TypeVar

import anyio

from app.observability import metrics
from app.services.errors import TooManyRequests, Unavailable
from app.services.rate_limit import RateLimiter, RateLimitExceeded

T = TypeVar("T")


class SimulationSlots:
    def __init__(
        self,
        capacity: int,
        max_wait_seconds: float,
        *,
        per_account: int | None = None,
        limiter: RateLimiter | None = None,
        path_months_per_minute: int | None = None,
        work: str = "simulation",
    ) -> None:
        self.work = work  # named in the 503: "All chart rendering slots you may use are busy"
        self.capacity = capacity
        self.per_account = min(capacity, per_account or max(1, capacity - 1))
        self.max_wait_seconds = max_wait_seconds
        metrics.SLOTS.labels(work).set(capacity)
        self._limiter = limiter
        self._budget = path_months_per_minute
        self._in_use = 0
        self._running: dict[int, int] = {}
        self._served = itertools.count()
        self._last_served: dict[int, int] = {}
        self._waiting: dict[int, deque[asyncio.Future[None]]] = {}

    @property
    def in_use(self) -> int:
        return self._in_use

    async def run(
        self, function: Callable[..., T], *args: object, account: int, path_months: int
    ) -> T:
        """Charge the run to `account`'s budget, wait for a slot, run `function` in a thread."""
        await self._charge(account, path_months)
        await self._acquire(account)
        try:
            with metrics.SLOTS_IN_USE.labels(self.work).track_inprogress():
                return await anyio.to_thread.run_sync(function, *args)
        finally:
            self._release(account)

    async def _charge(self, account: int, path_months: int) -> None:
        if self._limiter is None or not self._budget:
            return
        # A run larger than the whole budget needs an empty window, not a refusal forever.
        cost = min(path_months, self._budget)
        try:
            await self._limiter.hit(f"{self._budget}/minute", "compute", str(account), cost=cost)
        except RateLimitExceeded as exceeded:
            raise TooManyRequests(
                f"Compute budget of {self._budget:,} path-months per minute reached "
                "(num_simulations x 12 x time_horizon_years per run); retry later",
                retry_after_seconds=exceeded.quota.reset_seconds,
            ) from None

    def _may_start(self, account: int) -> bool:
        return self._in_use < self.capacity and self._running.get(account, 0) < self.per_account

    def _take(self, account: int) -> None:
        self._in_use += 1
        self._running[account] = self._running.get(account, 0) + 1
        self._last_served[account] = next(self._served)

    async def _acquire(self, account: int) -> None:
        if account not in self._waiting and self._may_start(account):
            self._take(account)
            return
        granted = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(account, deque()).append(granted)
        try:
            await asyncio.wait_for(asyncio.shield(granted), self.max_wait_seconds or 1e-9)
        except (TimeoutError, asyncio.CancelledError) as stopped:
            if granted.done():  # granted as the wait ended: hand the slot on
                self._release(account)
            else:
                granted.cancel()
                self._forget(account, granted)
            if isinstance(stopped, asyncio.CancelledError):
                raise
            metrics.SLOTS_BUSY.labels(self.work).inc()
            raise Unavailable(
                f"All {self.work} slots you may use are busy; retry shortly",
                retry_after_seconds=max(1.0, self.max_wait_seconds),
            ) from None

    def _forget(self, account: int, granted: asyncio.Future[None]) -> None:
        queue = self._waiting.get(account)
        if queue is not None:
            queue.remove(granted)
            if not queue:
                del self._waiting[account]

    def _release(self, account: int) -> None:
        self._in_use -= 1
        self._running[account] -= 1
        if not self._running[account]:
            del self._running[account]
            if account not in self._waiting:
                del self._last_served[account]  # nothing left to be fair about
        self._grant()

    def _grant(self) -> None:
        """Hand free slots to waiting accounts: fewest running first, then served longest ago."""
        while self._in_use < self.capacity:
            eligible = [account for account in self._waiting if self._may_start(account)]
            if not eligible:
                return
            account = min(
                eligible,
                key=lambda a: (self._running.get(a, 0), self._last_served.get(a, -1)),
            )
            queue = self._waiting[account]
            queue.popleft().set_result(None)
            if not queue:
                del self._waiting[account]
            self._take(account)
