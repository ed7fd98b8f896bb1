"""Sharded jobs on Dask against one process: the spec example at 10M and 100M paths.

    python -m benchmarks.jobs                 # both cases, a table, then one JSON line
    python -m benchmarks.jobs --paths 10000000

The in-process figure is run_simulation + compute_metrics in this process on every core
(median of a few runs; 1M paths, and 10M). A job figure is the compute of a job as the worker
runs it (ShardedRun.execute: shards on a fresh LocalCluster with a worker process per core,
summaries merged, exact order statistics, histogram), with the default JOB_SHARD_STEPS. Peak
memory is the largest resident set of the driver and of every Dask worker process.
Targets: 100M paths within 1.15 x (100 x the 1M in-process time); 10M within 1.2 x the 10M
in-process time; every process under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import threading
import time

import numpy as np
from distributed import Client, LocalCluster

from app.config import Settings
from app.engine import SimulationInputs, compute_metrics, run_simulation, warm_up
from app.services.job_compute import ShardedRun, shard_paths_for

MEMORY_LIMIT_MB = 2048.0


def spec_example(paths: int) -> SimulationInputs:
    return SimulationInputs(
        weights=np.array([0.6, 0.4]),
        annual_returns=np.array([0.08, 0.04]),
        annual_volatilities=np.array([0.16, 0.06]),
        correlation=np.array([[1.0, 0.1], [0.1, 1.0]]),
        initial_investment=1_000_000.0,
        monthly_contribution=50_000.0,
        years=10,
        num_paths=paths,
        seed=42,
        risk_free_rate=0.02,
    )


def in_process_seconds(paths: int, repeats: int) -> float:
    inputs = spec_example(paths)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        output = run_simulation(inputs)
        compute_metrics(output, risk_free_rate=0.02, years=10)
        times.append(time.perf_counter() - started)
        del output
    return statistics.median(times)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _warm() -> str:
    return warm_up()


def job_run(paths: int) -> dict:
    inputs = spec_example(paths)
    shard_paths = shard_paths_for(inputs, Settings(_env_file=None).JOB_SHARD_STEPS)
    with (
        LocalCluster(
            n_workers=os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm)
        run = ShardedRun(client, inputs, 0.0, shard_paths, name=f"bench-{paths}")
        started = time.perf_counter()
        run.execute(lambda *_: None, threading.Event())
        seconds = time.perf_counter() - started
        worker_rss = list(client.run(_peak_rss_mb).values())
    return {
        "paths": paths,
        "seconds": round(seconds, 2),
        "shards": -(-paths // shard_paths),
        "shard_paths": shard_paths,
        "dask_workers": len(worker_rss),
        "peak_rss_mb_workers": [round(mb) for mb in worker_rss],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, action="append", help="job sizes (default both)")
    sizes = parser.parse_args().paths or [10_000_000, 100_000_000]
    warm_up()
    one_million = in_process_seconds(1_000_000, 5)
    report: dict = {"in_process_1m_s": round(one_million, 3), "cases": []}
    for paths in sizes:
        case = job_run(paths)
        if paths == 100_000_000:
            reference = 100 * one_million
            case["target"] = "<= 1.15 x 100 x in-process 1M"
        else:
            reference = in_process_seconds(paths, 3)
            case["target"] = "<= 1.2 x in-process"
        case["in_process_reference_s"] = round(reference, 2)
        case["ratio"] = round(case["seconds"] / reference, 3)
        report["cases"].append(case)
        print(
            f"{paths:>12,} paths: job {case['seconds']:.2f} s on {case['dask_workers']} workers, "
            f"{case['shards']} shards of {case['shard_paths']:,}; reference "
            f"{reference:.2f} s; ratio {case['ratio']:.3f} ({case['target']}); worker peak RSS "
            f"{case['peak_rss_mb_workers']} MB",
            flush=True,
        )
    report["peak_rss_mb_driver"] = round(_peak_rss_mb())
    report["memory_limit_mb"] = MEMORY_LIMIT_MB
    print(json.dumps(report))


if __name__ == "__main__":
    main()
