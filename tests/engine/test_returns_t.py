"""The multivariate Student-t model through the fused kernel: law, moments, tails, reruns."""

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from app.engine import SimulationInputs, run_simulation
from app.engine.returns_normal import NormalReturns
from app.engine.returns_t import StudentTReturns
from tests.engine.monthly_returns import portfolio_returns, two_asset_returns
from tests.engine.reproducibility import assert_same_bits_whatever_threads_and_blocks

MU, SIGMA = 0.06, 0.2
DT = 1.0 / 12.0


def one_asset(nu: int, *, paths: int, years: int, seed: int = 5) -> SimulationInputs:
    return SimulationInputs(
        weights=np.array([1.0]),
        annual_returns=np.array([MU]),
        annual_volatilities=np.array([SIGMA]),
        correlation=np.eye(1),
        initial_investment=1.0,
        monthly_contribution=0.0,
        years=years,
        num_paths=paths,
        seed=seed,
        sample_paths=paths,
        return_model=StudentTReturns(nu),
    )


def shocks(inputs: SimulationInputs) -> np.ndarray:
    """X = (log R - (mu - sigma**2 / 2) dt) / (sigma sqrt(dt)) of every path-month."""
    log_returns = np.log(portfolio_returns(inputs)).ravel()
    return (log_returns - (MU - 0.5 * SIGMA**2) * DT) / (SIGMA * math.sqrt(DT))


def two_assets(model, *, paths: int = 1_000, years: int = 20, rho: float = 0.5):
    return SimulationInputs(
        weights=np.array([0.5, 0.5]),
        annual_returns=np.array([0.07, 0.03]),
        annual_volatilities=np.array([0.18, 0.07]),
        correlation=np.array([[1.0, rho], [rho, 1.0]]),
        initial_investment=1.0,
        monthly_contribution=0.0,
        years=years,
        num_paths=paths,
        seed=17,
        sample_paths=paths,
        return_model=model,
    )


def test_a_million_shocks_are_student_t_scaled_to_unit_variance():
    nu = 5
    x = shocks(one_asset(nu, paths=1_000, years=84))
    assert x.size >= 1_000_000
    law = stats.t(nu, scale=math.sqrt((nu - 2) / nu))
    assert stats.kstest(x, law.cdf).pvalue > 0.01
    # The normal with the same variance is rejected outright: the test has power.
    assert stats.kstest(x, stats.norm.cdf).pvalue < 1e-10


def test_kurtosis_of_monthly_log_returns_is_that_of_the_t():
    nu = 8
    x = shocks(one_asset(nu, paths=1_000, years=84, seed=6))
    assert stats.kurtosis(x, fisher=False) == pytest.approx(3.0 + 6.0 / (nu - 4), abs=0.2)
    assert abs(x.var() - 1.0) < 0.01


def test_volatility_and_correlation_of_log_returns_match_sigma_and_c():
    inputs = two_assets(StudentTReturns(5))
    r1, r2 = two_asset_returns(inputs)
    log1, log2 = np.log(r1), np.log(r2)
    n = log1.size
    # Var(X**2) = kurtosis - 1 = 8 for nu = 5: the variance estimate's relative error is ~sqrt(8/n).
    tolerance = 4.0 * math.sqrt(8.0 / n) / 2.0
    assert log1.std() / math.sqrt(DT) == pytest.approx(0.18, rel=tolerance)
    assert log2.std() / math.sqrt(DT) == pytest.approx(0.07, rel=tolerance)
    assert np.corrcoef(log1, log2)[0, 1] == pytest.approx(0.5, abs=0.02)


def test_joint_crashes_are_more_frequent_than_under_the_normal_model():
    def joint_tail_share(model) -> float:
        r1, r2 = two_asset_returns(two_assets(model))
        q1, q2 = np.quantile(r1, 0.01), np.quantile(r2, 0.01)
        return float(np.mean((r1 < q1) & (r2 < q2)))

    normal = joint_tail_share(NormalReturns())
    fat = joint_tail_share(StudentTReturns(4))
    n = 240_000
    se = math.sqrt(normal / n) + math.sqrt(fat / n)
    assert fat - normal > 6.0 * se
    assert fat > 1.5 * normal


def test_same_seed_is_bit_identical_across_thread_counts_and_block_sizes():
    inputs = replace(
        two_assets(StudentTReturns(7), paths=3_001, years=3),
        monthly_contribution=100.0,
        rebalancing="quarterly",
        sample_paths=20,
        risk_free_rate=0.02,
    )
    assert_same_bits_whatever_threads_and_blocks(inputs)


def test_the_normals_are_the_normal_models_so_only_the_scale_differs():
    normal = shocks(replace(one_asset(5, paths=50, years=2), return_model=NormalReturns()))
    fat = shocks(one_asset(5, paths=50, years=2))
    ratio = fat / normal  # sqrt((nu - 2) / W): positive, one per path-month
    assert np.all(ratio > 0.0)
    assert np.median(ratio) == pytest.approx(math.sqrt(3.0 / stats.chi2(5).median()), rel=0.1)


@pytest.mark.parametrize("nu", [2, 101, 5.0, True])
def test_degrees_of_freedom_outside_3_to_100_are_refused(nu):
    with pytest.raises(ValueError, match="degrees_of_freedom"):
        run_simulation(one_asset(nu, paths=10, years=1))
