"""The default path: no DATABASE_URL, so the service runs its own PostgreSQL (pgserver wheel)."""

import subprocess
import sys

import httpx

from app.config import PROJECT_ROOT, Settings
from app.main import create_app
from tests.conftest import TEST_JWT_SECRET

# Each run is its own process, as a restart of the service is: the embedded server stops when the
# last process using it exits, and must find its data again on the next start.
_IN_A_FRESH_PROCESS = """
import asyncio, sys
from pathlib import Path
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from app.database import start_embedded_postgres

async def main(statement):
    engine = create_async_engine(start_embedded_postgres(Path(sys.argv[1])))
    async with engine.begin() as connection:
        result = await connection.execute(text(statement))
        print(result.scalar() if result.returns_rows else "done")
    await engine.dispose()

asyncio.run(main(sys.argv[2]))
"""


def _run_in_fresh_process(data_dir: str, statement: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", _IN_A_FRESH_PROCESS, data_dir, statement],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return completed.stdout.strip()


def test_embedded_postgres_keeps_its_data_across_restarts(tmp_path) -> None:
    data_dir = str(tmp_path / "postgres")
    _run_in_fresh_process(data_dir, "CREATE TABLE kept AS SELECT 42 AS value")
    assert _run_in_fresh_process(data_dir, "SELECT value FROM kept") == "42"


async def test_service_without_database_url_serves_health_from_embedded_postgres(
    tmp_path,
) -> None:
    settings = Settings(_env_file=None, DATA_DIR=tmp_path, JWT_SECRET_KEY=TEST_JWT_SECRET)
    assert settings.DATABASE_URL_ASYNC is None
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        health = (await client.get("/health")).json()
    assert health["components"]["database"] == "operational"
    assert (tmp_path / "postgres" / "PG_VERSION").exists()
