"""Cash-flow plans through POST /api/v1/simulate: a retirement plan, the solve, the 422 rules."""

import itertools

import pytest

from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import api, example, simulate  # noqa: F401
from tests.conftest import ClientFactory

RETIREMENT = {
    "initial_investment": 100_000,
    "monthly_contribution": 0,
    "time_horizon_years": 50,
    "num_simulations": 2_000,
    "seed": 2026,
    "inflation_rate": 0.025,
    "annual_fee": 0.005,
    "cash_flows": [
        {"amount": 2_000, "end_month": 240, "indexed_to_inflation": True, "label": "saving"},
        {"amount": 20_000, "frequency": "once", "start_month": 120, "label": "inheritance"},
    ],
    "withdrawal_strategy": {"type": "guardrails", "initial_rate": 0.05, "start_month": 241},
}


async def test_a_retirement_plan_saves_then_withdraws_with_guardrails(api) -> None:  # noqa: F811
    client, headers, _ = api
    response = await simulate(client, headers, example(**RETIREMENT))
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    contributions = sum(2_000 * 1.025 ** ((m - 1) / 12) for m in range(1, 241))
    assert results["total_invested"] == pytest.approx(100_000 + contributions + 20_000, rel=1e-12)
    chances = results["probabilities"]
    assert chances["success"] + chances["depletion"] == pytest.approx(1.0, abs=1e-15)
    assert results["depletion"]["probability"] == chances["depletion"]
    survival = results["survival_by_year"]
    assert len(survival) == 50 and survival[-1] == chances["success"]
    assert all(later <= earlier for earlier, later in itertools.pairwise(survival))
    assert survival[19] == 1.0  # nothing is withdrawn while saving
    withdrawals = results["withdrawals"]
    total = withdrawals["total"]
    assert 0 < total["p5"] <= total["median"] <= total["p95"]
    assert withdrawals["total_real"]["median"] < total["median"]
    spending = withdrawals["annual"]
    assert spending["year"] == list(range(1, 51)) and spending["paths_used"] == 2_000
    assert spending["p95"][:20] == [0.0] * 20  # the strategy starts in year 21
    assert all(
        low <= mid <= high
        for low, mid, high in zip(spending["p5"], spending["p50"], spending["p95"], strict=True)
    )
    assert spending["p50"][20] > 0
    applied = body["inputs"]["parameters"]
    assert applied["withdrawal_strategy"] == {
        "type": "guardrails",
        "initial_rate": 0.05,
        "start_month": 241,
        "upper_guardrail": 0.2,
        "lower_guardrail": 0.2,
        "adjustment": 0.1,
    }
    assert applied["cash_flows"][1] == {
        "amount": 20_000,
        "frequency": "once",
        "start_month": 120,
        "end_month": None,
        "indexed_to_inflation": False,
        "label": "inheritance",
    }
    assert applied["annual_fee"] == 0.005 and applied["solve"] is None
    assert "contributions" in body["definitions"]["total_invested"]
    again = await simulate(client, headers, example(**RETIREMENT))
    assert again.json()["results"] == results


async def test_a_plain_request_keeps_its_figures_and_gets_success(api) -> None:  # noqa: F811
    client, headers, _ = api
    body = (await simulate(client, headers, example(seed=5, num_simulations=1_000))).json()
    results = body["results"]
    assert results["probabilities"]["success"] == 1.0 - results["probabilities"]["depletion"]
    assert results["withdrawals"] is None and results["safe_withdrawal"] is None
    assert results["total_invested"] == 1_000_000 + 120 * 50_000
    assert body["inputs"]["parameters"]["cash_flows"] == []


async def test_the_safe_withdrawal_rate_is_solved_and_echoed(api) -> None:  # noqa: F811
    client, headers, _ = api
    plan = example(
        monthly_contribution=0,
        time_horizon_years=30,
        num_simulations=2_000,
        seed=9,
        inflation_rate=0.02,
        withdrawal_strategy={"type": "fixed_real"},
        solve={"safe_withdrawal_rate": {"target_success": 0.9}},
    )
    response = await simulate(client, headers, plan)
    assert response.status_code == 200, response.text
    body = response.json()
    solved = body["results"]["safe_withdrawal"]
    assert solved["rate"] == solved["annual_amount"] / 1_000_000
    assert 0.01 < solved["rate"] < 0.2
    assert solved["success"] >= 0.9 and solved["target_success"] == 0.9
    assert 1 < solved["iterations"] <= 25
    assert body["results"]["probabilities"]["success"] == solved["success"]
    strategy = body["inputs"]["parameters"]["withdrawal_strategy"]
    amount = solved["annual_amount"]
    assert strategy == {"type": "fixed_real", "annual_amount": amount, "start_month": 1}
    # The echoed inputs rerun the answer: the same figures without solving.
    rerun = example(**{**body["inputs"]["parameters"], "solve": None})
    again = await simulate(client, headers, rerun)
    assert again.status_code == 200, again.text
    assert again.json()["results"]["probabilities"] == body["results"]["probabilities"]
    assert again.json()["results"]["withdrawals"] == body["results"]["withdrawals"]


