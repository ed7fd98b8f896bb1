"""Risk metrics: exact values on a hand-made output, orderings and JSON safety on simulated ones."""

import json
import math
import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from app.engine import SimulationInputs, SimulationOutput, compute_metrics, run_simulation


def hand_made_output(
    final_values: np.ndarray, total_invested: float, **per_path: np.ndarray
) -> SimulationOutput:
    n = final_values.size
    fields = {
        "max_drawdowns": np.linspace(0.0, 0.5, n),
        "annualized_returns": np.full(n, 0.08),
        "annualized_volatilities": np.full(n, 0.2),
        "mean_monthly_returns": np.full(n, 0.007),
        "annualized_downside_deviations": np.full(n, 0.1),
        "return_months": np.full(n, 12.0),
        **per_path,
    }
    return SimulationOutput(
        seed=0,
        final_values=final_values,
        depleted=final_values <= 0.0,
        depletion_months=np.where(final_values <= 0.0, 12, 0),
        sample_paths=np.zeros((0, 13)),
        percentile_bands=np.zeros((13, 5)),
        band_paths_used=n,
        total_invested=total_invested,
        initial_investment=total_invested,
        monthly_contribution=0.0,
        months=12,
        risk_free_rate=0.03,
        **fields,
    )


SIMULATED = SimulationInputs(
    weights=np.array([0.6, 0.4]),
    annual_returns=np.array([0.10, 0.06]),
    annual_volatilities=np.array([0.18, 0.05]),
    correlation=np.array([[1.0, 0.1], [0.1, 1.0]]),
    initial_investment=1_000_000.0,
    monthly_contribution=50_000.0,
    years=10,
    num_paths=10_000,
    seed=3,
    risk_free_rate=0.04,
)


def one_asset(mu: float, sigma: float, **overrides) -> SimulationInputs:
    """One asset, monthly rebalancing, no flows unless overridden."""
    inputs = replace(
        SIMULATED,
        weights=np.array([1.0]),
        annual_returns=np.array([mu]),
        annual_volatilities=np.array([sigma]),
        correlation=np.array([[1.0]]),
        monthly_contribution=0.0,
        risk_free_rate=0.02,
        sample_paths=0,
    )
    return replace(inputs, **overrides)


def metrics_of(inputs: SimulationInputs, **options) -> dict:
    return compute_metrics(
        run_simulation(inputs), risk_free_rate=inputs.risk_free_rate, years=inputs.years, **options
    )


def test_metrics_of_a_known_distribution():
    values = np.arange(1.0, 101.0)  # 1..100
    metrics = compute_metrics(hand_made_output(values, 50.0), risk_free_rate=0.03, years=1)
    stats = metrics["final_value_stats"]
    assert stats["mean"] == 50.5
    assert stats["median"] == 50.5
    assert stats["min"] == 1.0 and stats["max"] == 100.0
    assert stats["percentile_5"] == pytest.approx(5.95)
    assert stats["std_dev"] == pytest.approx(np.std(values, ddof=1))
    risk = metrics["risk_metrics"]
    assert risk["var_95"] == pytest.approx(5.95)
    assert risk["var_99"] == pytest.approx(1.99)
    assert risk["cvar_95"] == pytest.approx(3.0)  # mean of the worst 5: 1..5
    assert risk["var_95_loss"] == pytest.approx(50.0 - 5.95)
    assert risk["var_95_relative"] == pytest.approx(50.5 - 5.95)
    assert risk["var_99_relative"] == pytest.approx(50.5 - 1.99)
    assert risk["sharpe_ratio"] == pytest.approx((12 * 0.007 - 0.03) / 0.2)
    assert risk["sortino_ratio"] == pytest.approx((12 * 0.007 - 0.03) / 0.1)
    assert risk["sharpe_ratio_geometric"] == pytest.approx((0.08 - 0.03) / 0.2)
    assert risk["max_drawdown_pct"] == pytest.approx(25.0)
    assert risk["max_drawdown_pct_95"] == pytest.approx(47.5)
    probabilities = metrics["probabilities"]
    assert probabilities["loss"] == 0.49  # 1..49 below 50
    assert probabilities["positive_return"] == pytest.approx(0.51)
    assert probabilities["doubling"] == 0.01  # only 100 >= 2 * 50
    assert probabilities["depletion"] == 0.0
    assert probabilities["cagr_below_risk_free"] == 0.0
    assert metrics["annualized_return"]["percentile_10"] == pytest.approx(0.08)
    assert "real" not in metrics


