"""The transactional outbox: tasks queued with the change that asks for them, run by a sender
loop in every worker until done.

- `enqueue` adds a row to the caller's unit of work: a task exists exactly when its change commits.
- Each worker's `OutboxSender` claims one due row at a time with `FOR UPDATE SKIP LOCKED` and
  keeps the lock while the task runs, so no two workers run the same row; a done row is marked
  sent in that same transaction. A task that fails is retried with exponential backoff
  (OUTBOX_POLL_SECONDS doubling up to OUTBOX_RETRY_MAX_SECONDS), for as long as it takes; only a
  `PermanentFailure` (say, a recipient the SMTP server refuses) marks it failed, kept for an
  operator. A crash between an SMTP server's acceptance and the commit re-sends that one email,
  with the same Message-ID: at least once, never twice otherwise.

A task is `async def task(db, settings, payload, message_id)`. The names and JSON payloads are
those a job queue (Procrastinate) would take: moving to one replaces `enqueue` and this loop.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from cryptography.fernet import InvalidToken
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.database import is_unavailable
from app.models import OutboxMessage
from app.security import decrypt, encrypt

logger = logging.getLogger(__name__)

Task = Callable[[AsyncSession, Settings, dict, int], Awaitable[None]]
SENT_RETENTION = timedelta(days=30)
_CLOSE_GRACE_SECONDS = 5.0


def log_background_failure(log: logging.Logger, job: str, error: Exception) -> None:
    """A database outage is expected news (the requests report it with a traceback already):
    one line; anything else comes with its traceback."""
    if is_unavailable(error):
        log.warning("%s: database unavailable (%s)", job, type(error).__name__)
    else:
        log.warning("%s failed", job, exc_info=error)


class TemporaryFailure(Exception):
    """Worth retrying later (a server down or busy); logged without a traceback."""


class PermanentFailure(Exception):
    """Retrying cannot help: the task is marked failed and kept."""


async def enqueue(
    db: AsyncSession,
    *,
    settings: Settings,
    task: str,
    payload: dict,
    dedupe_key: str | None = None,
) -> None:
    """Queue a task in the caller's transaction; with a `dedupe_key` already queued, nothing."""
    statement = insert(OutboxMessage).values(
        task=task,
        payload=encrypt(settings.data_encryption_keys(), json.dumps(payload)),
        dedupe_key=dedupe_key,
    )
    if dedupe_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    await db.execute(statement)


def _due() -> tuple:
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.available_at <= func.now(),
    )


async def prune_sent(db: AsyncSession) -> int:
    """Delete rows sent more than 30 days ago (their dedupe keys have done their job)."""
    cutoff = datetime.now(UTC) - SENT_RETENTION
    result = await db.execute(delete(OutboxMessage).where(OutboxMessage.sent_at < cutoff))
    await db.commit()
    return result.rowcount


class OutboxSender:
    """One worker's loop over due outbox rows; `start` in the lifespan, `close` on the way out."""

    def __init__(
        self, sessionmaker: async_sessionmaker, settings: Settings, tasks: Mapping[str, Task]
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._tasks = tasks
        self._stopping = asyncio.Event()
        self._runner: asyncio.Task | None = None

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="outbox-sender")

    async def close(self) -> None:
        self._stopping.set()
        if self._runner is None:
            return
        # A task still running past the grace period is cancelled: its row stays due.
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._runner, _CLOSE_GRACE_SECONDS)

    async def run_due(self) -> int:
        """Run every task due now, one at a time; returns how many rows were handled."""
        handled = 0
        while not self._stopping.is_set() and await self._run_one():
            handled += 1
        return handled

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_due()
            except Exception as error:
                log_background_failure(logger, "outbox sender", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._settings.OUTBOX_POLL_SECONDS)

    async def _run_one(self) -> bool:
        async with self._sessionmaker() as db, db.begin():
            message = await db.scalar(
                select(OutboxMessage)
                .where(*_due())
                .order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if message is None:
                return False
            try:
                # A savepoint: a task that fails leaves no half of its own writes behind.
                async with db.begin_nested():
                    await self._task_of(message)(
                        db, self._settings, self._payload_of(message), message.id
                    )
            except PermanentFailure as failure:
                self._fail(message, failure)
            except Exception as error:
                if is_unavailable(error):
                    raise  # the database is gone: nothing can be recorded, the row stays due
                self._retry_later(message, error)
            else:
                message.sent_at = datetime.now(UTC)
                message.payload = None
            return True

    def _task_of(self, message: OutboxMessage) -> Task:
        task = self._tasks.get(message.task)
        if task is None:
            raise PermanentFailure(f"unknown task {message.task!r}")
        return task

    def _payload_of(self, message: OutboxMessage) -> dict:
        try:
            return json.loads(decrypt(self._settings.data_encryption_keys(), message.payload or ""))
        except InvalidToken as error:
            raise PermanentFailure("payload not readable with DATA_ENCRYPTION_KEY") from error

    def _fail(self, message: OutboxMessage, failure: Exception) -> None:
        message.attempts += 1
        message.failed_at = datetime.now(UTC)
        message.last_error = str(failure)[:500]
        logger.error(
            "outbox task failed for good",
            extra={"outbox_id": message.id, "task": message.task, "error": message.last_error},
        )

    def _retry_later(self, message: OutboxMessage, error: Exception) -> None:
        message.attempts += 1
        delay = min(
            self._settings.OUTBOX_RETRY_MAX_SECONDS,
            self._settings.OUTBOX_POLL_SECONDS * 2 ** (message.attempts - 1),
        )
        message.available_at = datetime.now(UTC) + timedelta(seconds=delay)
        message.last_error = f"{type(error).__name__}: {error}"[:500]
        logger.warning(
            "outbox task failed; retrying later",
            extra={"outbox_id": message.id, "task": message.task, "retry_in_seconds": delay},
            exc_info=not isinstance(error, TemporaryFailure),
        )
