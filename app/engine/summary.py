"""Per-shard summaries of simulated paths, and their merge: what the metrics are computed from.

A shard (any range of paths) is reduced to exact sums (`exact_sum`), counts, top-level key
histograms and, for the first paths, their sample and band values; its per-path values stay
with it as order-preserving keys (`order_stats`) for the exact percentiles. Merging summaries
adds integers, so the metrics of a run do not depend on how its paths were split: the
synchronous endpoint is a run of one shard through this same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from app.engine.exact_sum import (
    EXACT_JIT,
    add_exact,
    add_square_exact,
    merged,
    new_accumulators,
    normalize,
)
from app.engine.order_stats import keys_of, top_histogram
from app.engine.simulate import SimulationOutput

MIN_ANNUALIZED_MONTHS = 12  # GIPS: a return over less than a year is not annualized
KEYED_ARRAYS = ("final", "drawdown", "cagr")  # per-path values kept for order statistics
WITHDRAWN_ARRAYS = ("withdrawn", "withdrawn_real")  # keyed too, when money is withdrawn

# Rows of ShardSummary.sums.
FINAL, FINAL_SQUARES, SHARPE, SORTINO, VOLATILITY, CAGR, CAGR_FINITE = range(7)
WITHDRAWN, WITHDRAWN_REAL = 7, 8
# Entries of ShardSummary.counts.
(
    PATHS,
    LOSS,
    DOUBLING,
    DEPLETED,
    REAL_LOSS,
    REAL_DOUBLING,
    ANNUALIZABLE,
    CAGR_BELOW_RISK_FREE,
    SHARPE_TERMS,
    SORTINO_TERMS,
    VOLATILITY_TERMS,
    CAGR_FINITE_TERMS,
) = range(12)


@dataclass(frozen=True)
class Thresholds:
    """The run's constants the per-path counts compare against."""

    total_invested: float
    risk_free_rate: float
    deflator: float  # (1 + inflation) ** years; 1.0 without inflation
    real_total_invested: float


@dataclass(frozen=True)
class ShardSummary:
    """What one shard contributes to a run's metrics (small: independent of its path count)."""

    first_path: int
    sums: np.ndarray  # exact accumulators, rows as above
    counts: np.ndarray
    key_counts: dict[str, int]  # non-NaN values per keyed array
    top_histograms: dict[str, np.ndarray]
    sample_values: np.ndarray  # rows for the run's first paths in this shard
    band_values: np.ndarray  # (months + 1, this shard's band paths)
    depletion_counts: np.ndarray  # (months + 1,) paths by depletion month; [0]: never depleted
    annual_withdrawals: np.ndarray  # (years, this shard's band paths)


