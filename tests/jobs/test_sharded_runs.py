"""A run split into shards on a real Dask cluster gives the in-process run's bits: any shard
size, one or two workers, and a worker killed mid-run."""

import os
import signal
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from distributed import Client, LocalCluster

from app.engine import SimulationInputs, compute_metrics, run_simulation
from app.engine.histogram import final_value_histogram
from app.engine.shards import result_of_output
from app.services.job_compute import ShardedRun
from tests.jobs.conftest import _warm_up

RUN = SimulationInputs(
    weights=np.array([0.6, 0.4]),
    annual_returns=np.array([0.08, 0.04]),
    annual_volatilities=np.array([0.16, 0.06]),
    correlation=np.array([[1.0, 0.1], [0.1, 1.0]]),
    initial_investment=1_000_000.0,
    monthly_contribution=50_000.0,
    years=10,
    num_paths=30_000,
    seed=42,
    sample_paths=20,
    risk_free_rate=0.02,
)
INFLATION = 0.02


@pytest.fixture(scope="module")
def in_process():
    output = run_simulation(RUN)
    metrics = compute_metrics(
        output, risk_free_rate=RUN.risk_free_rate, inflation_rate=INFLATION, years=RUN.years
    )
    return result_of_output(output, metrics), final_value_histogram(output.final_values)


def sharded(client: Client, shard_paths: int, name: str, inputs: SimulationInputs = RUN):
    run = ShardedRun(client, inputs, INFLATION, shard_paths, name=name)
    progress: list[tuple[int, float]] = []
    result, histogram, _ = run.execute(lambda *p: progress.append(p), threading.Event())
    assert progress and progress[-1][0] == inputs.num_paths
    assert [share for _, share in progress] == sorted(share for _, share in progress)
    return result, histogram


def assert_same_bits(left, right) -> None:
    (result, histogram), (expected, expected_histogram) = left, right
    assert result.metrics == expected.metrics
    assert histogram == expected_histogram
    for name in ("percentile_bands", "sample_paths"):
        assert getattr(result, name).tobytes() == getattr(expected, name).tobytes()
    assert (result.seed, result.num_paths, result.band_paths_used) == (
        expected.seed,
        expected.num_paths,
        expected.band_paths_used,
    )


@pytest.mark.parametrize("shard_paths", [1_000, 7_777])
def test_two_workers_and_any_shard_size_give_the_in_process_bits(
    dask_client: Client, in_process, shard_paths: int
) -> None:
    assert len(dask_client.scheduler_info()["workers"]) == 2
    assert_same_bits(sharded(dask_client, shard_paths, f"two-{shard_paths}"), in_process)


def test_one_worker_gives_the_same_bits(in_process) -> None:
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm_up)
        assert_same_bits(sharded(client, 4_000, "one"), in_process)


def test_a_dask_worker_killed_mid_run_is_recomputed_with_the_same_bits(
    dask_client: Client,
) -> None:
    inputs = replace(RUN, num_paths=200_000)
    output = run_simulation(inputs)
    metrics = compute_metrics(
        output, risk_free_rate=RUN.risk_free_rate, inflation_rate=INFLATION, years=RUN.years
    )
    expected = result_of_output(output, metrics), final_value_histogram(output.final_values)
    pids = list(dask_client.run(os.getpid).values())
    outcome: dict = {}

    def run() -> None:
        outcome["result"] = sharded(dask_client, 2_000, "killed", inputs)

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 30
    while not dask_client.processing() or not any(dask_client.processing().values()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # some shards done and held in the victim's memory
    os.kill(pids[0], signal.SIGKILL)
    runner.join(timeout=120)
    assert not runner.is_alive()
    assert_same_bits(outcome["result"], expected)
    deadline = time.monotonic() + 30  # the nanny restarts the worker for the next tests
    while len(dask_client.scheduler_info()["workers"]) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert pids[0] not in dask_client.run(os.getpid).values()
