"""A real server (uvicorn in its own process) on a free port, for the contract tests, and an
account on it: an admin user's JWT and one of its API keys."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import PROJECT_ROOT
from tests.conftest import TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET, empty_all_tables
from tests.factories import PASSWORD, bearer
from tests.faults.services import free_port

START_SECONDS = 60


@dataclass(frozen=True)
class LiveAccount:
    base_url: str
    token: str
    api_key: str
    email: str


def _wait_until_healthy(base_url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not start within {START_SECONDS} s")


def _start_uvicorn(port: int, env: dict[str, str], output: IO[bytes]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.fixture(scope="package")
async def live_server(
    engine: AsyncEngine,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    compiled_engine: None,
) -> AsyncIterator[str]:
    """The app served by uvicorn, limits raised so that a fuzzer measures the contract, not
    the throttles; small simulations so that thousands of generated requests stay quick."""
    await empty_all_tables(engine)
    folder = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL_ASYNC": database_url,
        "DATA_DIR": str(folder),
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        # The key of in-process test apps: each process reads what the others wrote.
        "DATA_ENCRYPTION_KEY": TEST_DATA_ENCRYPTION_KEY,
        "BCRYPT_ROUNDS": "4",
        "AUTH_RATE_LIMIT": "1000000/minute",
        "LOGIN_RATE_LIMIT": "1000000/minute",
        "API_RATE_LIMIT": "1000000/minute",
        "LOCKOUT_THRESHOLD": "1000000",
        "MAX_SIMULATION_STEPS": "3000000",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    log = folder / "server.log"
    with log.open("wb") as output:
        server = _start_uvicorn(port, env, output)
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(base_url, server, log)
            yield base_url
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


async def new_live_account(
    base_url: str, engine: AsyncEngine, email: str, *, admin: bool = False
) -> LiveAccount:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        registered = await client.post(
            "/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        if admin:
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE users SET role = 'admin' WHERE email = :email"), {"email": email}
                )
        login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["access_token"]
        keys = [
            await client.post("/api-keys/generate", json={"name": name}, headers=bearer(token))
            for name in ("first", "second")
        ]
        assert [key.status_code for key in keys] == [201, 201]
    return LiveAccount(base_url, token, keys[0].json()["key"], email)