@njit(**EXACT_JIT)
def _accumulate(
    final_values: np.ndarray,
    depleted: np.ndarray,
    return_months: np.ndarray,
    cagr: np.ndarray,
    volatility: np.ndarray,
    mean_monthly: np.ndarray,
    downside: np.ndarray,
    total_invested: float,
    risk_free_rate: float,
    deflator: float,
    real_total_invested: float,
    sums: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """Fill sums and counts in one pass; return the annualizable paths' CAGRs."""
    n = final_values.shape[0]
    annualizable = np.empty(n)
    kept = 0
    for p in range(n):
        value = final_values[p]
        add_exact(sums[FINAL], value)
        add_square_exact(sums[FINAL_SQUARES], value)
        counts[LOSS] += value < total_invested
        counts[DOUBLING] += value >= 2.0 * total_invested
        counts[DEPLETED] += depleted[p]
        real = value / deflator
        counts[REAL_LOSS] += real < real_total_invested
        counts[REAL_DOUBLING] += real >= 2.0 * real_total_invested
        if return_months[p] < MIN_ANNUALIZED_MONTHS:
            continue
        rate = cagr[p]
        annualizable[kept] = rate
        kept += 1
        counts[CAGR_BELOW_RISK_FREE] += rate < risk_free_rate
        add_exact(sums[CAGR], rate)
        if np.isfinite(rate):
            add_exact(sums[CAGR_FINITE], rate)
            counts[CAGR_FINITE_TERMS] += 1
        excess = 12.0 * mean_monthly[p] - risk_free_rate
        vol = volatility[p]
        if np.isfinite(vol):
            add_exact(sums[VOLATILITY], vol)
            counts[VOLATILITY_TERMS] += 1
        sharpe = excess / vol
        if np.isfinite(sharpe):
            add_exact(sums[SHARPE], sharpe)
            counts[SHARPE_TERMS] += 1
        sortino = excess / downside[p]
        if np.isfinite(sortino):
            add_exact(sums[SORTINO], sortino)
            counts[SORTINO_TERMS] += 1
    counts[PATHS] += n
    counts[ANNUALIZABLE] += kept
    for row in range(sums.shape[0]):
        normalize(sums[row])
    return annualizable[:kept]


@njit(**EXACT_JIT)
def _accumulate_withdrawals(
    withdrawn: np.ndarray, withdrawn_real: np.ndarray, sums: np.ndarray
) -> None:
    for p in range(withdrawn.shape[0]):
        add_exact(sums[WITHDRAWN], withdrawn[p])
        add_exact(sums[WITHDRAWN_REAL], withdrawn_real[p])
    normalize(sums[WITHDRAWN])
    normalize(sums[WITHDRAWN_REAL])


def summarize(
    output: SimulationOutput, thresholds: Thresholds
) -> tuple[ShardSummary, dict[str, np.ndarray]]:
    """A shard's summary, and its per-path keys by KEYED_ARRAYS name (they stay with the shard)."""
    sums = new_accumulators(9)
    counts = np.zeros(12, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        annualizable = _accumulate(
            output.final_values,
            output.depleted,
            output.return_months,
            output.annualized_returns,
            output.annualized_volatilities,
            output.mean_monthly_returns,
            output.annualized_downside_deviations,
            thresholds.total_invested,
            thresholds.risk_free_rate,
            thresholds.deflator,
            thresholds.real_total_invested,
            sums,
            counts,
        )
    keys = {
        "final": keys_of(output.final_values),
        "drawdown": keys_of(output.max_drawdowns),
        "cagr": keys_of(annualizable),
    }
    if output.takes_withdrawals:
        _accumulate_withdrawals(output.withdrawn, output.withdrawn_real, sums)
        keys["withdrawn"] = keys_of(output.withdrawn)
        keys["withdrawn_real"] = keys_of(output.withdrawn_real)
    summary = ShardSummary(
        first_path=output.first_path,
        sums=sums,
        counts=counts,
        key_counts={name: int(array.shape[0]) for name, array in keys.items()},
        top_histograms={name: top_histogram(array) for name, array in keys.items()},
        sample_values=output.sample_paths,
        band_values=output.band_values,
        depletion_counts=np.bincount(output.depletion_months, minlength=output.months + 1),
        annual_withdrawals=(
            np.zeros((output.months // 12, 0))
            if output.annual_withdrawals is None
            else output.annual_withdrawals
        ),
    )
    return summary, keys


def merge(summaries: list[ShardSummary]) -> ShardSummary:
    """One summary of all the shards' paths (the shards must be disjoint)."""
    ordered = sorted(summaries, key=lambda summary: summary.first_path)
    keyed = list(ordered[0].key_counts)
    return ShardSummary(
        first_path=ordered[0].first_path,
        sums=merged([summary.sums for summary in ordered]),
        counts=np.sum([summary.counts for summary in ordered], axis=0),
        key_counts={name: sum(summary.key_counts[name] for summary in ordered) for name in keyed},
        top_histograms={
            name: np.sum([summary.top_histograms[name] for summary in ordered], axis=0)
            for name in keyed
        },
        sample_values=np.concatenate([summary.sample_values for summary in ordered]),
        band_values=np.concatenate([summary.band_values for summary in ordered], axis=1),
        depletion_counts=np.sum([summary.depletion_counts for summary in ordered], axis=0),
        annual_withdrawals=np.concatenate(
            [summary.annual_withdrawals for summary in ordered], axis=1
        ),
    )
