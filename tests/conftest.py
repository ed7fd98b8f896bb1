"""Shared fixtures: a real PostgreSQL, migrated once per session, emptied before each test.

The database is TEST_DATABASE_URL when set (CI points it at the machine's PostgreSQL), otherwise an
embedded PostgreSQL started for this test session in a temporary folder.
"""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.config import PROJECT_ROOT, Settings, to_asyncpg_url
from app.database import start_embedded_postgres
from app.engine import warm_up
from app.main import create_app
from app.models import Base
from tests.mail import Inbox

TEST_JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
TEST_DATA_ENCRYPTION_KEY = "dGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE="


async def ensure_database_exists(url: str) -> None:
    """Create the URL's database on its server if it is missing."""
    target = make_url(url)
    server = target.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    connection = await asyncpg.connect(server)
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", target.database
        )
        if not exists:
            await connection.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await connection.close()


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    return config


async def run_alembic(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    """Run an Alembic command on a connection of `engine` (no nested event loop)."""

    def run(sync_connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        action(config)

    async with engine.begin() as connection:
        await connection.run_sync(run)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return to_asyncpg_url(configured)
    return start_embedded_postgres(tmp_path_factory.mktemp("embedded") / "postgres")


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await ensure_database_exists(database_url)
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await run_alembic(engine, lambda config: command.upgrade(config, "head"))
    yield engine
    await engine.dispose()


async def empty_all_tables(engine: AsyncEngine) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncEngine:
    """The test database, emptied: each test starts from nothing, in any order."""
    await empty_all_tables(engine)
    return engine


@pytest.fixture
async def db(clean_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(clean_engine, expire_on_commit=False) as session:
        yield session


def email_queue() -> str:
    """A job queue of emails for one test's apps: a task worker of another test (still
    stopping, or in a server process) never takes them, whatever its SMTP server or key."""
    return f"emails-{uuid.uuid4().hex[:12]}"


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL_ASYNC": database_url,
        "DATA_DIR": data_dir,
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        "DATA_ENCRYPTION_KEY": TEST_DATA_ENCRYPTION_KEY,
        "BCRYPT_ROUNDS": 4,
        "DB_POOL_SIZE": 5,
        "DB_MAX_OVERFLOW": 10,
        "AUTH_RATE_LIMIT": "10000/minute",
        "LOGIN_RATE_LIMIT": "10000/minute",
        "API_RATE_LIMIT": "10000/minute",
        "LOG_LEVEL": "INFO",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings_factory(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Settings]:
    data_dir = tmp_path_factory.mktemp("data")
    queue = email_queue()
    return lambda **overrides: make_settings(
        database_url, data_dir, **{"EMAIL_QUEUE": queue, **overrides}
    )


class AppClient(httpx.AsyncClient):
    """An HTTP client bound in-process to one app instance (one "worker")."""

    def __init__(self, app: FastAPI, client_ip: str = "127.0.0.1") -> None:
        super().__init__(
            transport=httpx.ASGITransport(app=app, client=(client_ip, 50000)),
            base_url="http://testserver",
        )
        self.app = app

    def from_address(self, client_ip: str) -> "AppClient":
        """A client of the same app whose requests come from another IP address."""
        return AppClient(self.app, client_ip)

    async def flush_call_logs(self) -> None:
        await self.app.state.call_log_writer.flush()


ClientFactory = Callable[..., Awaitable[AppClient]]


@contextlib.asynccontextmanager
async def app_clients(
    settings_factory: Callable[..., Settings],
) -> AsyncIterator[ClientFactory]:
    """Build clients on fresh apps with some settings overridden; their lifespans end on exit."""
    contexts = []

    async def build(app: FastAPI | None = None, **overrides: object) -> AppClient:
        app = app or create_app(settings_factory(**overrides))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = AppClient(app)
        contexts.append((lifespan, client))
        return client

    try:
        yield build
    finally:
        for lifespan, client in reversed(contexts):
            await client.aclose()
            await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def client_factory(
    clean_engine: AsyncEngine, settings_factory: Callable[..., Settings]
) -> AsyncIterator[ClientFactory]:
    """Build a client on a fresh app with some settings overridden; lifespans end with the test."""
    async with app_clients(settings_factory) as build:
        yield build


@pytest.fixture
async def client(client_factory: ClientFactory) -> AppClient:
    return await client_factory()


@pytest.fixture
def redis_url() -> str:
    """An emptied Redis database: TEST_REDIS_URL (CI sets it, and then it must answer),
    else database 15 of a local Redis when one runs."""
    configured = os.environ.get("TEST_REDIS_URL")
    url = configured or "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    except redis.RedisError:
        if configured:
            raise
        pytest.skip("no Redis on 127.0.0.1:6379 and TEST_REDIS_URL is not set")
    return url


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A running SMTP server on a free port; apps built with `**inbox.settings()` send to it."""
    server = Inbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def mail_client(client_factory: ClientFactory, inbox: Inbox) -> AppClient:
    return await client_factory(**inbox.settings())


@pytest.fixture(scope="session")
def compiled_engine() -> None:
    """Every kernel in Numba's disk cache before a test starts a server process. After an edit
    to the engine the cache is cold, and compiling takes a minute or more on a loaded machine:
    time a server's start-up deadline is not meant to measure."""
    warm_up()
