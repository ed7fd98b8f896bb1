"""`python -m app serve --workers 2`: whichever worker answers /metrics, it reports both."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from app.config import PROJECT_ROOT
from tests.conftest import TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET
from tests.observability.scrape import sample

HOME_PAGE = {"route": "/", "method": "GET", "status": "200"}


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def two_workers(
    database_url: str, tmp_path: Path, compiled_engine: None
) -> Iterator[tuple[str, Path, subprocess.Popen]]:
    """A served app with two worker processes, its URL and its metrics folder."""
    port = _unused_port()
    metrics_dir = tmp_path / "metrics"
    env = {
        **os.environ,
        "DATABASE_URL_ASYNC": database_url,
        "DATA_DIR": str(tmp_path),
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        # The key of in-process test apps: each process reads what the others wrote.
        "DATA_ENCRYPTION_KEY": TEST_DATA_ENCRYPTION_KEY,
        "BCRYPT_ROUNDS": "4",
        "SIMULATION_MAX_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", metrics_dir, server
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


async def _scrape(base_url: str) -> str:
    # A new connection each time: any worker may take it.
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def _until_both_workers_started(base_url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            # Each worker's lifespan sets its one slot; the sum is 2 once both are serving.
            if sample(await _scrape(base_url), "mc_slots", work="simulation") == 2:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.25)
    raise AssertionError("the two workers did not start within 90 s")


def _home_page_hits_per_worker(metrics_dir: Path, tmp_path: Path) -> list[float]:
    """Read each worker's counter file on its own: what that one process counted."""
    counts = []
    for number, worker_file in enumerate(sorted(metrics_dir.glob("counter_*.db"))):
        alone = tmp_path / f"worker-{number}"
        alone.mkdir(parents=True)
        (alone / worker_file.name).write_bytes(worker_file.read_bytes())
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts.append(registry.get_sample_value("mc_http_requests_total", HOME_PAGE) or 0.0)
    return counts


async def test_metrics_add_up_every_worker(two_workers, tmp_path: Path) -> None:
    base_url, metrics_dir, server = two_workers
    await _until_both_workers_started(base_url, server)
    limits = httpx.Limits(max_keepalive_connections=0)  # one connection per request
    sent = 0
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:
        for _ in range(20):  # until both workers have served some (each burst races for them)
            responses = await asyncio.gather(*(client.get("/") for _ in range(20)))
            assert all(r.status_code == 200 for r in responses)
            sent += len(responses)
            per_worker = _home_page_hits_per_worker(metrics_dir, tmp_path / f"after-{sent}")
            if len(per_worker) == 2 and min(per_worker) > 0:
                break
    assert len(per_worker) == 2 and min(per_worker) > 0, per_worker
    assert sum(per_worker) == sent
    for _ in range(4):  # whichever worker answers the scrape
        exposition = await _scrape(base_url)
        assert sample(exposition, "mc_http_requests_total", **HOME_PAGE) == sent
        assert sample(exposition, "mc_slots", work="simulation") == 2
