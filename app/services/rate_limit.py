"""One rate-limit mechanism for the whole service: sliding-window counters in memory, or in Redis
when REDIS_URL is set so that every worker shares the same counters.

A sliding-window counter keeps two numbers per key (this window and the previous one, weighted
by how much of it still overlaps): O(1) per request whatever the limit, where a moving window
would keep a timestamp per request.
"""

import logging
import time

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from app.services.errors import TooManyRequests

logger = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, redis_url: str | None = None, *, key_prefix: str = "mc-rate") -> None:
        storage: Storage
        if redis_url:
            storage = RedisStorage(
                f"async+{redis_url}", implementation="redispy", key_prefix=key_prefix
            )
        else:
            storage = MemoryStorage()
        self.storage = storage
        self._strategy = SlidingWindowCounterRateLimiter(storage)

    async def hit(self, limit: str, *identifiers: str) -> None:
        """Count one request against `limit` for these identifiers; raise when it is over."""
        item = parse(limit)  # `10/minute`: the `limits` notation
        try:
            allowed = await self._strategy.hit(item, *identifiers)
            if allowed:
                return
            window = await self._strategy.get_window_stats(item, *identifiers)
        except Exception:
            # Failing open: an unreachable Redis must not take the whole API down with it.
            logger.warning("rate-limit storage unavailable; request allowed", exc_info=True)
            return
        raise TooManyRequests(
            f"Rate limit exceeded: {limit}. Try again later.",
            retry_after_seconds=max(1.0, window.reset_time - time.time()),
        )
