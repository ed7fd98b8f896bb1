"""One real Dask LocalCluster (two worker processes on loopback) for the job tests, and job
workers (`python -m app worker` processes) pointed at it and at the test database."""

import asyncio
import copy
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import httpx
import pytest
from distributed import Client, LocalCluster

from app.config import PROJECT_ROOT
from app.schemas.simulation import SPEC_EXAMPLE
from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET, AppClient, ClientFactory

SHARD_STEPS = 2_400_000  # 10,000 paths of the spec example (10 years, 2 assets) per Dask task


def _warm_up() -> str:
    from app.engine import warm_up

    return warm_up()


@pytest.fixture(scope="package")
def dask_client() -> Iterator[Client]:
    # Room in the scheduler's transition log for every task of a job (the cancel test reads
    # when the last of them left).
    dask.config.set({"distributed.admin.low-level-log-length": 200_000})
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    )
    client = Client(cluster)
    client.run(_warm_up)  # each worker loads the compiled engine once
    try:
        yield client
    finally:
        client.close()
        cluster.close()


class JobWorkers:
    """`python -m app worker` processes, stopped (or killed) by the test that needs it."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self._env = env
        self._log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = open(self._log_dir / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            cwd=PROJECT_ROOT,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


@pytest.fixture(scope="package")
def job_workers(
    database_url: str,
    engine: object,  # the test database is migrated before any worker starts
    dask_client: Client,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[JobWorkers]:
    data_dir = tmp_path_factory.mktemp("job-worker")
    env = {
        **os.environ,
        "DATABASE_URL_ASYNC": database_url,
        "DATA_DIR": str(data_dir),
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        # The key of in-process test apps: each process reads what the others wrote.
        "DATA_ENCRYPTION_KEY": TEST_DATA_ENCRYPTION_KEY,
        "DASK_SCHEDULER_ADDRESS": dask_client.scheduler.address,
        "JOB_SHARD_STEPS": str(SHARD_STEPS),
        "JOB_HEARTBEAT_SECONDS": "0.5",
        "JOB_STALLED_SECONDS": "3",
        "LOG_LEVEL": "WARNING",
    }
    workers = JobWorkers(env, data_dir)
    try:
        yield workers
    finally:
        workers.stop_all()


def example(**parameters: object) -> dict:
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["parameters"].update({"seed": 42, "inflation_rate": 0.02, **parameters})
    return body


@pytest.fixture
async def api(client_factory: ClientFactory) -> tuple[AppClient, dict, str]:
    client = await client_factory(MAX_ACTIVE_JOBS_PER_USER=2)
    token, keys = await keys_of_new_user(client, 2)
    return client, {"X-API-Key": keys[0]["key"]}, token


@pytest.fixture
def worker(job_workers: JobWorkers) -> JobWorkers:
    """At least one job worker running."""
    if not any(process.poll() is None for process in job_workers.processes):
        job_workers.start()
    return job_workers


async def wait_for(
    client: httpx.AsyncClient,
    headers: dict,
    job_id: str,
    *statuses: str,
    within: float = 60,
    seen: list | None = None,
) -> dict:
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        job = response.json()
        if seen is not None:
            seen.append(job)
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)


async def saved_results(client: httpx.AsyncClient, headers: dict, job: dict) -> dict:
    response = await client.get(f"/api/v1/simulations/{job['simulation_id']}", headers=headers)
    assert response.status_code == 200
    return response.json()


async def assert_saved_as_simulate_answers(
    client: httpx.AsyncClient, headers: dict, job: dict, body: dict
) -> dict:
    """The job's saved simulation has the results and inputs `POST /simulate` answers for the
    same body, bit for bit; returns the saved simulation."""
    saved = await saved_results(client, headers, job)
    direct = await client.post("/api/v1/simulate", json=body, headers=headers)
    assert direct.status_code == 200, direct.text
    assert saved["results"] == direct.json()["results"]
    assert saved["inputs"] == direct.json()["inputs"]
    return saved


async def job_as_simulate_answers(client: httpx.AsyncClient, headers: dict, body: dict) -> dict:
    """Run `body` as a job to success and check it against /simulate (see above)."""
    response = await client.post("/api/v1/jobs", json=body, headers=headers)
    assert response.status_code == 202, response.text
    job = await wait_for(client, headers, response.json()["job_id"], "succeeded", "failed")
    assert job["status"] == "succeeded", job
    return await assert_saved_as_simulate_answers(client, headers, job, body)
