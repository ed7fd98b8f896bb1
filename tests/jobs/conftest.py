"""One real Dask LocalCluster (two worker processes on loopback) for the job tests, and job
workers (`python -m app worker` processes) pointed at it and at the test database."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from distributed import Client, LocalCluster

from app.config import PROJECT_ROOT
from tests.conftest import TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET

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