def test_annualized_figures_use_only_paths_with_a_year_of_returns():
    months = np.array([12.0, 11.0, 120.0, 0.0])
    output = hand_made_output(
        np.array([10.0, 20.0, 30.0, 0.0]),
        10.0,
        return_months=months,
        annualized_returns=np.array([0.10, 5.0, 0.02, np.nan]),
        annualized_volatilities=np.array([0.2, 0.4, 0.1, np.nan]),
        mean_monthly_returns=np.array([0.01, 0.5, 0.004, np.nan]),
        annualized_downside_deviations=np.array([0.1, 0.3, 0.05, np.nan]),
    )
    metrics = compute_metrics(output, risk_free_rate=0.03, years=1)
    risk = metrics["risk_metrics"]
    assert risk["sharpe_ratio"] == pytest.approx(((0.12 - 0.03) / 0.2 + (0.048 - 0.03) / 0.1) / 2)
    assert risk["sortino_ratio"] == pytest.approx(((0.12 - 0.03) / 0.1 + (0.048 - 0.03) / 0.05) / 2)
    assert risk["sharpe_ratio_geometric"] == pytest.approx((0.06 - 0.03) / 0.15)
    assert metrics["annualized_return"]["mean"] == pytest.approx(0.06)
    assert metrics["annualized_return"]["percentile_95"] == pytest.approx(0.096)
    assert metrics["probabilities"]["cagr_below_risk_free"] == 0.5


def test_orderings_of_percentiles_var_and_cvar():
    output = run_simulation(SIMULATED)
    metrics = compute_metrics(output, risk_free_rate=0.04, years=10)
    stats = metrics["final_value_stats"]
    risk = metrics["risk_metrics"]
    chain = [
        stats["min"],
        risk["cvar_95"],
        risk["var_95"],
        stats["percentile_10"],
        stats["percentile_25"],
        stats["median"],
        stats["percentile_75"],
        stats["percentile_90"],
        stats["percentile_95"],
        stats["max"],
    ]
    assert chain == sorted(chain) and len(set(chain)) == len(chain)
    assert risk["var_99"] <= risk["var_95"] == stats["percentile_5"]
    assert risk["var_99_loss"] >= risk["var_95_loss"]
    assert risk["var_95_relative"] == stats["mean"] - risk["var_95"]
    assert risk["var_99_relative"] == stats["mean"] - risk["var_99"]
    assert risk["var_99_relative"] > risk["var_95_relative"] > 0.0
    assert 0.0 < risk["max_drawdown_pct"] <= risk["max_drawdown_pct_95"] < 100.0
    assert risk["sharpe_ratio"] > 0.0
    p = metrics["probabilities"]
    assert p["loss"] + p["positive_return"] == pytest.approx(1.0)
    assert 0.0 <= p["doubling"] <= p["positive_return"]
    assert np.all(np.diff(output.percentile_bands, axis=1) >= 0.0)


def test_real_terms_deflate_values_and_contributions():
    output = run_simulation(SIMULATED)
    metrics = compute_metrics(output, risk_free_rate=0.04, inflation_rate=0.05, years=10)
    real = metrics["real"]
    deflator = 1.05**10
    assert real["final_value_stats"]["mean"] == pytest.approx(output.final_values.mean() / deflator)
    for name in ("percentile_10", "percentile_90"):
        real_value = real["final_value_stats"][name]
        assert real_value == pytest.approx(metrics["final_value_stats"][name] / deflator)
    real_risk = real["risk_metrics"]
    assert real_risk["var_95"] == pytest.approx(metrics["risk_metrics"]["var_95"] / deflator)
    assert real_risk["var_95_relative"] == real["final_value_stats"]["mean"] - real_risk["var_95"]
    assert real_risk["var_99_relative"] == real["final_value_stats"]["mean"] - real_risk["var_99"]
    contributions = 50_000.0 * sum(1.05 ** (-k / 12) for k in range(120))
    assert real["total_invested"] == pytest.approx(1_000_000.0 + contributions)
    assert real["probabilities"]["loss"] >= metrics["probabilities"]["loss"]


