"""The application's own background tasks (security emails, reset links) on the job queue.

They go through Procrastinate, the queue the simulation jobs use, on the application's
PostgreSQL:

- `defer` queues a task on the caller's SQLAlchemy session, through Procrastinate's external
  connection option (`configure(connection=...)`): the task exists exactly when the change
  that asks for it commits, and a rolled-back change queues nothing.
- Every API process runs a `TaskWorker` on the `EMAIL_QUEUE` queue. Procrastinate hands each
  job to one worker at a time, retries a failed one (`UntilPermanent`: doubling waits up to
  EMAIL_RETRY_MAX_SECONDS, for as long as it takes; a `PermanentFailure` fails it for good, kept
  for an operator), and puts back the job of a worker that died (its heartbeat stops).
"""

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import procrastinate
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.database import is_unavailable
from app.services.job_queue import conninfo

logger = logging.getLogger(__name__)

Task = Callable[..., Awaitable[None]]
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_STOP_GRACE_SECONDS = 5.0


class TemporaryFailure(Exception):
    """Worth retrying later (a server down or busy)."""


class PermanentFailure(Exception):
    """Retrying cannot help: the job is failed and kept."""


def log_background_failure(log: logging.Logger, job: str, error: Exception) -> None:
    """A database outage is expected news (the requests report it with a traceback already):
    one line; anything else comes with its traceback."""
    if is_unavailable(error):
        log.warning("%s: database unavailable (%s)", job, type(error).__name__)
    else:
        log.warning("%s failed", job, exc_info=error)


class SessionConnector(procrastinate.PsycopgConnector):
    """Procrastinate's psycopg connector (the worker's pool), which also runs the queries of
    `configure(connection=session)` on an SQLAlchemy `AsyncSession`: in its transaction."""

    async def execute_query_all_async_with_connection(
        self, connection: Any, query: str, **arguments: Any
    ) -> list[dict[str, Any]]:
        if not isinstance(connection, AsyncSession):
            return await super().execute_query_all_async_with_connection(
                connection, query, **arguments
            )
        names: list[str] = []

        def numbered(match: re.Match) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        statement = _PLACEHOLDER.sub(numbered, query)
        values = tuple(_driver_value(arguments[name]) for name in names)
        sql_connection = await connection.connection()
        result = await sql_connection.exec_driver_sql(statement, values)
        return [dict(row) for row in result.mappings()]


def _driver_value(value: Any) -> Any:
    """asyncpg's form of a Procrastinate argument: jobs to defer as composite rows, JSON as text."""
    if isinstance(value, list):
        return [_driver_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_driver_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return value


_deferrer = procrastinate.App(connector=SessionConnector())


async def defer(db: AsyncSession, *, settings: Settings, task: str, **arguments: Any) -> int:
    """Queue `task(**arguments)` on EMAIL_QUEUE in `db`'s transaction; returns the job's id."""
    deferrer = _deferrer.configure_task(task, queue=settings.EMAIL_QUEUE, connection=db)
    return await deferrer.defer_async(**arguments)


class UntilPermanent(BaseRetryStrategy):
    """Retry every failure but a `PermanentFailure`, waiting EMAIL_POLL_SECONDS doubling up to
    EMAIL_RETRY_MAX_SECONDS."""

    def __init__(self, first_seconds: float, max_seconds: float) -> None:
        self.first_seconds = first_seconds
        self.max_seconds = max_seconds

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, PermanentFailure):
            return None
        delay = min(self.max_seconds, self.first_seconds * 2 ** min(job.attempts, 30))
        return RetryDecision(retry_in={"seconds": delay})


class TaskWorker:
    """One process's Procrastinate worker on EMAIL_QUEUE, as a background task of the lifespan:
    `start`, then `close` (it finishes the job it runs, up to 5 s). Restarted after a failure
    (the database down), so a process that starts without a database sends once it is back."""

    def __init__(self, settings: Settings, tasks: Mapping[str, Task]) -> None:
        self._settings = settings
        self.app = procrastinate.App(
            connector=SessionConnector(
                conninfo=conninfo(settings),
                min_size=1,
                max_size=3,
                kwargs={"connect_timeout": max(1, round(settings.DB_CONNECT_TIMEOUT_SECONDS))},
            )
        )
        retry = UntilPermanent(settings.EMAIL_POLL_SECONDS, settings.EMAIL_RETRY_MAX_SECONDS)
        for name, task in tasks.items():
            self.app.task(name=name, queue=settings.EMAIL_QUEUE, retry=retry)(task)
        self._runner: asyncio.Task | None = None

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="task-worker")

    async def close(self) -> None:
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        runner.cancel()
        # The worker finishes its jobs (up to 5 s) and signs off in the database; a database
        # that does not answer (frozen) must not hold up the shutdown for ever.
        done, _ = await asyncio.wait({runner}, timeout=_STOP_GRACE_SECONDS + 5.0)
        if not done:
            logger.warning("task worker did not stop in time; leaving it")
            return
        with contextlib.suppress(asyncio.CancelledError, Exception):
            runner.result()

    async def _run(self) -> None:
        while True:
            try:
                async with self.app.open_async():
                    await self.app.run_worker_async(
                        queues=[self._settings.EMAIL_QUEUE],
                        name="tasks",
                        concurrency=2,
                        fetch_job_polling_interval=self._settings.EMAIL_POLL_SECONDS,
                        abort_job_polling_interval=self._settings.EMAIL_POLL_SECONDS,
                        shutdown_graceful_timeout=_STOP_GRACE_SECONDS,
                        delete_jobs="successful",  # a sent email's payload is gone at once
                        install_signal_handlers=False,
                    )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log_background_failure(logger, "task worker", error)
            await asyncio.sleep(max(1.0, self._settings.EMAIL_POLL_SECONDS))
