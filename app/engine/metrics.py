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
"""

from __future__ import annotations

import math

import numpy as np

from app.engine.simulate import SimulationOutput

_STAT_PERCENTILES = (5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0)
MIN_ANNUALIZED_MONTHS = 12


def _number(value: float | np.floating) -> float | None:
    """A plain float, or None for NaN / infinity (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _distribution(values: np.ndarray) -> dict[str, float | None]:
    """Mean, median and the percentiles of _STAT_PERCENTILES (all None for no values)."""
    if values.size == 0:
        quantiles = [math.nan] * len(_STAT_PERCENTILES)
        mean = math.nan
    else:
        quantiles = np.percentile(values, _STAT_PERCENTILES)
        mean = values.mean()
    named = dict(zip(_STAT_PERCENTILES, quantiles, strict=True))
    return {
        "mean": _number(mean),
        "median": _number(named.pop(50.0)),
        **{f"percentile_{q:g}": _number(value) for q, value in named.items()},
    }


def _final_value_stats(values: np.ndarray) -> dict[str, float | None]:
    stats = _distribution(values)
    return {
        "mean": stats.pop("mean"),
        "median": stats.pop("median"),
        "std_dev": _number(values.std(ddof=1) if values.size > 1 else math.nan),
        "min": _number(values.min()),
        "max": _number(values.max()),
        **stats,
    }


def _value_risk(values: np.ndarray, total_invested: float) -> dict[str, float | None]:
    p1, p5 = np.percentile(values, [1.0, 5.0])
    worst = max(1, math.ceil(0.05 * values.size))
    cvar = np.partition(values, worst - 1)[:worst].mean()
    mean = values.mean()
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
    values: np.ndarray, depleted: np.ndarray, total_invested: float
) -> dict[str, float | None]:
    # With net withdrawals (nothing net invested) loss and doubling have no meaning.
    invested = total_invested > 0.0
    loss = float(np.mean(values < total_invested)) if invested else None
    return {
        "loss": loss,
        "positive_return": None if loss is None else 1.0 - loss,
        "doubling": float(np.mean(values >= 2.0 * total_invested)) if invested else None,
        "depletion": float(np.mean(depleted)),
    }


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _return_ratios(
    output: SimulationOutput, annualizable: np.ndarray, risk_free_rate: float
) -> dict[str, float | None]:
    """Sharpe (conventional and geometric) and Sortino over the `annualizable` paths."""
    excess = 12.0 * output.mean_monthly_returns[annualizable] - risk_free_rate
    volatility = output.annualized_volatilities[annualizable]
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = _mean(excess / volatility)
        sortino = _mean(excess / output.annualized_downside_deviations[annualizable])
    mean_volatility = _mean(volatility)
    geometric = (
        (_mean(output.annualized_returns[annualizable]) - risk_free_rate) / mean_volatility
        if mean_volatility > 0
        else math.nan
    )
    return {
        "sharpe_ratio": _number(sharpe),
        "sharpe_ratio_geometric": _number(geometric),
        "sortino_ratio": _number(sortino),
    }


def real_total_invested(
    initial: float, contribution: float, months: int, inflation_rate: float
) -> float:
    """Initial plus each month-start contribution deflated to today's money."""
    monthly_deflator = (1.0 + inflation_rate) ** (-np.arange(months) / 12.0)
    return float(initial + contribution * monthly_deflator.sum())


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
    values = output.final_values
    invested = output.total_invested
    stats = _final_value_stats(values)
    drawdown_median, drawdown_95 = np.percentile(output.max_drawdowns, [50.0, 95.0])
    # GIPS: a return over less than a year is not annualized.
    annualizable = output.return_months >= MIN_ANNUALIZED_MONTHS
    cagr = output.annualized_returns[annualizable]
    below_risk_free = float(np.mean(cagr < risk_free_rate)) if cagr.size else None
    metrics: dict = {
        "final_value_stats": stats,
        "risk_metrics": {
            **_value_risk(values, invested),
            **_return_ratios(output, annualizable, risk_free_rate),
            "max_drawdown_pct": _number(100.0 * drawdown_median),
            "max_drawdown_pct_95": _number(100.0 * drawdown_95),
        },
        "annualized_return": _distribution(cagr),
        "probabilities": {
            **_probabilities(values, output.depleted, invested),
            "cagr_below_risk_free": below_risk_free,
        },
        "total_invested": _number(invested),
    }
    if inflation_rate != 0.0:
        if inflation_rate <= -1.0:
            raise ValueError("inflation_rate must be greater than -1")
        real_values = values / (1.0 + inflation_rate) ** years
        real_invested = real_total_invested(
            output.initial_investment, output.monthly_contribution, output.months, inflation_rate
        )
        real_stats = _final_value_stats(real_values)
        metrics["real"] = {
            "final_value_stats": real_stats,
            "risk_metrics": _value_risk(real_values, real_invested),
            "probabilities": _probabilities(real_values, output.depleted, real_invested),
            "total_invested": _number(real_invested),
        }
    return metrics