async def test_a_solve_counts_all_its_runs_in_the_work_limit(client_factory: ClientFactory) -> None:
    client = await client_factory(MAX_SIMULATION_STEPS=10_000_000)
    _, keys = await keys_of_new_user(client, 1)
    headers = {"X-API-Key": keys[0]["key"]}
    plan = {
        "withdrawal_strategy": {"type": "fixed_real"},
        "solve": {"safe_withdrawal_rate": {"target_success": 0.9}},
    }
    # 2,000 paths x 120 months x 2 assets x 25 runs = 12,000,000 steps
    response = await simulate(client, headers, example(num_simulations=2_000, **plan))
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "parameters", "num_simulations"]
    assert "25 runs" in error["msg"] and "12,000,000" in error["msg"]
    assert (await simulate(client, headers, example(num_simulations=2_000))).status_code == 200


FLOW = {"amount": -1_000}
INVALID = {
    "a strategy starting after the horizon": (
        {"withdrawal_strategy": {"type": "percentage", "annual_rate": 0.04, "start_month": 121}},
        ["body", "parameters"],
        "withdrawal_strategy.start_month (121) is after the horizon",
    ),
    "a flow ending after the horizon": (
        {"cash_flows": [FLOW, {**FLOW, "end_month": 200}]},
        ["body", "parameters"],
        "cash_flows[1].end_month (200)",
    ),
    "end before start": (
        {"cash_flows": [{**FLOW, "start_month": 10, "end_month": 9}]},
        ["body", "parameters", "cash_flows", 0],
        "end_month (9) must not be before start_month (10)",
    ),
    "amount 0": (
        {"cash_flows": [{"amount": 0}]},
        ["body", "parameters", "cash_flows", 0],
        "amount must not be 0",
    ),
    "51 flows": (
        {"cash_flows": [FLOW] * 51},
        ["body", "parameters", "cash_flows"],
        "at most 50 items",
    ),
    "unknown frequency": (
        {"cash_flows": [{**FLOW, "frequency": "weekly"}]},
        ["body", "parameters", "cash_flows", 0, "frequency"],
        "'monthly', 'quarterly', 'annually' or 'once'",
    ),
    "a target of 1.0": (
        {
            "withdrawal_strategy": {"type": "fixed_real"},
            "solve": {"safe_withdrawal_rate": {"target_success": 1.0}},
        },
        ["body", "parameters", "solve", "safe_withdrawal_rate", "target_success"],
        "less than or equal to 0.999",
    ),
    "a solve without fixed_real": (
        {
            "withdrawal_strategy": {"type": "percentage", "annual_rate": 0.04},
            "solve": {"safe_withdrawal_rate": {"target_success": 0.9}},
        },
        ["body", "parameters"],
        "needs a withdrawal_strategy of type fixed_real",
    ),
    "fixed_real without an amount": (
        {"withdrawal_strategy": {"type": "fixed_real"}},
        ["body", "parameters"],
        "withdrawal_strategy.annual_amount is required",
    ),
    "an amount with the solve": (
        {
            "withdrawal_strategy": {"type": "fixed_real", "annual_amount": 40_000},
            "solve": {"safe_withdrawal_rate": {"target_success": 0.9}},
        },
        ["body", "parameters"],
        "is what solve.safe_withdrawal_rate finds",
    ),
    "an unknown strategy": (
        {"withdrawal_strategy": {"type": "bucket"}},
        ["body", "parameters", "withdrawal_strategy"],
        "does not match any of the expected tags",
    ),
    "a fee above 20%": (
        {"annual_fee": 0.25},
        ["body", "parameters", "annual_fee"],
        "less than or equal to 0.2",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
async def test_plans_that_make_no_sense_are_422_naming_the_field(api, case: str) -> None:  # noqa: F811
    client, headers, _ = api
    parameters, loc, message = INVALID[case]
    response = await simulate(client, headers, example(**parameters))
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == loc
    assert message in problem["msg"]
