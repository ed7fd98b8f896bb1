"""What the HTTP benchmarks share: a production-like server to measure, a user with an API key,
percentiles, and the figures printed as a table then one JSON line.

Without `--url`, a server is started the way production runs it (`python -m app`, several
uvicorn workers) on BENCH_DATABASE_URL, else the local PostgreSQL's `monte_carlo_bench` database
when one answers on 127.0.0.1:5432, else the embedded PostgreSQL. Rate limits are lifted so the
benchmark measures the service, not its limiter.
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/monte_carlo_bench"
PASSWORD = "BenchPass123"


def add_server_arguments(parser: argparse.ArgumentParser, *, workers: int = 4) -> None:
    parser.add_argument("--url", help="benchmark this running server instead of starting one")
    parser.add_argument("--workers", type=int, default=workers, help="uvicorn workers to start")
    parser.add_argument("--port", type=int, default=8765)


def _local_postgres_answers() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 5432)) == 0


async def _ensure_database(url: str) -> None:
    server_url, _, name = url.rpartition("/")
    connection = await asyncpg.connect(f"{server_url}/postgres")
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@contextlib.contextmanager
def running_server(
    args: argparse.Namespace,
    *,
    project_root: Path = PROJECT_ROOT,
    database_url: str | None = None,
    log_path: Path | None = None,
    **settings: str,
) -> Iterator[str]:
    """Yield the base URL of the server to measure, starting (and stopping) one if needed.

    `project_root` runs another checkout of the service (e.g. an older commit to compare with);
    `database_url` gives it its own database; `log_path` receives its output.
    """
    if args.url:
        yield args.url.rstrip("/")
        return
    env = {
        **os.environ,
        "LOG_LEVEL": "WARNING",
        "AUTH_RATE_LIMIT": "1000000/minute",
        "LOGIN_RATE_LIMIT": "1000000/minute",
        "API_RATE_LIMIT": "1000000/minute",
        **settings,
    }
    database_url = database_url or os.environ.get("BENCH_DATABASE_URL")
    if database_url is None and _local_postgres_answers():
        database_url = LOCAL_POSTGRES
    if database_url:
        asyncio.run(_ensure_database(database_url))
        env["DATABASE_URL"] = database_url
    command = [
        sys.executable,
        "-m",
        "app",
        "--port",
        str(args.port),
        "--workers",
        str(args.workers),
    ]
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(log_path.open("wb")) if log_path else None
        server = subprocess.Popen(
            command,
            cwd=project_root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,  # its workers can be killed with it
        )
        base_url = f"http://127.0.0.1:{args.port}"
        try:
            _wait_until_healthy(base_url, server)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def export_commit(ref: str) -> Path:
    """The tree of `ref` in a folder named after its commit (kept: the engine compiles once)."""
    commit = subprocess.run(
        ["git", "rev-parse", ref], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    folder = Path(tempfile.gettempdir()) / f"mc-baseline-{commit[:12]}"
    if not (folder / "app").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", commit], cwd=PROJECT_ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _wait_until_healthy(base_url: str, server: subprocess.Popen, timeout: float = 600) -> None:
    """Up to 10 minutes: a fresh checkout compiles the engine in each worker first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise SystemExit("the server did not become healthy")


async def user_with_api_key(client: httpx.AsyncClient) -> tuple[str, str, str]:
    """Register a fresh user; return (email, JWT, API key)."""
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    registered = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    registered.raise_for_status()
    login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    token = login.json()["access_token"]
    key = await client.post(
        "/api-keys/generate", json={"name": "bench"}, headers={"Authorization": f"Bearer {token}"}
    )
    key.raise_for_status()
    return email, token, key.json()["key"]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def report(title: str, figures: dict) -> None:
    """A readable table, then the figures as one JSON line (the last line printed)."""
    print(f"== {title}")
    for name, value in figures.items():
        if not isinstance(value, dict | list):
            print(f"  {name:<32} {value}")
    print(json.dumps(figures))
