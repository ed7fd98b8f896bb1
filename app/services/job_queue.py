"""The job queue: Procrastinate on the application's PostgreSQL.

Procrastinate keeps each queued run as a row (`procrastinate_jobs`), hands it to one worker at a
time (LISTEN/NOTIFY, no polling delay), records worker heartbeats, retries, and carries
cancellation to the running task. The API defers and cancels; `app.services.job_worker` runs.
"""

import asyncio
import logging

import procrastinate
from procrastinate.exceptions import ConnectorException

from app.config import Settings
from app.database import resolve_database_url
from app.services.errors import Unavailable

logger = logging.getLogger(__name__)

QUEUE = "simulations"
RUN_JOB = "run_simulation_job"


def conninfo(settings: Settings) -> str:
    """A libpq URL of the application's database (Procrastinate speaks psycopg, not asyncpg)."""
    url = resolve_database_url(settings)
    return "postgresql://" + url.partition("://")[2]


def build_app(settings: Settings, *, max_connections: int = 4) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(settings),
        min_size=1,
        max_size=max_connections,
        kwargs={"connect_timeout": max(1, round(settings.DB_CONNECT_TIMEOUT_SECONDS))},
    )
    return procrastinate.App(connector=connector)


class JobQueue:
    """What the API does with the queue: put a job on it, and cancel one."""

    def __init__(self, settings: Settings) -> None:
        self.app = build_app(settings)
        self._opening = asyncio.Lock()
        self._open = False

    async def _ready(self) -> procrastinate.App:
        """The queue's connection pool, opened on first use (most requests never need it)."""
        async with self._opening:
            if not self._open:
                await self.app.open_async()
                self._open = True
        return self.app

    async def close(self) -> None:
        if self._open:
            await self.app.close_async()
            self._open = False

    async def enqueue(self, job_id: str) -> int:
        """Queue the run of `job_id`; return the queue's id for it."""
        try:
            # The lock keeps one run of a job at a time, whoever retries it.
            app = await self._ready()
            deferrer = app.configure_task(RUN_JOB, queue=QUEUE, lock=job_id)
            return await deferrer.defer_async(job_id=job_id)
        except (ConnectorException, OSError) as error:
            logger.warning("job queue unavailable: %s", error)
            raise Unavailable(
                "The job queue is unavailable; retry shortly", retry_after_seconds=2
            ) from None

    async def cancel(self, queue_job_id: int) -> None:
        """Cancel a queued run, or ask the worker running it to abort (it stops within 2 s)."""
        try:
            app = await self._ready()
            await app.job_manager.cancel_job_by_id_async(queue_job_id, abort=True)
        except (ConnectorException, OSError) as error:
            # The job row already says cancelled: the worker checks it before it saves anything.
            logger.warning("could not reach the job queue to abort job %s: %s", queue_job_id, error)
