"""The simulated portfolio against closed forms, exact expectations and its own reruns."""

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal, getcontext

import numpy as np
import pytest

from app.engine import (
    REBALANCING_INTERVALS,
    InvalidCorrelationError,
    SimulationInputs,
    run_simulation,
)
from app.engine.simulate import SEED_BOUND, band_path_count, correlation_factor
from tests.engine.reproducibility import assert_same_bits_whatever_threads_and_blocks

getcontext().prec = 50

THREE_ASSETS = SimulationInputs(
    weights=np.array([0.5, 0.3, 0.2]),
    annual_returns=np.array([0.08, 0.035, 0.12]),
    annual_volatilities=np.array([0.16, 0.06, 0.35]),
    correlation=np.array([[1.0, 0.2, 0.5], [0.2, 1.0, -0.1], [0.5, -0.1, 1.0]]),
    initial_investment=100_000.0,
    monthly_contribution=1_000.0,
    years=10,
    num_paths=20_000,
    seed=11,
    sample_paths=50,
)


def one_asset(mu: float, sigma: float, **overrides) -> SimulationInputs:
    inputs = SimulationInputs(
        weights=np.array([1.0]),
        annual_returns=np.array([mu]),
        annual_volatilities=np.array([sigma]),
        correlation=np.array([[1.0]]),
        initial_investment=10_000.0,
        monthly_contribution=500.0,
        years=30,
        num_paths=64,
        seed=1,
        sample_paths=4,
    )
    return replace(inputs, **overrides)


def exact_mean_final_value(inputs: SimulationInputs) -> float:
    """E[V_T] by the exact recursion on expected holdings (contributions >= 0 keep it linear)."""
    every = REBALANCING_INTERVALS[inputs.rebalancing]
    growth = np.exp(inputs.annual_returns / 12.0)
    holdings = np.zeros_like(growth)
    for t in range(12 * inputs.years):
        if t == 0:
            holdings = inputs.weights * (inputs.initial_investment + inputs.monthly_contribution)
        elif every and t % every == 0:
            holdings = inputs.weights * (holdings.sum() + inputs.monthly_contribution)
        else:
            holdings = holdings + inputs.weights * inputs.monthly_contribution
        holdings = holdings * growth
    return float(holdings.sum())


def test_zero_volatility_matches_closed_form_compounding():
    inputs = one_asset(0.07, 0.0)
    growth = (Decimal(float(inputs.annual_returns[0])) / 12).exp()  # the float the engine sees
    months = 360
    expected = Decimal(10_000) * growth**months + Decimal(500) * sum(
        growth**k for k in range(1, months + 1)
    )
    final = run_simulation(inputs).final_values
    assert np.all(final == final[0])
    assert abs(Decimal(final[0]) / expected - 1) < Decimal("1e-12")


@pytest.mark.parametrize("rebalancing", ["none", "quarterly", "annually"])
def test_zero_volatility_with_drifting_holdings_matches_exact_recursion(rebalancing):
    inputs = replace(
        THREE_ASSETS,
        annual_volatilities=np.zeros(3),
        rebalancing=rebalancing,
        num_paths=8,
        sample_paths=0,
    )
    growth = [(Decimal(float(mu)) / 12).exp() for mu in inputs.annual_returns]
    weights = [Decimal(float(w)) for w in inputs.weights]
    c = Decimal(1_000)
    every = REBALANCING_INTERVALS[rebalancing]
    holdings = [Decimal(0)] * 3
    for t in range(120):
        total = sum(holdings) if t else Decimal(100_000)
        if t == 0 or (every and t % every == 0):
            holdings = [w * (total + c) for w in weights]
        else:
            holdings = [h + w * c for h, w in zip(holdings, weights, strict=True)]
        holdings = [h * g for h, g in zip(holdings, growth, strict=True)]
    final = run_simulation(inputs).final_values
    assert abs(Decimal(final[3]) / sum(holdings) - 1) < Decimal("1e-12")


@pytest.mark.parametrize("rebalancing", ["monthly", "quarterly", "annually", "none"])
def test_mean_final_value_is_within_four_standard_errors_of_exact(rebalancing):
    inputs = replace(THREE_ASSETS, rebalancing=rebalancing)
    final = run_simulation(inputs).final_values
    standard_error = final.std(ddof=1) / math.sqrt(final.size)
    assert abs(final.mean() - exact_mean_final_value(inputs)) < 4.0 * standard_error


