"""One job's run on a Dask cluster: path shards simulated as tasks, merged exactly.

Each shard task returns its summary and keeps its per-path keys in the worker's memory; the
order-statistic rounds are tasks on those results, so only counts and the few values near each
wanted rank travel. A worker lost mid-run loses its shards' results, which Dask recomputes from
the same pure task (same seed, same paths), so the numbers do not change. Runs in a thread: the
distributed client here is the synchronous one.
"""

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numba
import numpy as np
from dask.system import CPU_COUNT  # cores of this process: affinity and cgroup quota applied
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
# Merge tasks (one per shard a round) move the progress towards 1 without reaching it: about
# half of what is left each MERGE_ROUNDS_TO_HALF rounds, so a long merge still shows motion.
MERGE_ROUNDS_TO_HALF = 4


class RunCancelled(Exception):
    """The job was cancelled while its shards ran."""


def connect(settings: Settings) -> Client:
    """The cluster at DASK_SCHEDULER_ADDRESS, or a LocalCluster sized to the machine: one
    single-threaded worker process per core this process may use, sharing its memory, on
    loopback."""
    if settings.DASK_SCHEDULER_ADDRESS:
        return Client(settings.DASK_SCHEDULER_ADDRESS, timeout=30)
    cluster = LocalCluster(
        n_workers=CPU_COUNT,
        threads_per_worker=1,
        processes=True,
        memory_limit="auto",
        host="127.0.0.1",
        dashboard_address=":0",
    )
    return Client(cluster)


def warm_up(client: Client) -> None:
    """A tiny run on the cluster: the merge's compiled functions load in this process (about
    2 s on first use, during which a job's progress would stand still) before a job needs them."""
    inputs = SimulationInputs(
        weights=np.array([0.6, 0.4]),
        annual_returns=np.array([0.07, 0.03]),
        annual_volatilities=np.array([0.15, 0.05]),
        correlation=np.array([[1.0, 0.2], [0.2, 1.0]]),
        initial_investment=1000.0,
        monthly_contribution=10.0,
        years=1,
        num_paths=256,
        seed=0,
        sample_paths=2,
    )
    run = ShardedRun(client, inputs, 0.02, 64, name=f"warm-up-{uuid.uuid4().hex}")
    run.execute(lambda *_: None, threading.Event())


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
    _report: Callable[[int, float], None] = field(init=False, repr=False)
    _cancelled: threading.Event = field(init=False, repr=False)
    _merge_tasks_done: int = field(init=False, default=0)
    _merge_rounds: int = field(init=False, default=0)

    def execute(
        self, report: Callable[[int, float], None], cancelled: threading.Event
    ) -> tuple[RunResult, dict, float]:
        """Run every shard, merge; (result, final-value histogram, seconds). `report(paths
        done, progress)` comes as shards and merge tasks finish; `cancelled` stops the run
        (RunCancelled) in either phase."""
        started = time.perf_counter()
        self._report, self._cancelled = report, cancelled
        ranges = shard_ranges(int(self.inputs.num_paths), self.shard_paths)
        firsts = [first for first, _ in ranges]
        # One graph update each (not a message per task): the first shards start at once.
        shards = self.client.map(
            _simulate,
            [self.inputs] * len(ranges),
            firsts,
            [count for _, count in ranges],
            [self.inflation_rate] * len(ranges),
            key=[f"{self.name}-shard-{first}" for first in firsts],
            pure=False,  # the keys are given: no hashing of every task's arguments
        )
        summaries = self.client.map(
            _summary, shards, key=[f"{self.name}-summary-{first}" for first in firsts], pure=False
        )
        try:
            merged = self._merged(summaries, ranges)
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

    def _merged(self, summaries: list[Future], ranges: list[tuple[int, int]]) -> ShardSummary:
        total = int(self.inputs.num_paths)
        weights = dict(zip(summaries, (count for _, count in ranges), strict=True))
        done_paths = 0

        def shard_done(future: Future) -> None:
            nonlocal done_paths
            done_paths += weights[future]
            self._report(done_paths, (1.0 - MERGE_SHARE) * done_paths / total)

        return merge(self._results(summaries, shard_done))

    def _on_every_shard(self, shards: list[Future], function: Callable, *args: object) -> list:
        per_round = len(shards) * MERGE_ROUNDS_TO_HALF

        def merge_task_done(_: Future | None) -> None:
            self._merge_tasks_done += 1
            left = 0.5 ** (self._merge_tasks_done / per_round)
            self._report(int(self.inputs.num_paths), 1.0 - MERGE_SHARE * left)

        merge_task_done(None)  # a round begins: news, before its first answer comes
        self._merge_rounds += 1
        tasks = self.client.map(
            _on_keys,
            shards,
            [function] * len(shards),
            *([arg] * len(shards) for arg in args),
            key=[f"{self.name}-merge-{self._merge_rounds}-{index}" for index in range(len(shards))],
            pure=False,
        )
        try:
            return self._results(tasks, merge_task_done)
        finally:
            self.client.cancel(tasks)  # answered, or the run cancelled: off the cluster

    def _results(self, futures: list[Future], on_done: Callable[[Future], None]) -> list:
        """The futures' results, in order, fetched as they finish (no long gather at the end,
        during which the progress would stand still); `on_done` for each. Raises a task's
        error, or RunCancelled as soon as the job is cancelled."""
        results: dict[Future, object] = {}
        pending = set(futures)
        while pending:
            if self._cancelled.is_set():
                raise RunCancelled
            finished = [future for future in pending if future.done()]
            if not finished:
                time.sleep(POLL_SECONDS)
                continue
            results.update(zip(finished, self.client.gather(finished), strict=True))
            for future in finished:
                pending.discard(future)
                on_done(future)
        return [results[future] for future in futures]

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