def test_metrics_are_json_ready_and_undefined_values_are_none():
    flat = replace(SIMULATED, annual_volatilities=np.zeros(2), num_paths=100)
    metrics = metrics_of(flat)
    for name in ("sharpe_ratio", "sharpe_ratio_geometric", "sortino_ratio"):
        assert metrics["risk_metrics"][name] is None  # zero volatility
    json.dumps(metrics, allow_nan=False)
    draining = replace(SIMULATED, monthly_contribution=-11_000.0)
    metrics = metrics_of(draining)
    json.dumps(metrics, allow_nan=False)
    probabilities = metrics["probabilities"]
    assert probabilities["loss"] is None and probabilities["doubling"] is None
    assert 0.0 < probabilities["depletion"] < 1.0


def test_years_and_risk_free_rate_must_match_the_simulation():
    output = run_simulation(replace(SIMULATED, num_paths=100))
    with pytest.raises(ValueError, match="years"):
        compute_metrics(output, risk_free_rate=0.04, years=5)
    with pytest.raises(ValueError, match="risk_free_rate"):
        compute_metrics(output, risk_free_rate=0.0, years=10)


def test_sharpe_matches_the_ex_ante_value_of_one_asset():
    mu, sigma, risk_free = 0.08, 0.16, 0.02
    inputs = one_asset(mu, sigma, years=30, num_paths=20_000)
    growth = math.exp(mu / 12)
    ex_ante = (12 * (growth - 1) - risk_free) / (
        math.sqrt(12) * growth * math.sqrt(math.expm1(sigma**2 / 12))
    )
    assert metrics_of(inputs)["risk_metrics"]["sharpe_ratio"] == pytest.approx(ex_ante, abs=0.02)


def test_per_path_moments_and_downside_match_the_sample_paths():
    inputs = one_asset(0.06, 0.2, years=5, num_paths=300, sample_paths=300, risk_free_rate=0.03)
    output = run_simulation(inputs)
    monthly = output.sample_paths[:, 1:] / output.sample_paths[:, :-1] - 1.0  # no flows
    shortfall = np.minimum(monthly - 0.03 / 12, 0.0)
    assert np.allclose(output.mean_monthly_returns, monthly.mean(axis=1), rtol=1e-10)
    assert np.allclose(
        output.annualized_downside_deviations,
        np.sqrt(12 * np.mean(shortfall**2, axis=1)),
        rtol=1e-10,
    )
    sharpe = (12 * monthly.mean(axis=1) - 0.03) / (math.sqrt(12) * monthly.std(axis=1, ddof=1))
    risk = compute_metrics(output, risk_free_rate=0.03, years=5)["risk_metrics"]
    assert risk["sharpe_ratio"] == pytest.approx(sharpe.mean(), rel=1e-10)


def test_sortino_exceeds_sharpe_for_a_positive_drift_asset():
    risk = metrics_of(one_asset(0.10, 0.15, num_paths=2_000))["risk_metrics"]
    assert risk["sortino_ratio"] > risk["sharpe_ratio"] > 0.0


def test_ratios_and_cagr_are_null_when_every_path_is_depleted_by_month_two():
    inputs = one_asset(0.05, 0.2, initial_investment=1_000.0, monthly_contribution=-400.0)
    output = run_simulation(replace(inputs, num_paths=2_000))
    assert np.all(output.return_months == 2) and np.all(output.depleted)
    metrics = compute_metrics(output, risk_free_rate=0.02, years=10)
    for name in ("sharpe_ratio", "sharpe_ratio_geometric", "sortino_ratio"):
        assert metrics["risk_metrics"][name] is None
    assert set(metrics["annualized_return"].values()) == {None}
    assert metrics["probabilities"]["cagr_below_risk_free"] is None
    assert metrics["probabilities"]["depletion"] == 1.0


def test_cagr_distribution_is_ordered_and_time_weighted():
    metrics = metrics_of(SIMULATED)
    cagr = metrics["annualized_return"]
    chain = [cagr[f"percentile_{q}"] for q in (5, 10, 25)] + [cagr["median"]]
    chain += [cagr[f"percentile_{q}"] for q in (75, 90, 95)]
    assert chain == sorted(chain) and len(set(chain)) == len(chain)
    assert chain[0] < cagr["mean"] < chain[-1]
    assert 0.0 < metrics["probabilities"]["cagr_below_risk_free"] < 0.5


