"""Async engine, sessions, and the embedded PostgreSQL used when no DATABASE_URL is given."""

import asyncio
import contextlib
import logging
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pydantic_core
from fastapi import Depends, Request
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from app.config import Settings, to_asyncpg_url

if TYPE_CHECKING:
    import pgserver

logger = logging.getLogger(__name__)

# pgserver stops the embedded server when the last process holding a handle exits.
_embedded_servers: dict[Path, "pgserver.PostgresServer"] = {}


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL kept in `data_dir`; return its asyncpg URL."""
    with warnings.catch_warnings():
        # pgserver falls back to /tmp when XDG_RUNTIME_DIR is unset, as it is in containers.
        warnings.simplefilter("ignore")
        import pgserver  # imported here: deployments with DATABASE_URL never need it

    data_dir = data_dir.resolve()
    if data_dir not in _embedded_servers:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        logger.info("starting embedded PostgreSQL in %s", data_dir)
        _embedded_servers[data_dir] = pgserver.get_server(data_dir, cleanup_mode="stop")
    return to_asyncpg_url(_embedded_servers[data_dir].get_uri())


def stop_embedded_postgres(data_dir: Path) -> None:
    """Release this process's hold on the embedded server; it stops once no process holds it.

    pgserver does this at exit too, but uvicorn ends its processes by re-raising SIGTERM, which
    skips exit handlers: the lifespan and `python -m app` call this on their way out.
    """
    server = _embedded_servers.pop(data_dir.resolve(), None)
    if server is not None:
        server.cleanup()


def embedded_data_dir(settings: Settings) -> Path:
    return settings.DATA_DIR / "postgres"


def resolve_database_url(settings: Settings) -> str:
    """The asyncpg URL to use: the configured one, or the embedded server's."""
    if settings.DATABASE_URL_ASYNC:
        return settings.DATABASE_URL_ASYNC
    return start_embedded_postgres(embedded_data_dir(settings))


# SQLSTATE classes that mean "not now" rather than "never": connection exception, insufficient
# resources (too many connections), operator intervention (shutdown, statement timeout).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def is_unavailable(error: BaseException) -> bool:
    """True when `error` says the database cannot be reached or did not answer in time.

    asyncpg raises socket errors (refused, reset, timed out) as they are; SQLAlchemy wraps what
    the server answered and raises its own TimeoutError when no pooled connection frees up.
    """
    if isinstance(error, exc.TimeoutError | OSError):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        sqlstate = getattr(error.orig, "sqlstate", None) or ""
        return sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES or isinstance(
            error.orig.__cause__, OSError
        )
    return False


def _ping_in_one_round_trip(dbapi_connection: Any) -> bool:
    """pool_pre_ping as one simple query.

    SQLAlchemy's asyncpg ping wraps `;` in BEGIN ... ROLLBACK (for pgbouncer's transaction
    mode, which this service does not use): three round trips per checkout where one does.
    Errors are translated as the dialect's own ping does, so a dead connection is still
    recognized as a disconnect: replaced, never handed out.
    """
    try:
        # asyncpg answers an empty query (`;`) with an error of its own.
        await_(dbapi_connection.driver_connection.execute("SELECT 1"))
    except Exception as error:
        dbapi_connection._handle_exception(error)
    return True


def _json_text(value: object) -> str:
    return pydantic_core.to_json(value).decode()


class Database:
    """One async engine and its session factory, owned by the app's lifespan."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 5,
        connect_timeout_seconds: float = 5.0,
        pool_timeout_seconds: float = 5.0,
        statement_timeout_seconds: float = 5.0,
        embedded_dir: Path | None = None,
    ) -> None:
        self.embedded_dir = embedded_dir  # the embedded server this database started, if any
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            pool_timeout=pool_timeout_seconds,
            connect_args={
                "timeout": connect_timeout_seconds,
                # Client side: a frozen server or a black-holed network still ends the wait.
                "command_timeout": statement_timeout_seconds,
                # Server side: a slow query is cancelled, its connection stays usable.
                "server_settings": {
                    "statement_timeout": str(int(statement_timeout_seconds * 1000))
                },
            },
            # Statement parameters (hashes, emails) must never reach the error log.
            hide_parameters=True,
            # Simulations store thousands of floats as JSONB: Rust serialization, not json.dumps.
            json_serializer=_json_text,
        )
        self.engine.dialect.do_ping = _ping_in_one_round_trip  # type: ignore[method-assign]
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        return cls(
            resolve_database_url(settings),
            pool_size=settings.DB_POOL_SIZE,
            max_overflow=settings.DB_MAX_OVERFLOW,
            connect_timeout_seconds=settings.DB_CONNECT_TIMEOUT_SECONDS,
            pool_timeout_seconds=settings.DB_POOL_TIMEOUT_SECONDS,
            statement_timeout_seconds=settings.DB_STATEMENT_TIMEOUT_SECONDS,
            embedded_dir=None if settings.DATABASE_URL_ASYNC else embedded_data_dir(settings),
        )

    async def is_reachable(self, timeout_seconds: float = 2.0) -> bool:
        """True when the database answers `SELECT 1` within the timeout."""
        try:
            async with asyncio.timeout(timeout_seconds), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # any failure to answer means unhealthy, never a 500
            logger.warning("database health check failed", exc_info=True)
            return False
        return True

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose end never raises that the database stopped answering.

        Its connection goes back to the pool on the way out (a rollback, after the response has
        been sent); a frozen server times that out, and the error would then reach the ASGI
        server, which cuts the keep-alive connection of a client that already has its answer.
        Such a connection is invalidated instead: dropped from the pool, never reused.
        """
        session = self.sessionmaker()
        try:
            yield session
        finally:
            try:
                await session.close()
            except Exception as error:
                if not is_unavailable(error):
                    raise
                logger.warning("database unavailable while ending a session: connection dropped")
                await session.invalidate()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.embedded_dir is not None:
            await asyncio.to_thread(stop_embedded_postgres, self.embedded_dir)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; whatever it did not commit is rolled back."""
    database: Database = request.app.state.database
    async with database.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
