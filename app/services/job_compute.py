"""One job's run on a Dask cluster: path shards simulated as tasks, merged exactly.

Each shard task returns its summary and keeps its per-path keys in the worker's memory; the
order-statistic rounds are tasks on those results, so only counts and the few values near each
wanted rank travel. A worker lost mid-run loses its shards' results, which Dask recomputes from
the same pure task (same seed, same paths), so the numbers do not change. Runs in a thread: the
distributed client here is the synchronous one.
"""

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from distributed import Client, Future, LocalCluster

from app.config import Settings
from app.engine.histogram import (
    HISTOGRAM_BINS,
    HISTOGRAM_TAIL,
    histogram_counts,
    histogram_of,
    histogram_span,
)
from app.engine.metrics import percentile_of_ranks, ranks_for
from app.engine.order_stats import answer, keys_as_values, select, value_of
from app.engine.shards import RunResult, finish, shard_ranges, simulate_shard
from app.engine.simulate import MAX_PATHS, SimulationInputs
from app.engine.summary import ShardSummary, merge

POLL_SECONDS = 0.1
MERGE_SHARE = 0.02  # of the progress, left for the merge after the last shard


class RunCancelled(Exception):
    """The job was cancelled while its shards ran."""


def connect(settings: Settings) -> Client:
    """The cluster at DASK_SCHEDULER_ADDRESS, or a LocalCluster with a process per core."""
    if settings.DASK_SCHEDULER_ADDRESS:
        return Client(settings.DASK_SCHEDULER_ADDRESS, timeout=30)
    cluster = LocalCluster(
        n_workers=os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
    )
    return Client(cluster)


def shard_paths_for(inputs: SimulationInputs, shard_steps: int) -> int:
    """Paths per shard: about `shard_steps` paths x months x assets, so a task lasts ~0.5 s."""
    steps_per_path = 12 * int(inputs.years) * len(inputs.weights)
    return max(1, min(MAX_PATHS, shard_steps // steps_per_path))


def _simulate(inputs: SimulationInputs, first: int, count: int, inflation_rate: float) -> tuple:
    # Dask runs one task per thread: the kernel uses that thread only.
    numba.set_num_threads(1)
    return simulate_shard(inputs, first, count, inflation_rate=inflation_rate)


def _summary(shard: tuple) -> ShardSummary:
    return shard[0]


def _on_keys(shard: tuple, function: Callable, *args: object) -> object:
    return function(shard[1], *args)


def _final_values_histogram(keys: dict, low: float, high: float, bins: int) -> np.ndarray:
    return histogram_counts(keys_as_values(keys["final"]), low, high, bins)


@dataclass
class ShardedRun:
    client: Client
    inputs: SimulationInputs  # seed fixed
    inflation_rate: float
    shard_paths: int
    name: str  # unique per attempt: Dask keys of this run start with it

    def execute(
        self, report: Callable[[int, float], None], cancelled: threading.Event
    ) -> tuple[RunResult, dict, float]:
        """Run every shard, merge; (result, final-value histogram, seconds)."""
        started = time.perf_counter()
        ranges = shard_ranges(int(self.inputs.num_paths), self.shard_paths)
        shards = [
            self.client.submit(
                _simulate,
                self.inputs,
                first,
                count,
                self.inflation_rate,
                key=f"{self.name}-shard-{first}",
            )
            for first, count in ranges
        ]
        summaries = [
            self.client.submit(_summary, shard, key=f"{self.name}-summary-{first}")
            for shard, (first, _) in zip(shards, ranges, strict=True)
        ]
        try:
            merged = self._merged(summaries, ranges, report, cancelled)
            result = finish(
                self.inputs,
                merged,
                lambda queries: self._on_every_shard(shards, answer, queries),
                inflation_rate=self.inflation_rate,
            )
            histogram = self._histogram(merged, shards)
        finally:
            self.client.cancel(shards + summaries)
        return result, histogram, time.perf_counter() - started

    def _merged(
        self,
        summaries: list[Future],
        ranges: list[tuple[int, int]],
        report: Callable[[int, float], None],
        cancelled: threading.Event,
    ) -> ShardSummary:
        total = int(self.inputs.num_paths)
        pending = dict(zip(summaries, (count for _, count in ranges), strict=True))
        done_paths = 0
        while pending:
            if cancelled.is_set():
                raise RunCancelled
            finished = [future for future in pending if future.done()]
            for future in finished:
                if future.status == "error":
                    future.result()  # raises the task's exception
                done_paths += pending.pop(future)
            if finished:
                report(done_paths, (1.0 - MERGE_SHARE) * done_paths / total)
            else:
                time.sleep(POLL_SECONDS)
        return merge(self.client.gather(summaries))

    def _on_every_shard(self, shards: list[Future], function: Callable, *args: object) -> list:
        tasks = [
            self.client.submit(_on_keys, shard, function, *args, pure=False) for shard in shards
        ]
        return self.client.gather(tasks)

    def _histogram(self, merged: ShardSummary, shards: list[Future]) -> dict:
        """engine.histogram.final_value_histogram of all the paths, from the shards' counts."""
        n = merged.key_counts["final"]
        quantiles = (100 * HISTOGRAM_TAIL, 100 * (1 - HISTOGRAM_TAIL))
        wanted = [("final", rank, False) for q in quantiles for rank in ranks_for(q, n)[:2]]
        keys = select(
            merged.top_histograms,
            wanted,
            lambda queries: self._on_every_shard(shards, answer, queries),
        )
        values = [value_of(key) for key, _ in keys]
        low = percentile_of_ranks(values[0], values[1], ranks_for(quantiles[0], n)[2])
        high = percentile_of_ranks(values[2], values[3], ranks_for(quantiles[1], n)[2])
        low, high = histogram_span(low, high)
        parts = self._on_every_shard(shards, _final_values_histogram, low, high, HISTOGRAM_BINS)
        return histogram_of(parts, low, high, HISTOGRAM_BINS)
