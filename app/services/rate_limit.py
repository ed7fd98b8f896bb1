"""One rate-limit mechanism for the whole service: sliding-window counters in Redis when REDIS_URL
is set (every worker shares them), otherwise in this worker's memory.

A sliding-window counter keeps two numbers per key (this window and the previous one, weighted
by how much of it still overlaps): O(1) per request whatever the limit, where a moving window
would keep a timestamp per request.

Redis is behind a circuit breaker. A call that fails or takes longer than the socket timeout
opens it: for `open_seconds` every limit is counted in this worker's memory instead (still
enforced, per worker), then one request probes Redis again. A frozen Redis costs the requests
in flight at that moment one socket timeout, never more.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from app.services.errors import TooManyRequests

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quota:
    """Where a caller stands against one limit after a request was counted."""

    limit: int
    remaining: int
    reset_seconds: int  # until the window has room again


class RateLimitExceeded(TooManyRequests):
    def __init__(self, limit: str, quota: Quota) -> None:
        super().__init__(
            f"Rate limit exceeded: {limit}. Try again later.",
            retry_after_seconds=quota.reset_seconds,
        )
        self.quota = quota


class RateLimiter:
    def __init__(
        self,
        redis_url: str | None = None,
        *,
        key_prefix: str = "mc-rate",
        socket_timeout_seconds: float = 0.25,
        open_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._redis: SlidingWindowCounterRateLimiter | None = None
        if redis_url:
            storage = RedisStorage(
                f"async+{redis_url}",
                implementation="redispy",
                key_prefix=key_prefix,
                socket_timeout=socket_timeout_seconds,
                socket_connect_timeout=socket_timeout_seconds,
                # The breaker decides when to try again: no retries hidden inside one call.
                retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]
            )
            self._redis = SlidingWindowCounterRateLimiter(storage)
        self.open_seconds = open_seconds
        self._clock = clock
        self._open_until = 0.0
        self._probing = False

    @property
    def degraded(self) -> bool:
        """True while limits are counted per worker because Redis is unreachable."""
        return self._redis is not None and (self._open_until > self._clock() or self._probing)

    async def check_shared_storage(self) -> bool:
        """Whether the shared counters answer (a health probe); False opens the breaker."""
        if self._redis is None:
            return True
        if self.degraded:
            return False
        try:
            return bool(await self._redis.storage.check())
        except Exception:
            self._open("rate-limit storage unavailable")
            return False

    async def hit(self, limit: str, *identifiers: str, cost: int = 1) -> Quota:
        """Count `cost` against `limit` for these identifiers; raise RateLimitExceeded when over."""
        item = parse(limit)  # `10/minute`: the `limits` notation
        strategy = self._strategy()
        if strategy is self._memory:
            allowed, quota = await self._count(strategy, item, identifiers, cost)
        else:
            try:
                allowed, quota = await self._count(strategy, item, identifiers, cost)
            except Exception:
                self._open("rate-limit storage unavailable; counting in this worker's memory")
                allowed, quota = await self._count(self._memory, item, identifiers, cost)
            else:
                if self._open_until:
                    self._open_until = 0.0
                    logger.warning("rate-limit storage reachable again; counters shared again")
            finally:
                self._probing = False
        if not allowed:
            raise RateLimitExceeded(limit, quota)
        return quota

    def _strategy(self) -> SlidingWindowCounterRateLimiter:
        if self._redis is None or self._probing:
            return self._memory
        if self._open_until > self._clock():
            return self._memory
        if self._open_until:
            self._probing = True  # one request at a time finds out whether Redis is back
        return self._redis

    def _open(self, message: str) -> None:
        self._open_until = self._clock() + self.open_seconds
        logger.warning(message, exc_info=True)

    @staticmethod
    async def _count(
        strategy: SlidingWindowCounterRateLimiter,
        item: RateLimitItem,
        identifiers: tuple[str, ...],
        cost: int,
    ) -> tuple[bool, Quota]:
        allowed = await strategy.hit(item, *identifiers, cost=cost)
        window = await strategy.get_window_stats(item, *identifiers)
        reset = max(1, math.ceil(window.reset_time - time.time()))
        return allowed, Quota(item.amount, max(0, window.remaining), reset)
