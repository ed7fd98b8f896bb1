"""The historical block bootstrap through the fused kernel: exact replay, means, blocks, reruns."""

import math
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from app.engine import SimulationInputs, run_simulation
from app.engine.returns_bootstrap import BootstrapReturns
from tests.engine.monthly_returns import portfolio_returns
from tests.engine.reproducibility import assert_same_bits_whatever_threads_and_blocks


def portfolio(history: np.ndarray, *, block_months: int = 1, **overrides) -> SimulationInputs:
    assets = history.shape[1]
    inputs = SimulationInputs(
        weights=np.full(assets, 1.0 / assets),
        annual_returns=np.full(assets, 0.05),  # not used by the bootstrap
        annual_volatilities=np.full(assets, 0.1),
        correlation=np.eye(assets),
        initial_investment=10_000.0,
        monthly_contribution=0.0,
        years=10,
        num_paths=2_000,
        seed=9,
        sample_paths=overrides.get("num_paths", 2_000),
        return_model=BootstrapReturns(history, block_months),
    )
    return replace(inputs, **overrides)


def ar1_history(phi: float, months: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 0.03, months + 200)
    r = np.zeros_like(noise)
    for t in range(1, r.size):
        r[t] = phi * r[t - 1] + noise[t]
    return (0.006 + r[200:])[:, None]


def lag_one_autocorrelation(returns: np.ndarray) -> float:
    """Pooled over paths, each path centred on its own mean."""
    x = returns - returns.mean(axis=1, keepdims=True)
    return float((x[:, 1:] * x[:, :-1]).sum() / (x * x).sum())


@pytest.mark.parametrize("rebalancing", ["monthly", "none"])
def test_constant_history_replays_the_closed_form_compounding(rebalancing):
    history = np.tile([0.01, 0.004, -0.002], (30, 1))
    inputs = portfolio(
        history, block_months=7, monthly_contribution=250.0, rebalancing=rebalancing, num_paths=50
    )
    output = run_simulation(inputs)
    weights = [Decimal(1) / 3] * 3  # the float weights are 1/3 to 1e-16
    growth = [1 + Decimal(float(r)) for r in history[0]]
    holdings = [w * (10_000 + 250) for w in weights]
    for t in range(120):
        if t:
            total = sum(holdings) + 250
            holdings = (
                [w * total for w in weights]
                if rebalancing == "monthly"
                else [h + w * 250 for h, w in zip(holdings, weights, strict=True)]
            )
        holdings = [h * g for h, g in zip(holdings, growth, strict=True)]
    expected = float(sum(holdings))
    assert np.max(np.abs(output.final_values / expected - 1.0)) < 1e-12


def test_each_simulated_month_is_one_whole_historical_month():
    rng = np.random.default_rng(1)
    history = rng.normal(0.01, 0.05, (36, 2))
    r1 = portfolio_returns(portfolio(history, weights=np.array([0.5, 0.5]), num_paths=200))
    r2 = portfolio_returns(portfolio(history, weights=np.array([0.9, 0.1]), num_paths=200))
    portfolio_a = 1.0 + history @ [0.5, 0.5]
    portfolio_b = 1.0 + history @ [0.9, 0.1]
    month_a = np.abs(r1.ravel()[:, None] - portfolio_a[None, :]).argmin(axis=1)
    month_b = np.abs(r2.ravel()[:, None] - portfolio_b[None, :]).argmin(axis=1)
    assert np.array_equal(month_a, month_b)  # both assets of the same historical month
    assert np.allclose(r1.ravel(), portfolio_a[month_a], rtol=0, atol=1e-15)
    assert set(month_a) == set(range(36))


def test_iid_bootstrap_mean_matches_the_historys_within_four_standard_errors():
    history = np.random.default_rng(2).standard_t(4, (240, 2)) * 0.04 + 0.008
    output = run_simulation(portfolio(history, sample_paths=0))
    per_path = output.mean_monthly_returns
    target = float(np.mean(history @ [0.5, 0.5]))
    assert abs(per_path.mean() - target) < 4.0 * per_path.std(ddof=1) / math.sqrt(per_path.size)


def test_blocks_of_twelve_keep_the_autocorrelation_and_single_months_lose_it():
    history = ar1_history(0.5, 600, seed=3)
    blocks = portfolio_returns(portfolio(history, block_months=12, years=20))
    single = portfolio_returns(portfolio(history, block_months=1, years=20))
    assert lag_one_autocorrelation(blocks) >= 0.35
    assert abs(lag_one_autocorrelation(single)) < 4.0 / math.sqrt(single.size)


def test_blocks_longer_than_the_history_wrap_around_it():
    history = np.arange(1, 25, dtype=float)[:, None] * 1e-3  # month h returns (h + 1) / 1000
    returns = portfolio_returns(portfolio(history, block_months=120, num_paths=20, years=5))
    months = np.rint((returns - 1.0) * 1e3).astype(int) - 1
    steps = (np.diff(months, axis=1) - 1) % 24
    assert np.all(steps[:, :119] == 0)  # month 120 starts a new block


@pytest.mark.parametrize("block_months", [1, 5])
def test_same_seed_is_bit_identical_across_thread_counts_and_block_sizes(block_months):
    history = np.random.default_rng(4).normal(0.005, 0.04, (100, 3))
    inputs = portfolio(
        history,
        block_months=block_months,
        num_paths=3_001,
        years=4,
        sample_paths=30,
        monthly_contribution=-20.0,
        rebalancing="quarterly",
        risk_free_rate=0.02,
    )
    assert_same_bits_whatever_threads_and_blocks(inputs)


@pytest.mark.parametrize(
    "model",
    [
        BootstrapReturns(np.zeros((10, 3))),
        BootstrapReturns(np.full((10, 2), -1.0)),
        BootstrapReturns(np.full((10, 2), np.nan)),
        BootstrapReturns(np.zeros((0, 2))),
        BootstrapReturns(np.zeros((10, 2)), block_months=0),
        BootstrapReturns(np.zeros((10, 2)), block_months=121),
    ],
)
def test_unusable_histories_and_blocks_are_refused(model):
    inputs = portfolio(np.zeros((10, 2)), num_paths=10)
    with pytest.raises(ValueError, match=r"monthly_returns|block_months"):
        run_simulation(replace(inputs, return_model=model))
