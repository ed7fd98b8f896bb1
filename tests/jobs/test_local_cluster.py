"""Without DASK_SCHEDULER_ADDRESS a job worker starts its own Dask cluster, sized to the
machine: one single-threaded worker process per core, on loopback, sharing the memory."""

import os

import psutil
from dask.system import CPU_COUNT

from app.services.job_compute import connect
from tests.conftest import make_settings


def test_a_worker_without_a_scheduler_starts_a_local_cluster_sized_to_the_machine(
    tmp_path, database_url: str
) -> None:
    settings = make_settings(database_url, tmp_path, DASK_SCHEDULER_ADDRESS=None)
    client = connect(settings)
    try:
        info = client.scheduler_info()
        workers = list(info["workers"].values())
        assert 1 <= CPU_COUNT <= len(os.sched_getaffinity(0))  # the cores this process may use
        assert len(workers) == CPU_COUNT
        assert all(worker["nthreads"] == 1 for worker in workers)
        assert info["address"].startswith("tcp://127.0.0.1:")
        assert all(worker["host"] == "127.0.0.1" for worker in workers)
        pids = set(client.run(os.getpid).values())
        assert len(pids) == CPU_COUNT and os.getpid() not in pids  # processes, not threads
        total_memory = psutil.virtual_memory().total
        limits = [worker["memory_limit"] for worker in workers]
        assert all(limit > 0 for limit in limits) and sum(limits) <= total_memory * 1.01
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
