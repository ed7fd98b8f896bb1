"""The safe withdrawal rate: the zero-volatility annuity, monotone in the target, repeatable."""

import itertools
from dataclasses import replace

import numpy as np
import pytest

from app.engine import run_simulation
from app.engine.safe_withdrawal import MAX_RUNS, TOLERANCE, solve_safe_withdrawal
from app.engine.withdrawal_fixed_real import FixedRealWithdrawals
from tests.engine.plans import GROWTH, geometric_sum, riskless

INFLATION = 0.02
MONTHLY_INFLATION = (1.0 + INFLATION) ** (1.0 / 12.0)


@pytest.mark.parametrize(("years", "start"), [(10, 1), (30, 1), (25, 61)])
def test_at_zero_volatility_it_is_the_annuity_that_just_exhausts_the_money(years, start) -> None:
    inputs = riskless(
        years=years,
        inflation_rate=INFLATION,
        withdrawal_strategy=FixedRealWithdrawals(0.0, start),
    )
    solved = solve_safe_withdrawal(inputs, 0.9)
    # A / 12 sum_k (r / g) ** k over the withdrawal months = the value at the start month.
    count = 12 * years - start + 1
    annuity = (
        12.0
        * 100_000.0
        * GROWTH ** (start - 1)
        / geometric_sum(1.0, MONTHLY_INFLATION / GROWTH, count)
    )
    assert annuity - TOLERANCE * 100_000.0 <= solved.annual_amount <= annuity
    assert solved.success == 1.0
    assert solved.iterations <= MAX_RUNS
    assert solved.output.sample_paths.shape[0] == inputs.sample_paths  # the answer's own run


VOLATILE = riskless(
    annual_volatilities=np.array([0.15]),
    num_paths=3_000,
    years=30,
    inflation_rate=0.025,
    seed=7,
    withdrawal_strategy=FixedRealWithdrawals(0.0, 1),
)


def test_a_higher_target_gives_a_lower_amount_and_a_seed_repeats_it() -> None:
    amounts = [solve_safe_withdrawal(VOLATILE, p).annual_amount for p in (0.5, 0.8, 0.95, 0.99)]
    assert all(later < earlier for earlier, later in itertools.pairwise(amounts))
    again = solve_safe_withdrawal(VOLATILE, 0.95)
    assert again.annual_amount == amounts[2]
    assert again.success >= 0.95


def test_the_answer_succeeds_and_a_little_more_does_not() -> None:
    solved = solve_safe_withdrawal(VOLATILE, 0.9)
    assert solved.success >= 0.9
    more = FixedRealWithdrawals(solved.annual_amount + TOLERANCE * 100_000.0, 1)
    assert 1.0 - run_simulation(replace(VOLATILE, withdrawal_strategy=more)).depleted.mean() < 0.9


def test_the_solve_needs_a_fixed_real_strategy_and_a_seed() -> None:
    with pytest.raises(ValueError, match="fixed_real"):
        solve_safe_withdrawal(riskless(), 0.9)
    with pytest.raises(ValueError, match="seed"):
        solve_safe_withdrawal(replace(VOLATILE, seed=None), 0.9)
