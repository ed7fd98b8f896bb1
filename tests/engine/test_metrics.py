"""Risk metrics: exact values on a hand-made output, orderings and JSON safety on simulated ones."""

import json
from dataclasses import replace

import numpy as np
import pytest

from app.engine import SimulationInputs, SimulationOutput, compute_metrics, run_simulation


def hand_made_output(final_values: np.ndarray, total_invested: float) -> SimulationOutput:
    n = final_values.size
    return SimulationOutput(
        seed=0,
        final_values=final_values,
        max_drawdowns=np.linspace(0.0, 0.5, n),
        annualized_returns=np.full(n, 0.08),
        annualized_volatilities=np.full(n, 0.2),
        depleted=final_values <= 0.0,
        sample_paths=np.zeros((0, 13)),
        percentile_bands=np.zeros((13, 5)),
        band_paths_used=n,
        total_invested=total_invested,
        initial_investment=total_invested,
        monthly_contribution=0.0,
        months=12,
        return_months=np.full(n, 12.0),
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
    assert risk["sharpe_ratio"] == pytest.approx((0.08 - 0.03) / 0.2)
    assert risk["max_drawdown_pct"] == pytest.approx(25.0)
    assert risk["max_drawdown_pct_95"] == pytest.approx(47.5)
    probabilities = metrics["probabilities"]
    assert probabilities["loss"] == 0.49  # 1..49 below 50
    assert probabilities["positive_return"] == pytest.approx(0.51)
    assert probabilities["doubling"] == 0.01  # only 100 >= 2 * 50
    assert probabilities["depletion"] == 0.0
    assert "real" not in metrics


def test_orderings_of_percentiles_var_and_cvar():
    output = run_simulation(SIMULATED)
    metrics = compute_metrics(output, risk_free_rate=0.04, years=10)
    stats = metrics["final_value_stats"]
    risk = metrics["risk_metrics"]
    chain = [
        stats["min"],
        risk["cvar_95"],
        risk["var_95"],
        stats["percentile_25"],
        stats["median"],
        stats["percentile_75"],
        stats["percentile_95"],
        stats["max"],
    ]
    assert chain == sorted(chain)
    assert risk["var_99"] <= risk["var_95"] == stats["percentile_5"]
    assert risk["var_99_loss"] >= risk["var_95_loss"]
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
    assert real["risk_metrics"]["var_95"] == pytest.approx(
        metrics["risk_metrics"]["var_95"] / deflator
    )
    contributions = 50_000.0 * sum(1.05 ** (-k / 12) for k in range(120))
    assert real["total_invested"] == pytest.approx(1_000_000.0 + contributions)
    assert real["probabilities"]["loss"] >= metrics["probabilities"]["loss"]


def test_metrics_are_json_ready_and_undefined_values_are_none():
    flat = replace(SIMULATED, annual_volatilities=np.zeros(2), num_paths=100)
    metrics = compute_metrics(run_simulation(flat), risk_free_rate=0.0, years=10)
    assert metrics["risk_metrics"]["sharpe_ratio"] is None  # zero volatility
    json.dumps(metrics, allow_nan=False)
    draining = replace(SIMULATED, monthly_contribution=-11_000.0)
    metrics = compute_metrics(run_simulation(draining), risk_free_rate=0.0, years=10)
    json.dumps(metrics, allow_nan=False)
    probabilities = metrics["probabilities"]
    assert probabilities["loss"] is None and probabilities["doubling"] is None
    assert 0.0 < probabilities["depletion"] < 1.0


def test_years_must_match_the_simulation():
    with pytest.raises(ValueError, match="years"):
        compute_metrics(run_simulation(SIMULATED), risk_free_rate=0.0, years=5)