def test_cagr_at_zero_volatility_is_the_closed_form_whatever_the_contributions():
    inputs = one_asset(0.07, 0.0, monthly_contribution=2_000.0, num_paths=64, risk_free_rate=0.1)
    closed_form = math.expm1(0.07)
    assert run_simulation(inputs).annualized_returns == pytest.approx(closed_form, rel=1e-12)
    metrics = metrics_of(inputs)
    for value in metrics["annualized_return"].values():
        assert value == pytest.approx(closed_form, rel=1e-12)
    assert metrics["probabilities"]["cagr_below_risk_free"] == 1.0


def test_the_fields_that_existed_keep_their_formulas():
    output = run_simulation(replace(SIMULATED, monthly_contribution=-11_000.0, num_paths=5_000))
    metrics = compute_metrics(output, risk_free_rate=0.04, years=10)
    values, invested = output.final_values, output.total_invested
    p = {q: np.percentile(values, q) for q in (1, 5, 25, 50, 75, 95)}
    worst = math.ceil(0.05 * values.size)
    exact = [Fraction(value) for value in values]
    n = len(exact)
    exact_mean = sum(exact) / n
    exact_variance = sum((value - exact_mean) ** 2 for value in exact) / (n - 1)
    assert metrics["final_value_stats"] == {
        # Exact sums rounded once (np.mean's pairwise sum is within a few ulps of these).
        "mean": float(exact_mean),
        "median": p[50],
        "std_dev": math.sqrt(float(exact_variance)),
        "min": values.min(),
        "max": values.max(),
        "percentile_5": p[5],
        "percentile_10": np.percentile(values, 10),
        "percentile_25": p[25],
        "percentile_75": p[75],
        "percentile_90": np.percentile(values, 90),
        "percentile_95": p[95],
    }
    risk = metrics["risk_metrics"]
    assert (risk["var_95"], risk["var_99"]) == (p[5], p[1])
    assert (risk["var_95_loss"], risk["var_99_loss"]) == (invested - p[5], invested - p[1])
    assert risk["cvar_95"] == float(sum(sorted(exact)[:worst]) / worst)
    assert risk["cvar_95"] == pytest.approx(np.sort(values)[:worst].mean(), rel=1e-15)
    assert risk["max_drawdown_pct"] == 100 * np.median(output.max_drawdowns)
    assert risk["max_drawdown_pct_95"] == 100 * np.percentile(output.max_drawdowns, 95)
    # No path is depleted before a year: the geometric Sharpe is the former sharpe_ratio.
    assert np.all(output.return_months >= 12)
    former = (np.nanmean(output.annualized_returns) - 0.04) / np.nanmean(
        output.annualized_volatilities
    )
    assert risk["sharpe_ratio_geometric"] == pytest.approx(former, rel=1e-14)
    assert metrics["probabilities"]["depletion"] == output.depleted.mean() > 0.0


def test_std_dev_of_a_single_path_is_undefined():
    metrics = metrics_of(replace(SIMULATED, num_paths=1, sample_paths=1), inflation_rate=0.02)
    assert metrics["final_value_stats"]["std_dev"] is None
    assert metrics["real"]["final_value_stats"]["std_dev"] is None
    assert metrics["final_value_stats"]["percentile_10"] == metrics["final_value_stats"]["max"]


def test_the_engine_doc_quotes_the_drawdown_the_engine_gives_for_the_spec_example():
    doc = (Path(__file__).parents[2] / "docs" / "engine.md").read_text()
    quoted = re.search(r"spec example (?:gives )?([0-9]+\.[0-9])", doc)
    spec_example = SimulationInputs(
        weights=np.array([0.6, 0.4]),
        annual_returns=np.array([0.08, 0.04]),
        annual_volatilities=np.array([0.16, 0.06]),
        correlation=np.array([[1.0, 0.1], [0.1, 1.0]]),
        initial_investment=1_000_000.0,
        monthly_contribution=50_000.0,
        years=10,
        num_paths=10_000,
        seed=42,
        risk_free_rate=0.02,
    )
    drawdown = metrics_of(spec_example)["risk_metrics"]["max_drawdown_pct"]
    assert quoted is not None and float(quoted.group(1)) == round(drawdown, 1)
