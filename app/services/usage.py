"""API usage: the call log writer (batched, off the request path) and the analytics queries."""

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Integer, and_, case, cast, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.database import is_unavailable
from app.models import ApiCallLog, ApiKey, User
from app.observability import metrics
from app.schemas.usage import Granularity
from app.services.usage_series import usage_series

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiCall:
    """One /api/v1 request. Without `api_key_id`, the key is resolved from `presented_key_hash`
    at write time (requests refused before authentication ran, e.g. a body that is not JSON)."""

    endpoint: str
    method: str
    status_code: int
    execution_time_ms: float
    created_at: datetime
    api_key_id: int | None = None
    user_id: int | None = None
    presented_key_hash: str | None = None


class CallLogWriter:
    """Collects API calls and writes them in batches, so responses never wait for the insert.

    While the database is unreachable the rows wait (up to MAX_PENDING) and are retried with a
    growing pause; a row the database refuses is dropped alone, never with its batch.
    `flush()` writes everything collected so far; `close()` (at shutdown) writes the rest.
    """

    MAX_PENDING = 100_000
    QUIET_SECONDS = 0.05  # let a burst accumulate into one insert
    MAX_RETRY_SECONDS = 5.0

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, batch_size: int = 500
    ) -> None:
        self._sessionmaker = sessionmaker
        self._batch_size = batch_size
        self._pending: list[ApiCall] = []
        self._arrived = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._pause = self.QUIET_SECONDS
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="call-log-writer")

    @property
    def pending(self) -> int:
        """Calls recorded and not yet written."""
        return len(self._pending)

    def record(self, call: ApiCall) -> None:
        if len(self._pending) >= self.MAX_PENDING:
            logger.error("API call log backlog full: dropped the oldest row")
            metrics.CALL_LOG_DROPPED.labels("backlog_full").inc()
            del self._pending[0]
        self._pending.append(call)
        metrics.CALL_LOG_PENDING.set(len(self._pending))
        self._arrived.set()

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            await asyncio.sleep(self._pause)
            await self.flush()

    async def flush(self) -> None:
        """Write what is pending; stop early (rows kept) if the database cannot be reached."""
        async with self._write_lock:
            self._arrived.clear()
            while self._pending:
                batch = self._pending[: self._batch_size]
                del self._pending[: self._batch_size]
                unwritten = await self._write(batch)
                if unwritten:
                    self._pending[:0] = unwritten
                    self._pause = min(self._pause * 2, self.MAX_RETRY_SECONDS)
                    self._arrived.set()
                    break
            else:
                self._pause = self.QUIET_SECONDS
            metrics.CALL_LOG_PENDING.set(len(self._pending))

    async def _write(self, batch: list[ApiCall]) -> list[ApiCall]:
        """Insert what the database accepts; return the calls to retry when it is unreachable."""
        try:
            async with self._sessionmaker() as db:
                # No BEGIN / COMMIT round trips: the batch is one INSERT, atomic by itself
                # (asyncpg's executemany), and the key lookup before it only reads.
                await db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                rows = await _resolve_keys(db, batch)
                if rows:
                    await db.execute(insert(ApiCallLog), rows)
            return []
        except Exception as error:
            metrics.CALL_LOG_FLUSH_FAILURES.inc()
            # A timeout or a dropped connection says nothing about the rows, even when the
            # database answers again by now (a thawed server catching up): keep them all.
            if is_unavailable(error) or not await self._database_answers():
                logger.warning("database unreachable: %d API call logs kept", len(batch))
                return batch
            if len(batch) == 1:
                logger.exception("the database refused an API call log; dropped: %s", batch[0])
                metrics.CALL_LOG_DROPPED.labels("refused").inc()
                return []
        middle = len(batch) // 2  # the database answers, so a row is bad: find it by halves
        unwritten = await self._write(batch[:middle])
        return unwritten + batch[middle:] if unwritten else await self._write(batch[middle:])

    async def _database_answers(self) -> bool:
        try:
            async with self._sessionmaker() as db:
                await db.execute(select(literal(1)))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        if self._task is not None:
            async with self._write_lock:  # never cancel a batch halfway through its insert
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
        if self._pending:
            logger.error(
                "shutdown with the database unreachable: %d API call logs lost", len(self._pending)
            )
            metrics.CALL_LOG_DROPPED.labels("shutdown").inc(len(self._pending))


async def _resolve_keys(db: AsyncSession, batch: list[ApiCall]) -> list[dict]:
    unresolved = {c.presented_key_hash for c in batch if c.api_key_id is None}
    owners: dict[str, tuple[int, int]] = {}
    if unresolved:
        found = await db.execute(
            select(ApiKey.key_hash, ApiKey.id, ApiKey.user_id)
            .join(User, User.id == ApiKey.user_id)
            .where(
                ApiKey.key_hash.in_(unresolved),
                ApiKey.status == "active",
                ApiKey.expires_at > func.now(),
                User.status == "active",
            )
        )
        owners = {key_hash: (key_id, user_id) for key_hash, key_id, user_id in found}
    rows = []
    for call in batch:
        if call.api_key_id is None:
            if call.presented_key_hash not in owners:
                continue  # no valid key was presented: not a billable call
            call_fields = asdict(call) | dict(
                zip(("api_key_id", "user_id"), owners[call.presented_key_hash], strict=True)
            )
        else:
            call_fields = asdict(call)
        call_fields.pop("presented_key_hash")
        rows.append(call_fields)
    return rows


async def usage_report(
    db: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    granularity: Granularity = "day",
    user_id: int | None = None,
) -> dict:
    """Calls per user; per endpoint the average execution time and the error rate; and the
    series per period (calls, errors, mean time, simulations and their paths)."""
    window = and_(ApiCallLog.created_at >= since, ApiCallLog.created_at < until)
    if user_id is not None:
        window = and_(window, ApiCallLog.user_id == user_id)
    is_error = case((ApiCallLog.status_code >= 400, 1), else_=0)

    per_user = await db.execute(
        select(User.id, User.email, func.count(ApiCallLog.id).label("total_calls"))
        .join(ApiCallLog, ApiCallLog.user_id == User.id)
        .where(window)
        .group_by(User.id, User.email)
        .order_by(func.count(ApiCallLog.id).desc(), User.id)
    )
    per_endpoint = await db.execute(
        select(
            ApiCallLog.endpoint,
            func.count().label("total_calls"),
            func.avg(ApiCallLog.execution_time_ms).label("avg_time_ms"),
            cast(func.sum(is_error), Integer).label("errors"),
        )
        .where(window)
        .group_by(ApiCallLog.endpoint)
        .order_by(func.avg(ApiCallLog.execution_time_ms).desc())
    )
    series = await usage_series(
        db, since=since, until=until, granularity=granularity, user_id=user_id
    )
    return {
        "since": since,
        "until": until,
        "granularity": granularity,
        "series": series,
        "calls_per_user": [
            {"user_id": uid, "email": email, "total_calls": total} for uid, email, total in per_user
        ],
        "endpoints": [
            {
                "endpoint": endpoint,
                "total_calls": total,
                "avg_execution_time_ms": round(float(avg), 3),
                "errors": errors,
                "error_rate_pct": round(100.0 * errors / total, 2),
            }
            for endpoint, total, avg, errors in per_endpoint
        ],
    }
