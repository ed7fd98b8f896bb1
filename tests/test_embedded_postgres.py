"""The default path: no DATABASE_URL, so the service runs its own PostgreSQL (pgserver wheel)."""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A folder directly under /tmp, not pytest's: as root, pgserver runs PostgreSQL as its own
    user, and any pytest session starting on the machine makes pytest's folders private to root
    again, which would cut the server off from its files mid-run."""
    folder = Path(tempfile.mkdtemp(prefix="mc-embedded-postgres-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_in_fresh_process(data_dir: Path, statement: str) -> str:
    # pgserver serializes every start and stop on the machine behind one lock file in the
    # runtime folder: a folder of the test's own keeps it from queuing behind other test runs'
    # embedded servers. The timeout only bounds a hung run (initdb fsyncs, on shared disks).
    runtime = data_dir / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    completed = subprocess.run(
        [sys.executable, "-c", _IN_A_FRESH_PROCESS, str(data_dir / "postgres"), statement],
        cwd=PROJECT_ROOT,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    return completed.stdout.strip()


def test_embedded_postgres_keeps_its_data_across_restarts(data_dir: Path) -> None:
    _run_in_fresh_process(data_dir, "CREATE TABLE kept AS SELECT 42 AS value")
    assert _run_in_fresh_process(data_dir, "SELECT value FROM kept") == "42"


async def test_service_without_database_url_serves_health_from_embedded_postgres(
    data_dir: Path,
) -> None:
    settings = Settings(_env_file=None, DATA_DIR=data_dir, JWT_SECRET_KEY=TEST_JWT_SECRET)
    assert settings.DATABASE_URL_ASYNC is None
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        health = (await client.get("/health")).json()
    assert health["components"]["database"] == "operational"
    assert (data_dir / "postgres" / "PG_VERSION").exists()
