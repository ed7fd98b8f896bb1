"""Fixtures of the fault tests: a PostgreSQL and a Redis of their own, which tests stop and freeze,
and apps wired to them. Each test starts with both running and the database empty."""

from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import to_asyncpg_url
from tests.conftest import ClientFactory, app_clients, empty_all_tables, make_settings, run_alembic
from tests.faults.services import ThrowawayPostgres, ThrowawayRedis


@pytest.fixture(scope="session")
def own_postgres_server() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
async def _own_schema(own_postgres_server: ThrowawayPostgres) -> str:
    url = to_asyncpg_url(own_postgres_server.url)
    engine = create_async_engine(url)
    await run_alembic(engine, lambda config: command.upgrade(config, "head"))
    await engine.dispose()
    return url


@pytest.fixture
async def own_postgres(
    own_postgres_server: ThrowawayPostgres, _own_schema: str
) -> ThrowawayPostgres:
    """The fault tests' PostgreSQL, running and emptied."""
    own_postgres_server.ensure_running()
    engine = create_async_engine(_own_schema)
    await empty_all_tables(engine)
    await engine.dispose()
    return own_postgres_server


@pytest.fixture(scope="session")
def own_redis_server() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis(own_redis_server: ThrowawayRedis) -> Iterator[ThrowawayRedis]:
    """The fault tests' Redis (database 0), running and emptied; thawed after the test."""
    own_redis_server.ensure_running()
    redis.Redis.from_url(own_redis_server.url).flushdb()
    yield own_redis_server
    own_redis_server.thaw()


@pytest.fixture
async def fault_client_factory(
    own_postgres: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ClientFactory]:
    """Like `client_factory`, on the fault tests' own PostgreSQL. It is restarted and thawed
    before the apps shut down, so that shutdown never waits on a stopped or frozen server."""
    data_dir = tmp_path_factory.mktemp("fault-data")
    url = to_asyncpg_url(own_postgres.url)
    async with app_clients(lambda **overrides: make_settings(url, data_dir, **overrides)) as build:
        try:
            yield build
        finally:
            own_postgres.ensure_running()
