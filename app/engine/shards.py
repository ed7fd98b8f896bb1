"""A run split into path shards: simulate and summarize each, merge, and finish the metrics.

Each shard's paths are the run's own (Philox counter = path index), its summary is exact and its
per-path keys stay where it ran, so `finish` gives the whole run's result bit for bit however
many shards there are and wherever they ran. `RunResult` is what a saved simulation is made of,
the same for one in-process run (`result_of_output`) and a sharded one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine.bands import percentile_rows
from app.engine.metrics import metrics_from_summary, thresholds_for
from app.engine.order_stats import RoundRunner
from app.engine.simulate import (
    BAND_PERCENTILES,
    SimulationInputs,
    SimulationOutput,
    band_path_count,
    run_simulation,
)
from app.engine.summary import ShardSummary, Thresholds, summarize


@dataclass(frozen=True)
class RunResult:
    """A finished run: its metrics and chart data."""

    seed: int
    num_paths: int
    metrics: dict
    percentile_bands: np.ndarray  # (months + 1, 5)
    band_paths_used: int
    sample_paths: np.ndarray  # (sample paths, months + 1)


def result_of_output(output: SimulationOutput, metrics: dict) -> RunResult:
    return RunResult(
        seed=output.seed,
        num_paths=int(output.final_values.shape[0]),
        metrics=metrics,
        percentile_bands=output.percentile_bands,
        band_paths_used=output.band_paths_used,
        sample_paths=output.sample_paths,
    )


def shard_ranges(num_paths: int, shard_paths: int) -> list[tuple[int, int]]:
    """(first path, path count) of each shard, in order."""
    return [
        (first, min(shard_paths, num_paths - first)) for first in range(0, num_paths, shard_paths)
    ]


def simulate_shard(
    inputs: SimulationInputs,
    first_path: int,
    path_count: int,
    *,
    inflation_rate: float,
) -> tuple[ShardSummary, dict[str, np.ndarray]]:
    """Simulate paths first_path .. first_path + path_count - 1 of the run (inputs.seed set)."""
    if inputs.seed is None:
        raise ValueError("a sharded run needs its seed fixed beforehand")
    output = run_simulation(inputs, first_path=first_path, path_count=path_count)
    return summarize(output, shard_thresholds(inputs, inflation_rate))


def shard_thresholds(inputs: SimulationInputs, inflation_rate: float) -> Thresholds:
    """The run's constants (the same expressions as run_simulation's) for every shard."""
    months = 12 * int(inputs.years)
    return thresholds_for(
        total_invested=inputs.total_invested(),
        initial_investment=float(inputs.initial_investment),
        monthly_contribution=float(inputs.monthly_contribution),
        months=months,
        risk_free_rate=float(inputs.risk_free_rate),
        inflation_rate=inflation_rate,
        scheduled_contributions=inputs.scheduled_contributions(),
    )


def finish(
    inputs: SimulationInputs,
    merged: ShardSummary,
    run_round: RoundRunner,
    *,
    inflation_rate: float,
) -> RunResult:
    """The run's result from its shards' merged summary; run_round reaches their keys."""
    months = 12 * int(inputs.years)
    metrics = metrics_from_summary(
        merged,
        run_round,
        shard_thresholds(inputs, inflation_rate),
        inflation_rate=inflation_rate,
    )
    quantiles = np.array(BAND_PERCENTILES) / 100.0
    return RunResult(
        seed=int(inputs.seed),  # type: ignore[arg-type]
        num_paths=int(inputs.num_paths),
        metrics=metrics,
        percentile_bands=percentile_rows(np.ascontiguousarray(merged.band_values), quantiles),
        band_paths_used=band_path_count(int(inputs.num_paths), months),
        sample_paths=merged.sample_values,
    )
