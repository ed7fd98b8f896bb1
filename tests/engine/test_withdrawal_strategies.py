"""Withdrawal strategies at zero volatility against closed forms, and the survival figures."""

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from app.engine import compute_metrics, run_simulation
from app.engine.cash_flows import CashFlow
from app.engine.withdrawal_fixed_real import FixedRealWithdrawals
from app.engine.withdrawal_guardrails import (
    GuardrailsParameters,
    GuardrailsWithdrawals,
    annual_step,
)
from app.engine.withdrawal_percentage import PercentageWithdrawals
from tests.engine.plans import GROWTH, geometric_sum, riskless

INITIAL = 100_000.0
INFLATION = 0.03
MONTHLY_INFLATION = (1.0 + INFLATION) ** (1.0 / 12.0)


def metrics_of(inputs):
    output = run_simulation(inputs)
    metrics = compute_metrics(
        output, risk_free_rate=0.0, inflation_rate=inputs.inflation_rate, years=inputs.years
    )
    return output, metrics


def closed_form_depletion_month(annual_amount: float, start: int) -> int:
    """The first month m whose withdrawal the value cannot pay: V before it <= w_m.

    Before the start the value only grows; from month s on, w_m = A / 12 r ** (m - s) with
    r = (1 + i) ** (1 / 12), and V_(m-1) <= w_m exactly when the present value at month s of
    the withdrawals s..m, A / 12 sum (r / g) ** k, reaches V at s.
    """
    value_at_start = INITIAL * GROWTH ** (start - 1)
    ratio = MONTHLY_INFLATION / GROWTH
    # A / 12 (ratio ** k - 1) / (ratio - 1) >= V  <=>  k >= log1p(12 V (ratio - 1) / A) / log(ratio)
    covered = math.log1p(value_at_start * (ratio - 1.0) * 12.0 / annual_amount)
    count = math.ceil(covered / math.log(ratio))
    return start + count - 1


@pytest.mark.parametrize(("annual_amount", "start"), [(12_000.0, 1), (15_000.0, 25), (30_000.0, 7)])
def test_fixed_real_depletes_in_the_closed_form_month(annual_amount: float, start: int) -> None:
    month = closed_form_depletion_month(annual_amount, start)
    years = 30
    assert month <= 12 * years
    inputs = riskless(
        years=years,
        inflation_rate=INFLATION,
        withdrawal_strategy=FixedRealWithdrawals(annual_amount, start),
    )
    output, metrics = metrics_of(inputs)
    assert np.all(output.depletion_months == month)
    assert metrics["probabilities"]["success"] == 0.0
    assert metrics["depletion"]["probability"] == 1.0
    assert metrics["depletion"]["month_percentiles"] == {"p10": month, "p25": month, "p50": month}
    last_full_year = (month - 1) // 12  # survival counts the end of each year
    assert metrics["survival_by_year"] == [1.0] * last_full_year + [0.0] * (years - last_full_year)
    # Paid in full until month m, which takes what is left.
    paid_before = geometric_sum(annual_amount / 12.0, MONTHLY_INFLATION, month - start)
    value_at_start = INITIAL * GROWTH ** (start - 1)
    worth_at_start = geometric_sum(annual_amount / 12.0, MONTHLY_INFLATION / GROWTH, month - start)
    left = GROWTH ** (month - start) * (value_at_start - worth_at_start)
    assert 0.0 < left < annual_amount / 12.0 * MONTHLY_INFLATION ** (month - start)
    total = metrics["withdrawals"]["total"]
    assert total["mean"] == total["p5"] == pytest.approx(paid_before + left, rel=1e-10)


def test_fixed_real_short_of_its_depletion_month_succeeds() -> None:
    month = closed_form_depletion_month(12_000.0, 1)
    inputs = riskless(
        years=(month - 1) // 12,
        inflation_rate=INFLATION,
        withdrawal_strategy=FixedRealWithdrawals(12_000.0, 1),
    )
    _, metrics = metrics_of(inputs)
    assert metrics["probabilities"]["success"] == 1.0
    assert metrics["survival_by_year"][-1] == 1.0
    paid = geometric_sum(1_000.0, MONTHLY_INFLATION, 12 * inputs.years)
    assert metrics["withdrawals"]["total"]["median"] == pytest.approx(paid, rel=1e-10)


