"""What a plan's cash flows answer: depletion, survival by year, and the money withdrawn.

With N paths, D of them depleted (their value ran out at some month) in months m_1..m_D:
success = 1 - D / N; survival_by_year[y - 1] = 1 - #{m_i <= 12 y} / N, so it never increases and
ends at success; the depletion months' p10/p25/p50 use NumPy's linear rule over m_1..m_D.
Withdrawn totals are per path (nominal, and each amount deflated to today's money), their
mean exact and their percentiles exact order statistics; spending per year is the percentiles
over the band paths of what the strategy paid each in that year (strategies that vary by path
only; scheduled withdrawals are not in it).
Everything comes from merged shard summaries, so a sharded run gives the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from app.engine import summary as s
from app.engine.bands import percentile_rows
from app.engine.exact_sum import exact_ratio

WITHDRAWN_PERCENTILES = (5.0, 50.0, 95.0)
DEPLETION_PERCENTILES = (10.0, 25.0, 50.0)
SPENDING_PERCENTILES = (5.0, 50.0, 95.0)

Percentile = Callable[[str, float], float]


def _month_at_rank(cumulative: np.ndarray, rank: int) -> float:
    """The (rank + 1)-th smallest depletion month, from cumulative counts of months 1..M."""
    return float(np.searchsorted(cumulative, rank, side="right") + 1)


def _depletion_month_percentiles(counts: np.ndarray) -> dict[str, float] | None:
    cumulative = np.cumsum(counts[1:])
    depleted = int(cumulative[-1]) if cumulative.size else 0
    if depleted == 0:
        return None
    result = {}
    for q in DEPLETION_PERCENTILES:
        position = q / 100.0 * (depleted - 1)
        below = math.floor(position)
        lower = _month_at_rank(cumulative, below)
        upper = _month_at_rank(cumulative, min(below + 1, depleted - 1))
        result[f"p{q:g}"] = lower + (upper - lower) * (position - below)
    return result


def _totals(merged: s.ShardSummary, percentile: Percentile, name: str, row: int) -> dict:
    return {
        "mean": float(exact_ratio(merged.sums[row], int(merged.counts[s.PATHS]))),
        "median": percentile(name, 50.0),
        "p5": percentile(name, 5.0),
        "p95": percentile(name, 95.0),
    }


def _annual_spending(merged: s.ShardSummary) -> dict | None:
    values = merged.annual_withdrawals
    if values.shape[1] == 0:
        return None
    rows = percentile_rows(np.ascontiguousarray(values), np.array(SPENDING_PERCENTILES) / 100.0)
    return {
        "year": list(range(1, values.shape[0] + 1)),
        **{f"p{q:g}": rows[:, i].tolist() for i, q in enumerate(SPENDING_PERCENTILES)},
        "paths_used": int(values.shape[1]),
    }


def plan_results(merged: s.ShardSummary, percentile: Percentile) -> dict:
    """depletion, survival_by_year and withdrawals (None without withdrawals) of a run."""
    counts = merged.depletion_counts
    n = int(merged.counts[s.PATHS])
    months = counts.shape[0] - 1
    depleted_by_month = np.cumsum(counts[1:])
    survival = [1.0 - int(depleted_by_month[12 * y - 1]) / n for y in range(1, months // 12 + 1)]
    withdrawals = None
    if "withdrawn" in merged.key_counts:
        withdrawals = {
            "total": _totals(merged, percentile, "withdrawn", s.WITHDRAWN),
            "total_real": _totals(merged, percentile, "withdrawn_real", s.WITHDRAWN_REAL),
            "annual": _annual_spending(merged),
        }
    return {
        "depletion": {
            "probability": int(merged.counts[s.DEPLETED]) / n,
            "month_percentiles": _depletion_month_percentiles(counts),
        },
        "survival_by_year": survival,
        "withdrawals": withdrawals,
    }
