"""Requests caught by a frozen PostgreSQL give their connections back: none stays checked out
waiting on the server, and the pool serves again once the server is thawed, or killed and
restarted, without a connection or a transaction left behind."""

import asyncio
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import to_asyncpg_url
from app.database import Database
from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import AppClient, ClientFactory
from tests.faults.services import ThrowawayPostgres

POOL = {"DB_POOL_SIZE": 2, "DB_MAX_OVERFLOW": 2}
TIMEOUTS = {
    "DB_CONNECT_TIMEOUT_SECONDS": 1,
    "DB_POOL_TIMEOUT_SECONDS": 1,
    "DB_STATEMENT_TIMEOUT_SECONDS": 1,
}
CONCURRENT = 12  # three times what the pool can hand out


async def eventually(condition: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def statuses(client: AppClient, headers: dict) -> list[int]:
    """Statuses of CONCURRENT requests at once: API-key lookups, and health checks (cut short by
    their own timeout, the way a cancelled request is)."""
    requests = [client.get("/api/v1/api-key", headers=headers) for _ in range(CONCURRENT - 2)]
    requests += [client.get("/health") for _ in range(2)]
    answers = await asyncio.wait_for(asyncio.gather(*requests), timeout=30)
    return [answer.status_code for answer in answers]


async def open_transactions(server: ThrowawayPostgres) -> list[str]:
    """The states of the other sessions of the server that hold a transaction open."""
    engine = create_async_engine(to_asyncpg_url(server.url))
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT state FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
        )
        states = [row.state for row in rows]
    await engine.dispose()
    return states


@pytest.mark.parametrize("ending", ["thawed", "killed and restarted"])
async def test_a_frozen_database_leaves_no_connection_checked_out(
    fault_client_factory: ClientFactory, own_postgres: ThrowawayPostgres, ending: str
) -> None:
    client = await fault_client_factory(**POOL, **TIMEOUTS)
    _, keys = await keys_of_new_user(client, 1)
    headers = {"X-API-Key": keys[0]["key"]}
    pool = client.app.state.database.engine.pool
    assert await statuses(client, headers) == [200] * CONCURRENT

    own_postgres.freeze()
    assert await statuses(client, headers) == [503] * CONCURRENT
    # Still frozen: every request has answered, and none left its connection waiting on it.
    assert await eventually(lambda: pool.checkedout() == 0, within=5), pool.status()

    if ending == "thawed":
        own_postgres.thaw()
    else:
        own_postgres.kill()
        own_postgres.start()
    # The pool drops what the outage broke and serves the full load again.
    recovered = False
    for _ in range(30):
        if set(await statuses(client, headers)) == {200}:
            recovered = True
            break
        await asyncio.sleep(0.5)
    assert recovered, pool.status()
    await client.flush_call_logs()
    assert pool.checkedout() == 0, pool.status()
    assert await open_transactions(own_postgres) == []


async def test_a_session_ending_on_a_frozen_database_drops_its_connection_quietly(
    own_postgres: ThrowawayPostgres,
) -> None:
    """A request's session ends after its response is sent: a freeze caught there must neither
    raise (the ASGI server would cut the client's keep-alive connection) nor keep the connection."""
    database = Database(
        to_asyncpg_url(own_postgres.url),
        pool_size=1,
        max_overflow=0,
        connect_timeout_seconds=1,
        pool_timeout_seconds=1,
        statement_timeout_seconds=1,
    )
    try:
        async with database.session() as session:
            assert await session.scalar(text("SELECT 1")) == 1  # a transaction is open
            own_postgres.freeze()
            ending = time.perf_counter()
        assert time.perf_counter() - ending < 5  # the statement timeout, then the driver's
        assert database.engine.pool.checkedout() == 0

        own_postgres.thaw()
        async with database.session() as session:  # the pool's one connection, made anew
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        own_postgres.thaw()
        await database.dispose()


async def test_a_frozen_database_does_not_hold_up_the_email_workers_stop(
    fault_client_factory: ClientFactory, own_postgres: ThrowawayPostgres
) -> None:
    client = await fault_client_factory(**TIMEOUTS, EMAIL_POLL_SECONDS=0.1)
    database = create_async_engine(to_asyncpg_url(own_postgres.url))
    try:

        async def registered() -> int:
            async with database.connect() as connection:
                return await connection.scalar(text("SELECT count(*) FROM procrastinate_workers"))

        deadline = time.monotonic() + 20
        while not await registered():  # the worker is up and signed in
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
    finally:
        await database.dispose()
    own_postgres.freeze()
    try:
        started = time.monotonic()
        # Without a bound, its sign-off query would wait on the frozen server for ever.
        await asyncio.wait_for(client.app.state.task_worker.close(), 60)
        assert time.monotonic() - started < 15
    finally:
        own_postgres.thaw()