@pytest.mark.parametrize("rebalancing", ["monthly", "annually"])
def test_percentage_never_depletes_and_compounds_its_rate(rebalancing: str) -> None:
    rate, start, years = 0.3, 13, 20
    inputs = riskless(
        years=years,
        rebalancing=rebalancing,
        withdrawal_strategy=PercentageWithdrawals(rate, start),
    )
    output, metrics = metrics_of(inputs)
    months = 12 * years
    kept = (1.0 - rate / 12.0) * GROWTH
    expected = INITIAL * GROWTH ** (start - 1) * kept ** (months - start + 1)
    assert output.final_values[0] == pytest.approx(expected, rel=1e-10)
    assert metrics["probabilities"]["success"] == 1.0
    spending = metrics["withdrawals"]["annual"]
    assert spending["p50"][0] == 0.0  # the strategy starts in year 2
    # Year 2: 12 monthly payments of r / 12 of a value that shrinks by (1 - r / 12) g a month.
    first = rate / 12.0 * INITIAL * GROWTH**12
    year_two = geometric_sum(first, (1.0 - rate / 12.0) * GROWTH, 12)
    assert spending["p5"][1] == spending["p95"][1] == pytest.approx(year_two, rel=1e-10)


def test_guardrails_step_by_step_a_plain_year_a_cut_and_a_raise() -> None:
    """Start in month 1 at 5%; year 2 a big withdrawal pushes W / V over the upper rail (a cut at
    the 2nd anniversary), a big contribution in year 3 pulls it under the lower one (a raise at
    the 3rd); the 1st anniversary is a plain inflation step."""
    strategy = GuardrailsWithdrawals(
        0.05, 1, upper_guardrail=0.2, lower_guardrail=0.2, adjustment=0.1
    )
    flows = (
        CashFlow(-45_000.0, "once", start_month=20),
        CashFlow(150_000.0, "once", start_month=30),
    )
    inputs = riskless(
        years=4, inflation_rate=INFLATION, cash_flows=flows, withdrawal_strategy=strategy
    )
    output, metrics = metrics_of(inputs)
    # The rules by hand, month by month.
    value, annual, steps, paid_by_year = INITIAL, 0.0, [], [0.0] * 4
    for month in range(1, 49):
        flow = {20: -45_000.0, 30: 150_000.0}.get(month, 0.0)
        available = max(value + flow, 0.0)
        if month == 1:
            annual = 0.05 * available
        elif (month - 1) % 12 == 0:
            rate = annual / available
            kind = "cut" if rate > 0.06 else "raise" if rate < 0.04 else "inflation"
            annual *= {"cut": 0.9, "raise": 1.1, "inflation": 1.0 + INFLATION}[kind]
            steps.append(kind)
        paid_by_year[(month - 1) // 12] += annual / 12.0
        value = (available - annual / 12.0) * GROWTH
    assert steps == ["inflation", "cut", "raise"]
    assert output.final_values[0] == pytest.approx(value, rel=1e-10)
    spending = metrics["withdrawals"]["annual"]
    assert spending["p50"] == pytest.approx(paid_by_year, rel=1e-10)
    assert spending["paths_used"] == inputs.num_paths


def test_the_guardrails_rules_on_their_own() -> None:
    rules = GuardrailsParameters(0.05, 0, 0.06, 0.04, 0.9, 1.1, 1.03)
    assert annual_step(rules, 5_000.0, 100_000.0) == pytest.approx(5_150.0)  # 5%: inflation
    assert annual_step(rules, 7_000.0, 100_000.0) == pytest.approx(6_300.0)  # 7% > 6%: a cut
    assert annual_step(rules, 3_000.0, 100_000.0) == pytest.approx(3_300.0)  # 3% < 4%: a raise
    assert annual_step(rules, 3_000.0, 0.0) == pytest.approx(2_700.0)  # depleted: cut


VOLATILE = riskless(
    annual_volatilities=np.array([0.18]),
    num_paths=4_000,
    years=30,
    inflation_rate=0.025,
    seed=42,
)


@pytest.mark.parametrize(
    "strategy",
    [FixedRealWithdrawals(6_000.0, 1), GuardrailsWithdrawals(0.06, 1), PercentageWithdrawals(0.05)],
    ids=["fixed_real", "guardrails", "percentage"],
)
def test_success_and_depletion_add_to_one_and_survival_falls_to_success(strategy) -> None:
    output, metrics = metrics_of(replace(VOLATILE, withdrawal_strategy=strategy))
    success = metrics["probabilities"]["success"]
    assert success + metrics["depletion"]["probability"] == pytest.approx(1.0, abs=1e-15)
    survival = metrics["survival_by_year"]
    assert len(survival) == 30
    assert all(later <= earlier for earlier, later in itertools.pairwise(survival))
    assert survival[-1] == success
    if isinstance(strategy, PercentageWithdrawals):
        assert success == 1.0  # a share of what is there never empties it
        assert metrics["depletion"]["month_percentiles"] is None
        return
    assert 0.0 < success < 1.0  # the case must be one where some paths fail
    months = metrics["depletion"]["month_percentiles"]
    assert months["p10"] <= months["p25"] <= months["p50"] <= 360
    depleted = output.depletion_months[output.depletion_months > 0]
    for q in (10, 25, 50):
        assert months[f"p{q}"] == np.percentile(depleted, q)
