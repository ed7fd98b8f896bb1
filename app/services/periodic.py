"""Jobs every worker runs on a schedule. Each is idempotent, so running it in several workers,
or twice, changes nothing: no leader election needed."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import Settings
from app.services import expiry_notices, login_guard, outbox
from app.services.outbox import log_background_failure

logger = logging.getLogger(__name__)


async def daily_jobs(sessionmaker: async_sessionmaker, settings: Settings) -> None:
    """Queue API-key expiry notices; prune sent emails and stale failed sign-ins."""
    async with sessionmaker() as db:
        await expiry_notices.queue_expiry_notices(db, settings=settings)
        await outbox.prune_sent(db)
        await login_guard.forget_stale_failures(db, settings=settings)


class Periodic:
    """Runs `job` at start, then every `interval_seconds`, until closed. A failed run is logged
    and the next one comes at the next tick."""

    def __init__(self, name: str, interval_seconds: float, job: Callable[[], Awaitable[None]]):
        self._name = name
        self._interval = interval_seconds
        self._job = job
        self._stopping = asyncio.Event()
        self._runner: asyncio.Task | None = None

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name=self._name)

    async def close(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._job()
            except Exception as error:
                log_background_failure(logger, self._name, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