@pytest.mark.parametrize(
    ("mu", "sigma", "years", "initial", "contribution"),
    [(0.10, 0.80, 5, 1_000.0, 0.0), (0.02, 0.03, 20, 0.0, 100.0), (-0.05, 0.25, 10, 5e6, 2e4)],
)
def test_mean_is_exact_for_other_portfolios(mu, sigma, years, initial, contribution):
    inputs = one_asset(
        mu,
        sigma,
        years=years,
        initial_investment=initial,
        monthly_contribution=contribution,
        num_paths=40_000,
    )
    final = run_simulation(inputs).final_values
    standard_error = final.std(ddof=1) / math.sqrt(final.size)
    assert abs(final.mean() - exact_mean_final_value(inputs)) < 4.0 * standard_error


def test_annualized_volatility_recovers_sigma_exactly_in_expectation():
    mu, sigma = 0.06, 0.3
    output = run_simulation(one_asset(mu, sigma, years=10, num_paths=20_000))
    monthly_variance = output.annualized_volatilities**2 / 12.0  # unbiased per path (ddof=1)
    exact = math.exp(2 * mu / 12) * math.expm1(sigma**2 / 12)
    se = monthly_variance.std(ddof=1) / math.sqrt(monthly_variance.size)
    assert abs(monthly_variance.mean() - exact) < 4.0 * se
    assert np.median(output.annualized_volatilities) == pytest.approx(sigma, rel=0.03)


@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.8])
def test_portfolio_variance_recovers_the_correlation(rho):
    mu = np.array([0.05, 0.09])
    sigma = np.array([0.2, 0.3])
    weights = np.array([0.5, 0.5])
    inputs = replace(
        THREE_ASSETS,
        weights=weights,
        annual_returns=mu,
        annual_volatilities=sigma,
        correlation=np.array([[1.0, rho], [rho, 1.0]]),
        monthly_contribution=0.0,
    )
    monthly_variance = run_simulation(inputs).annualized_volatilities ** 2 / 12.0
    rho_matrix = np.array([[1.0, rho], [rho, 1.0]])
    second_moment = np.exp(np.add.outer(mu, mu) / 12) * np.expm1(
        np.outer(sigma, sigma) * rho_matrix / 12
    )
    exact = weights @ second_moment @ weights
    se = monthly_variance.std(ddof=1) / math.sqrt(monthly_variance.size)
    assert abs(monthly_variance.mean() - exact) < 4.0 * se


def test_correlated_log_returns_match_the_correlation_matrix():
    correlation = np.array(
        [
            [1.0, 0.6, -0.3, 0.6],
            [0.6, 1.0, 0.1, 1.0],  # asset 3 duplicates asset 1: singular but valid
            [-0.3, 0.1, 1.0, 0.1],
            [0.6, 1.0, 0.1, 1.0],
        ]
    )
    factor = correlation_factor(correlation)
    normals = np.random.default_rng(5).standard_normal((4, 400_000))
    sample = np.corrcoef(factor @ normals)
    assert np.allclose(sample, correlation, atol=4.0 / math.sqrt(400_000) * 2)
    assert np.allclose(factor @ factor.T, correlation, atol=1e-12)
    assert np.allclose(factor, np.tril(factor))


def test_non_psd_or_malformed_correlation_is_rejected_clearly():
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    with pytest.raises(InvalidCorrelationError, match="positive semi-definite"):
        run_simulation(replace(THREE_ASSETS, correlation=bad))
    with pytest.raises(InvalidCorrelationError, match="symmetric"):
        run_simulation(replace(THREE_ASSETS, correlation=np.triu(np.full((3, 3), 0.5)) + 0.5))
    with pytest.raises(InvalidCorrelationError, match="shape"):
        run_simulation(replace(THREE_ASSETS, correlation=np.eye(2)))
    assert issubclass(InvalidCorrelationError, ValueError)


@pytest.mark.parametrize(
    "overrides",
    [
        {"weights": np.array([0.5, 0.3, 0.1])},
        {"weights": np.array([0.7, 0.5, -0.2])},
        {"annual_volatilities": np.array([0.1, -0.1, 0.2])},
        {"years": 0},
        {"years": 101},
        {"num_paths": 0},
        {"sample_paths": 20_001},
        {"rebalancing": "weekly"},
        {"seed": -1},
        {"initial_investment": 0.0, "monthly_contribution": 0.0},
        {"annual_returns": np.array([0.1, np.nan, 0.1])},
    ],
)
def test_bad_inputs_raise_value_error(overrides):
    with pytest.raises(ValueError):
        run_simulation(replace(THREE_ASSETS, **overrides))


