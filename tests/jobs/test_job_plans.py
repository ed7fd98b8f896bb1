"""A job runs a cash-flow plan with simulate's bits (shards merge its depletion counts and
withdrawn totals exactly); a safe-withdrawal solve is the synchronous endpoint's only."""

from tests.jobs.conftest import JobWorkers, example, job_as_simulate_answers

PLAN = {
    "monthly_contribution": 0,
    "time_horizon_years": 30,
    "annual_fee": 0.004,
    "cash_flows": [
        {"amount": 30_000, "frequency": "annually", "end_month": 60, "indexed_to_inflation": True},
        {"amount": -150_000, "frequency": "once", "start_month": 150},
    ],
    "withdrawal_strategy": {"type": "guardrails", "initial_rate": 0.07, "start_month": 61},
}


async def test_a_job_gives_simulates_bits_for_a_guardrails_plan(api, worker: JobWorkers) -> None:
    client, headers, _ = api
    body = example(num_simulations=25_000, **PLAN)
    saved = await job_as_simulate_answers(client, headers, body)
    results = saved["results"]
    assert results["withdrawals"]["annual"]["paths_used"] == 10_000
    assert 0 < results["probabilities"]["success"] <= 1
    assert results["survival_by_year"][-1] == results["probabilities"]["success"]


async def test_a_job_refuses_a_solve_naming_the_field(api) -> None:
    client, headers, _ = api
    body = example(
        withdrawal_strategy={"type": "fixed_real"},
        solve={"safe_withdrawal_rate": {"target_success": 0.9}},
    )
    response = await client.post("/api/v1/jobs", json=body, headers=headers)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "parameters", "solve"]
    assert "jobs do not solve" in problem["msg"]
