"""Risk metrics over the simulated paths, as a JSON-ready dict (plain floats, None if undefined).

Formulas (N paths, V the final values, I the total invested): percentiles use NumPy's linear
rule; var_q = percentile_(100-q)(V); var_q_loss = I - var_q; var_q_relative = mean(V) - var_q;
cvar_95 = mean of the worst ceil(0.05 N) final values; max_drawdown_pct = 100 * median of per-path
maximum drawdowns; probabilities are shares of paths: loss = P(V < I), doubling = P(V >= 2 I),
depletion = P(value reached 0). Statistics needing two paths (std_dev) are None for one.
Annualized figures use only paths with at least 12 live months (GIPS: a shorter period is not
annualized), None when there are none: per path, sharpe = (12 mean(r) - r_f) / (sqrt(12) std(r)),
sortino = (12 mean(r) - r_f) / (sqrt(12) downside deviation below r_f / 12), both averaged over
paths; sharpe_geometric = (mean CAGR - r_f) / mean annualized volatility; annualized_return is the
distribution of the time-weighted CAGR. Real terms divide values by (1 + inflation) ** (t in years)
at the time each amount occurs.

Every figure comes from merged shard summaries (`summary`): sums and means are exact sums
rounded once (`exact_sum`), percentiles and CVaR exact order statistics (`order_stats`), so a
run gives the same bits however its paths were split. Real values are the nominal order
statistics and exact sums divided by (1 + inflation) ** years.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from app.engine import summary as s
from app.engine.exact_sum import exact_ratio, exact_value, special_result
from app.engine.order_stats import RoundRunner, answer, select, value_of
from app.engine.plan_metrics import WITHDRAWN_PERCENTILES, plan_results
from app.engine.simulate import SimulationOutput

_STAT_PERCENTILES = (5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0)
_VALUE_PERCENTILES = (1.0, *_STAT_PERCENTILES)
_DRAWDOWN_PERCENTILES = (50.0, 95.0)
MIN_ANNUALIZED_MONTHS = s.MIN_ANNUALIZED_MONTHS


def _number(value: float | np.floating) -> float | None:
    """A plain float, or None for NaN / infinity (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def ranks_for(q: float, n: int) -> tuple[int, int, float]:
    """NumPy's linear rule: the two order statistics around q % of n values, and the weight."""
    position = q / 100.0 * (n - 1)
    below = min(math.floor(position), n - 1)
    return below, min(below + 1, n - 1), position - below


def percentile_of_ranks(lower: float, upper: float, fraction: float) -> float:
    diff = upper - lower  # NumPy's _lerp, so percentiles match np.percentile
    return lower + diff * fraction if fraction < 0.5 else upper - diff * (1.0 - fraction)


class _OrderStatistics:
    """The wanted ranks of the keyed arrays, found in one selection over the shards."""

    def __init__(self, merged: s.ShardSummary, cvar_count: int) -> None:
        self._merged = merged
        self.cvar_count = cvar_count
        self._wanted: list[tuple[str, int, bool]] = []
        kept = merged.key_counts
        withdrawn = [(name, WITHDRAWN_PERCENTILES) for name in s.WITHDRAWN_ARRAYS if name in kept]
        for name, percentiles in (
            ("final", _VALUE_PERCENTILES),
            ("drawdown", _DRAWDOWN_PERCENTILES),
            ("cagr", _STAT_PERCENTILES),
            *withdrawn,
        ):
            n = self._defined_count(name)
            for q in percentiles if n else ():
                lower, upper, _ = ranks_for(q, n)
                self._wanted += [(name, lower, False), (name, upper, False)]
            if n:
                self._wanted += [(name, 0, False), (name, n - 1, False)]
        if self._defined_count("final"):
            self._wanted.append(("final", cvar_count - 1, True))
        self._found: dict[tuple[str, int, bool], tuple[int, Fraction | None]] = {}

    def _defined_count(self, name: str) -> int:
        """Non-NaN values, or 0 when a NaN makes the array's order statistics undefined."""
        total = self._merged.counts[s.PATHS if name != "cagr" else s.ANNUALIZABLE]
        keyed = self._merged.key_counts[name]
        return keyed if keyed == total else 0

    def find(self, run_round: RoundRunner) -> None:
        unique = list(dict.fromkeys(self._wanted))
        found = select(self._merged.top_histograms, unique, run_round)
        self._found = dict(zip(unique, found, strict=True))

    def value(self, name: str, rank: int) -> float:
        return value_of(self._found[(name, rank, False)][0])

    def percentile(self, name: str, q: float, scale: float = 1.0) -> float:
        n = self._defined_count(name)
        if not n:
            return math.nan
        lower, upper, fraction = ranks_for(q, n)
        low, high = self.value(name, lower) / scale, self.value(name, upper) / scale
        return percentile_of_ranks(low, high, fraction)

    def extreme(self, name: str, largest: bool, scale: float = 1.0) -> float:
        n = self._defined_count(name)
        return self.value(name, n - 1 if largest else 0) / scale if n else math.nan

    def smallest_sum(self) -> Fraction | None:
        if not self._defined_count("final"):
            return None
        return self._found[("final", self.cvar_count - 1, True)][1]


def _mean(merged: s.ShardSummary, row: int, count: int) -> float:
    return exact_ratio(merged.sums[row], count)


def _std_dev(merged: s.ShardSummary, scale: float) -> float:
    """Sample standard deviation (ddof 1) from the exact sum and sum of squares, rounded once."""
    n = int(merged.counts[s.PATHS])
    total, squares = merged.sums[s.FINAL], merged.sums[s.FINAL_SQUARES]
    if n < 2 or special_result(total) is not None or special_result(squares) is not None:
        return math.nan
    first, second = exact_value(total), exact_value(squares)
    variance = (n * second - first * first) / (n * (n - 1)) / (Fraction(scale) ** 2)
    return math.sqrt(max(float(variance), 0.0))


def _final_value_stats(
    merged: s.ShardSummary, order: _OrderStatistics, scale: float
) -> dict[str, float | None]:
    mean = _mean(merged, s.FINAL, int(merged.counts[s.PATHS]) * Fraction(scale))
    named = {q: order.percentile("final", q, scale) for q in _STAT_PERCENTILES}
    return {
        "mean": _number(mean),
        "median": _number(named.pop(50.0)),
        "std_dev": _number(_std_dev(merged, scale)),
        "min": _number(order.extreme("final", False, scale)),
        "max": _number(order.extreme("final", True, scale)),
        **{f"percentile_{q:g}": _number(value) for q, value in named.items()},
    }


def _value_risk(
    order: _OrderStatistics, mean: float | None, total_invested: float, scale: float
) -> dict[str, float | None]:
    p1, p5 = order.percentile("final", 1.0, scale), order.percentile("final", 5.0, scale)
    worst = order.smallest_sum()
    cvar = math.nan if worst is None else float(worst / (order.cvar_count * Fraction(scale)))
    mean = math.nan if mean is None else mean
    return {
        "var_95": _number(p5),
        "var_99": _number(p1),
        "cvar_95": _number(cvar),
        "var_95_loss": _number(total_invested - p5),
        "var_99_loss": _number(total_invested - p1),
        "var_95_relative": _number(mean - p5),
        "var_99_relative": _number(mean - p1),
    }


def _probabilities(
    merged: s.ShardSummary, total_invested: float, loss: int, doubling: int
) -> dict[str, float | None]:
    n = int(merged.counts[s.PATHS])
    # With net withdrawals (nothing net invested) loss and doubling have no meaning.
    invested = total_invested > 0.0
    loss_share = int(merged.counts[loss]) / n if invested else None
    return {
        "loss": loss_share,
        "positive_return": None if loss_share is None else 1.0 - loss_share,
        "doubling": int(merged.counts[doubling]) / n if invested else None,
        "depletion": int(merged.counts[s.DEPLETED]) / n,
    }


def _return_ratios(merged: s.ShardSummary, risk_free_rate: float) -> dict[str, float | None]:
    """Sharpe (conventional and geometric) and Sortino over the annualizable paths."""
    c = merged.counts
    mean_volatility = _mean(merged, s.VOLATILITY, int(c[s.VOLATILITY_TERMS]))
    mean_cagr = _mean(merged, s.CAGR_FINITE, int(c[s.CAGR_FINITE_TERMS]))
    geometric = (mean_cagr - risk_free_rate) / mean_volatility if mean_volatility > 0 else math.nan
    return {
        "sharpe_ratio": _number(_mean(merged, s.SHARPE, int(c[s.SHARPE_TERMS]))),
        "sharpe_ratio_geometric": _number(geometric),
        "sortino_ratio": _number(_mean(merged, s.SORTINO, int(c[s.SORTINO_TERMS]))),
    }


def _annualized_return(merged: s.ShardSummary, order: _OrderStatistics) -> dict:
    count = int(merged.counts[s.ANNUALIZABLE])
    named = {q: order.percentile("cagr", q) for q in _STAT_PERCENTILES}
    return {
        "mean": _number(_mean(merged, s.CAGR, count)),
        "median": _number(named.pop(50.0)),
        **{f"percentile_{q:g}": _number(value) for q, value in named.items()},
    }


def real_total_invested(
    initial: float,
    contribution: float,
    months: int,
    inflation_rate: float,
    scheduled_contributions: np.ndarray | None = None,
) -> float:
    """Initial plus each month-start contribution deflated to today's money."""
    monthly_deflator = (1.0 + inflation_rate) ** (-np.arange(months) / 12.0)
    total = initial + contribution * monthly_deflator.sum()
    if scheduled_contributions is not None:
        total += scheduled_contributions @ monthly_deflator
    return float(total)


def thresholds_for(
    *,
    total_invested: float,
    initial_investment: float,
    monthly_contribution: float,
    months: int,
    risk_free_rate: float,
    inflation_rate: float,
    scheduled_contributions: np.ndarray | None = None,
) -> s.Thresholds:
    """The constants a run's shards are summarized against."""
    if inflation_rate <= -1.0:
        raise ValueError("inflation_rate must be greater than -1")
    return s.Thresholds(
        total_invested=total_invested,
        risk_free_rate=risk_free_rate,
        deflator=(1.0 + inflation_rate) ** (months // 12),
        real_total_invested=real_total_invested(
            initial_investment,
            monthly_contribution,
            months,
            inflation_rate,
            scheduled_contributions,
        ),
    )


def metrics_from_summary(
    merged: s.ShardSummary,
    run_round: RoundRunner,
    thresholds: s.Thresholds,
    *,
    inflation_rate: float,
) -> dict:
    """The JSON-ready metrics of a run from its merged summary; run_round reaches the shards."""
    n = int(merged.counts[s.PATHS])
    order = _OrderStatistics(merged, cvar_count=max(1, math.ceil(0.05 * n)))
    order.find(run_round)
    invested = thresholds.total_invested
    risk_free_rate = thresholds.risk_free_rate
    stats = _final_value_stats(merged, order, 1.0)
    annualizable = int(merged.counts[s.ANNUALIZABLE])
    metrics: dict = {
        "final_value_stats": stats,
        "risk_metrics": {
            **_value_risk(order, stats["mean"], invested, 1.0),
            **_return_ratios(merged, risk_free_rate),
            "max_drawdown_pct": _number(100.0 * order.percentile("drawdown", 50.0)),
            "max_drawdown_pct_95": _number(100.0 * order.percentile("drawdown", 95.0)),
        },
        "annualized_return": _annualized_return(merged, order),
        "probabilities": {
            **_probabilities(merged, invested, s.LOSS, s.DOUBLING),
            "cagr_below_risk_free": (
                int(merged.counts[s.CAGR_BELOW_RISK_FREE]) / annualizable if annualizable else None
            ),
        },
        "total_invested": _number(invested),
        **plan_results(merged, order.percentile),
    }
    metrics["probabilities"]["success"] = 1.0 - metrics["probabilities"]["depletion"]
    if inflation_rate != 0.0:
        deflator, real_invested = thresholds.deflator, thresholds.real_total_invested
        real_stats = _final_value_stats(merged, order, deflator)
        metrics["real"] = {
            "final_value_stats": real_stats,
            "risk_metrics": _value_risk(order, real_stats["mean"], real_invested, deflator),
            "probabilities": _probabilities(merged, real_invested, s.REAL_LOSS, s.REAL_DOUBLING),
            "total_invested": _number(real_invested),
        }
    return metrics


def compute_metrics(
    output: SimulationOutput,
    *,
    risk_free_rate: float,
    inflation_rate: float = 0.0,
    years: int,
) -> dict:
    """Summary statistics, risk metrics and probabilities (module docstring has the formulas)."""
    if output.months != 12 * years:
        raise ValueError(f"years={years} does not match the simulated {output.months} months")
    if risk_free_rate != output.risk_free_rate:
        raise ValueError(
            f"risk_free_rate={risk_free_rate} does not match the simulated {output.risk_free_rate}"
        )
    if output.inflation_rate not in (0.0, inflation_rate):
        raise ValueError(
            f"inflation_rate={inflation_rate} does not match the simulated {output.inflation_rate}"
        )
    thresholds = thresholds_for(
        total_invested=output.total_invested,
        initial_investment=output.initial_investment,
        monthly_contribution=output.monthly_contribution,
        months=output.months,
        risk_free_rate=output.risk_free_rate,
        inflation_rate=inflation_rate,
        scheduled_contributions=output.scheduled_contributions,
    )
    shard, keys = s.summarize(output, thresholds)
    return metrics_from_summary(
        shard,
        lambda queries: [answer(keys, queries)],
        thresholds,
        inflation_rate=inflation_rate,
    )
