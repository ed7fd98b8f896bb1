"""Scheduled flows and the fee at zero volatility against their closed forms (to 1e-10)."""

from dataclasses import replace

import numpy as np
import pytest

from app.engine import compute_metrics, run_simulation
from app.engine.cash_flows import CashFlow, flow_schedule
from tests.engine.plans import GROWTH, geometric_sum, riskless

MONTHS = 120
INITIAL = 100_000.0


def final_value(**overrides) -> float:
    output = run_simulation(riskless(**overrides))
    assert np.all(output.final_values == output.final_values[0])  # every path the same
    return float(output.final_values[0])


def grown(amount: float, month: int, q: float = GROWTH) -> float:
    """What `amount` paid at the start of `month` is worth at the horizon."""
    return amount * q ** (MONTHS - month + 1)


def test_a_monthly_flow_over_a_window_is_a_geometric_sum() -> None:
    flow = CashFlow(1_000.0, "monthly", start_month=13, end_month=60)
    # Months 13..60: the last grows 61 months, each earlier one month more.
    expected = grown(INITIAL, 1) + geometric_sum(grown(1_000.0, 60), GROWTH, 48)
    assert final_value(cash_flows=(flow,)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(("frequency", "step"), [("quarterly", 3), ("annually", 12)])
def test_quarterly_and_annual_flows_repeat_from_their_start(frequency: str, step: int) -> None:
    flow = CashFlow(5_000.0, frequency, start_month=2, end_month=100)
    count = (100 - 2) // step + 1
    expected = grown(INITIAL, 1) + geometric_sum(grown(5_000.0, 2), GROWTH**-step, count)
    assert final_value(cash_flows=(flow,)) == pytest.approx(expected, rel=1e-10)


def test_a_once_flow_happens_at_its_start_month_only() -> None:
    flow = CashFlow(-30_000.0, "once", start_month=37, end_month=90)
    expected = grown(INITIAL, 1) + grown(-30_000.0, 37)
    assert final_value(cash_flows=(flow,)) == pytest.approx(expected, rel=1e-10)


def test_an_indexed_flow_grows_with_inflation_from_the_first_month() -> None:
    inflation = 0.03
    flow = CashFlow(-400.0, "monthly", indexed_to_inflation=True)
    monthly_inflation = (1.0 + inflation) ** (1.0 / 12.0)
    # Month m pays -400 (1 + i) ** ((m - 1) / 12), worth that times g ** (121 - m) at the end.
    expected = grown(INITIAL, 1) + geometric_sum(grown(-400.0, 1), monthly_inflation / GROWTH, 120)
    value = final_value(cash_flows=(flow,), inflation_rate=inflation)
    assert value == pytest.approx(expected, rel=1e-10)


def test_overlapping_flows_add_up_with_monthly_contribution() -> None:
    flows = (
        CashFlow(2_000.0, "monthly", start_month=1, end_month=60),
        CashFlow(-1_500.0, "monthly", start_month=40),
        CashFlow(10_000.0, "annually", start_month=12),
    )
    expected = (
        grown(INITIAL, 1)
        + geometric_sum(grown(300.0, MONTHS), GROWTH, MONTHS)
        + geometric_sum(grown(2_000.0, 60), GROWTH, 60)
        + geometric_sum(grown(-1_500.0, MONTHS), GROWTH, MONTHS - 40 + 1)
        + geometric_sum(grown(10_000.0, 12), GROWTH**-12, 10)
    )
    assert final_value(cash_flows=flows, monthly_contribution=300.0) == pytest.approx(
        expected, rel=1e-10
    )


@pytest.mark.parametrize("rebalancing", ["monthly", "quarterly", "none"])
def test_the_fee_multiplies_the_value_by_its_monthly_factor(rebalancing: str) -> None:
    fee = 0.015
    q = GROWTH * (1.0 - fee) ** (1.0 / 12.0)
    flow = CashFlow(700.0, "monthly")
    expected = grown(INITIAL, 1, q) + geometric_sum(grown(700.0, MONTHS, q), q, MONTHS)
    value = final_value(cash_flows=(flow,), annual_fee=fee, rebalancing=rebalancing)
    assert value == pytest.approx(expected, rel=1e-10)


def test_the_fee_lowers_the_time_weighted_return_by_itself() -> None:
    fee = 0.01
    output = run_simulation(riskless(annual_fee=fee))
    expected = (GROWTH * (1.0 - fee) ** (1.0 / 12.0)) ** 12 - 1.0
    assert output.annualized_returns[0] == pytest.approx(expected, rel=1e-10)


def test_the_schedule_is_monthly_contribution_plus_each_months_flows() -> None:
    flows = (CashFlow(10.0, "quarterly", 2, 8), CashFlow(-1.0, "once", 5))
    schedule = flow_schedule(flows, 100.0, 12, 0.0)
    assert schedule.tolist() == [100, 110, 100, 100, 109, 100, 100, 110] + [100] * 4


def test_contributions_count_in_total_invested_and_withdrawals_do_not() -> None:
    inputs = riskless(
        cash_flows=(CashFlow(1_000.0, "annually"), CashFlow(-500.0, "monthly", start_month=61)),
        inflation_rate=0.02,
    )
    output = run_simulation(inputs)
    metrics = compute_metrics(output, risk_free_rate=0.0, inflation_rate=0.02, years=10)
    assert metrics["total_invested"] == INITIAL + 10 * 1_000.0
    deflated = sum(1_000.0 / 1.02**year for year in range(10))
    assert metrics["real"]["total_invested"] == pytest.approx(INITIAL + deflated, rel=1e-12)
    withdrawn = metrics["withdrawals"]["total"]
    assert withdrawn["mean"] == pytest.approx(60 * 500.0, rel=1e-12)
    assert withdrawn["p5"] == withdrawn["p95"] == pytest.approx(60 * 500.0, rel=1e-12)
    real = sum(500.0 / 1.02 ** (m / 12) for m in range(60, 120))
    assert metrics["withdrawals"]["total_real"]["median"] == pytest.approx(real, rel=1e-12)
    assert metrics["withdrawals"]["annual"] is None  # fixed amounts: no spending percentiles


def test_a_plan_without_withdrawals_reports_none() -> None:
    output = run_simulation(riskless(cash_flows=(CashFlow(100.0),)))
    metrics = compute_metrics(output, risk_free_rate=0.0, years=10)
    assert metrics["withdrawals"] is None
    assert metrics["probabilities"]["success"] == 1.0
    assert metrics["depletion"] == {"probability": 0.0, "month_percentiles": None}
    assert metrics["survival_by_year"] == [1.0] * 10


def test_money_arriving_later_is_not_a_depletion() -> None:
    flows = (CashFlow(5_000.0, "monthly", start_month=25),)
    output = run_simulation(riskless(initial_investment=0.0, cash_flows=flows))
    assert not output.depleted.any()
    assert output.final_values[0] == pytest.approx(
        geometric_sum(grown(5_000.0, MONTHS), GROWTH, MONTHS - 24), rel=1e-10
    )


@pytest.mark.parametrize(
    "flow",
    [
        CashFlow(0.0),
        CashFlow(1.0, "weekly"),
        CashFlow(1.0, start_month=10, end_month=9),
        CashFlow(1.0, end_month=121),
    ],
)
def test_the_engine_refuses_flows_that_make_no_sense(flow: CashFlow) -> None:
    with pytest.raises(ValueError):
        run_simulation(riskless(cash_flows=(flow,)))


def test_the_engine_refuses_more_than_50_flows_and_a_fee_above_20_percent() -> None:
    with pytest.raises(ValueError, match="at most 50"):
        run_simulation(riskless(cash_flows=(CashFlow(1.0),) * 51))
    with pytest.raises(ValueError, match="annual_fee"):
        run_simulation(replace(riskless(), annual_fee=0.25))
