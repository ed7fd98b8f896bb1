"""What every worker runs besides requests: a task worker (security emails) and jobs on a
schedule. Each scheduled job is idempotent, so running it in several workers, or twice, changes
nothing: no leader election."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import Settings
from app.database import Database
from app.services import (
    emails,
    expiry_notices,
    login_guard,
    passwords,
    saved_simulations,
    two_factor,
)
from app.services.task_queue import TaskWorker, log_background_failure
from app.services.tasks import background_tasks

logger = logging.getLogger(__name__)


async def daily_jobs(sessionmaker: async_sessionmaker, settings: Settings) -> None:
    """Queue API-key expiry notices; prune sent emails, stale failed sign-ins, expired
    challenges and reset links."""
    async with sessionmaker() as db:
        await expiry_notices.queue_expiry_notices(db, settings=settings)
        await emails.prune_sent(db)
        await login_guard.forget_stale_failures(db, settings=settings)
        await two_factor.forget_expired_challenges(db)
        await passwords.forget_expired_tokens(db)


PURGE_INTERVAL_SECONDS = 3600.0


async def hourly_jobs(sessionmaker: async_sessionmaker, settings: Settings) -> None:
    """Purge saved simulations past SIMULATION_RETENTION_DAYS."""
    async with sessionmaker() as db:
        await saved_simulations.purge_expired(db, retention_days=settings.SIMULATION_RETENTION_DAYS)


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


class BackgroundJobs:
    """One worker's task worker and scheduled jobs, on pools of their own (the task worker's
    psycopg pool, two SQLAlchemy connections): they never wait behind requests for a
    connection, nor take one a request needs."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = Database(
            database.engine.url.render_as_string(hide_password=False),
            pool_size=1,
            max_overflow=1,
            connect_timeout_seconds=settings.DB_CONNECT_TIMEOUT_SECONDS,
            pool_timeout_seconds=settings.DB_POOL_TIMEOUT_SECONDS,
            statement_timeout_seconds=settings.DB_STATEMENT_TIMEOUT_SECONDS,
        )
        sessionmaker = self.database.sessionmaker
        self.task_worker = TaskWorker(settings, background_tasks(sessionmaker, settings))
        self._daily = Periodic(
            "daily-jobs",
            settings.EXPIRY_NOTICE_INTERVAL_SECONDS,
            lambda: daily_jobs(sessionmaker, settings),
        )
        self._hourly = Periodic(
            "hourly-jobs", PURGE_INTERVAL_SECONDS, lambda: hourly_jobs(sessionmaker, settings)
        )
        if settings.is_production and not settings.SMTP_HOST:
            logger.warning("SMTP_HOST is unset: security emails are logged, not sent")

    def start(self) -> None:
        self.task_worker.start()
        self._daily.start()
        self._hourly.start()

    async def close(self) -> None:
        await self._daily.close()
        await self._hourly.close()
        await self.task_worker.close()
        await self.database.dispose()