def test_same_seed_is_bit_identical_across_thread_counts_and_block_sizes():
    inputs = replace(THREE_ASSETS, num_paths=3_001, rebalancing="quarterly", risk_free_rate=0.03)
    assert_same_bits_whatever_threads_and_blocks(inputs)


def test_concurrent_calls_from_threads_give_the_sequential_results():
    inputs = [replace(THREE_ASSETS, num_paths=5_000, seed=s) for s in range(4)]
    sequential = [run_simulation(i).final_values for i in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda i: run_simulation(i).final_values, inputs))
    assert all(np.array_equal(a, b) for a, b in zip(sequential, concurrent, strict=True))


def test_different_seeds_differ_and_a_drawn_seed_reproduces():
    first = run_simulation(replace(THREE_ASSETS, num_paths=1_000))
    other = run_simulation(replace(THREE_ASSETS, num_paths=1_000, seed=12))
    assert not np.any(first.final_values == other.final_values)
    drawn = run_simulation(replace(THREE_ASSETS, num_paths=1_000, seed=None))
    assert 0 <= drawn.seed < SEED_BOUND
    again = run_simulation(replace(THREE_ASSETS, num_paths=1_000, seed=drawn.seed))
    assert np.array_equal(drawn.final_values, again.final_values)


def test_sample_paths_and_bands_are_the_first_paths():
    inputs = replace(THREE_ASSETS, num_paths=300, sample_paths=300)
    output = run_simulation(inputs)
    assert output.sample_paths.shape == (300, 121)
    assert np.all(output.sample_paths[:, 0] == 100_000.0)
    assert np.array_equal(output.sample_paths[:, -1], output.final_values)
    assert output.band_paths_used == 300
    expected = np.percentile(output.sample_paths, [5, 25, 50, 75, 95], axis=0).T
    assert np.allclose(output.percentile_bands, expected, rtol=1e-14, atol=0)
    assert np.all(np.diff(output.percentile_bands, axis=1) >= 0)


def test_bands_use_a_bounded_subset_for_large_runs():
    assert band_path_count(1_000_000, 120) == 10_000
    assert band_path_count(1_000_000, 1200) * 1201 <= 4_000_000
    assert band_path_count(500, 120) == 500


def test_withdrawals_deplete_on_the_month_the_money_runs_out():
    inputs = one_asset(0.0, 0.0, initial_investment=1_000.0, monthly_contribution=-100.0, years=1)
    output = run_simulation(inputs)
    assert np.all(output.depleted)
    expected = [1_000.0, 900, 800, 700, 600, 500, 400, 300, 200, 100, 0, 0, 0]
    assert np.array_equal(output.sample_paths[0], expected)
    assert np.all(output.return_months == 9)
    assert output.total_invested == -200.0


def test_withdrawals_that_the_returns_cover_never_deplete():
    inputs = one_asset(0.05, 0.0, initial_investment=1_200.0, monthly_contribution=-100.0, years=1)
    output = run_simulation(inputs)
    growth = math.exp(0.05 / 12)
    closed_form = 1_200.0 * growth**12 - 100.0 * sum(growth**k for k in range(1, 13))
    assert not np.any(output.depleted)
    assert output.final_values == pytest.approx(closed_form, rel=1e-12)


def test_risky_withdrawals_deplete_some_paths_and_they_stay_empty():
    inputs = one_asset(0.05, 0.25, monthly_contribution=-50.0, num_paths=2_000, sample_paths=2_000)
    output = run_simulation(inputs)
    share = output.depleted.mean()
    assert 0.05 < share < 0.95
    paths = output.sample_paths[output.depleted]
    first_zero = np.argmax(paths == 0.0, axis=1)
    after = np.arange(paths.shape[1]) >= first_zero[:, None]
    assert np.all(paths[after] == 0.0)
    assert np.all(output.final_values[~output.depleted] > 0.0)


def test_a_value_that_underflows_to_zero_counts_as_depleted():
    inputs = one_asset(0.0, 5.0, years=100, monthly_contribution=0.0, num_paths=256)
    output = run_simulation(inputs)
    emptied = output.final_values == 0.0
    assert emptied.mean() > 0.5
    assert np.array_equal(output.depleted, emptied)
    assert np.all(output.return_months[emptied] < 1200)
