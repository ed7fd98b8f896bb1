"""POST /api/v1/simulate end to end, and the saved simulations."""

import asyncio
import copy
import json
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.schemas.simulation import SPEC_EXAMPLE
from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import AppClient, ClientFactory
from tests.factories import bearer


def example(**parameters: object) -> dict:
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["parameters"].update(parameters)
    return body


@pytest.fixture
async def api(client: AppClient) -> tuple[AppClient, dict, str]:
    """A client, the X-API-Key headers of a new user, and that user's JWT."""
    token, keys = await keys_of_new_user(client, 2)
    return client, {"X-API-Key": keys[0]["key"]}, token


async def simulate(client: httpx.AsyncClient, headers: dict, body: dict) -> httpx.Response:
    return await client.post("/api/v1/simulate", json=body, headers=headers)


# --- the response ---------------------------------------------------------------------------


async def test_the_spec_example_returns_every_field(api) -> None:
    client, headers, _ = api
    response = await simulate(client, headers, SPEC_EXAMPLE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["simulation_id"].startswith("sim_") and len(body["simulation_id"]) == 16
    int(body["simulation_id"][4:], 16)
    assert body["status"] == "completed"
    assert body["created_at"]
    assert 0 < body["execution_time_seconds"] < 60

    results = body["results"]
    stats, risk, chances = (
        results["final_value_stats"],
        results["risk_metrics"],
        results["probabilities"],
    )
    assert results["total_invested"] == 1_000_000 + 120 * 50_000
    ordered = [stats["min"]] + [stats[f"percentile_{q}"] for q in (5, 10, 25)] + [stats["median"]]
    ordered += [stats[f"percentile_{q}"] for q in (75, 90, 95)] + [stats["max"]]
    assert ordered == sorted(ordered)
    assert stats["min"] <= stats["mean"] <= stats["max"] and stats["std_dev"] > 0
    assert risk["var_99"] <= risk["var_95"]
    assert risk["cvar_95"] <= risk["var_95"]
    assert risk["var_95"] == stats["percentile_5"]
    assert risk["var_95_relative"] == stats["mean"] - risk["var_95"]
    assert risk["var_99_relative"] == stats["mean"] - risk["var_99"]
    assert 0 <= risk["max_drawdown_pct"] <= 100
    assert 0 < risk["sharpe_ratio_geometric"] < risk["sharpe_ratio"] < risk["sortino_ratio"]
    cagr = results["annualized_return"]
    spread = [cagr[f"percentile_{q}"] for q in (5, 10, 25)] + [cagr["median"]]
    spread += [cagr[f"percentile_{q}"] for q in (75, 90, 95)]
    assert spread == sorted(spread) and spread[0] < cagr["mean"] < spread[-1]
    for name in ("loss", "positive_return", "doubling", "depletion", "cagr_below_risk_free"):
        assert 0 <= chances[name] <= 1
    assert chances["loss"] + chances["positive_return"] == pytest.approx(1)

    assert len(results["sample_paths"]) == 100
    assert {len(path) for path in results["sample_paths"]} == {12 * 10 + 1}
    assert all(path[0] == 1_000_000 for path in results["sample_paths"])
    bands = results["percentile_bands"]
    assert bands["month"] == list(range(121))
    assert bands["paths_used"] == 10_000
    for month in range(121):
        column = [bands[p][month] for p in ("p5", "p25", "p50", "p75", "p95")]
        assert column == sorted(column)

    parameters = body["inputs"]["parameters"]
    assert isinstance(parameters["seed"], int)
    assert parameters["rebalancing"] == "monthly"
    assert parameters["num_simulations"] == 10_000
    assert [a["return_source"] for a in body["inputs"]["assets"]] == ["assumptions"] * 2
    assert len(body["inputs"]["correlation"]) == 2
    assert {"sortino_ratio", "sharpe_ratio_geometric"} <= results["risk_metrics"].keys()
    assert results["real"] is None


async def test_a_mean_close_to_the_exact_expectation(api) -> None:
    """E[V] follows E[V(t+1)] = (E[V(t)] + c) * sum_i w_i exp(mu_i / 12) when rebalanced monthly."""
    client, headers, _ = api
    body = (await simulate(client, headers, example(num_simulations=50_000, seed=7))).json()
    growth = sum(
        a["weight"] * pow(2.718281828459045, a["expected_return"] / 12)
        for a in body["inputs"]["assets"]
    )
    expected = 1_000_000.0
    for _ in range(120):
        expected = (expected + 50_000) * growth
    stats = body["results"]["final_value_stats"]
    standard_error = stats["std_dev"] / (50_000**0.5)
    assert abs(stats["mean"] - expected) < 4 * standard_error


async def test_same_seed_same_numbers_and_a_drawn_seed_can_be_replayed(api) -> None:
    client, headers, _ = api
    first = (await simulate(client, headers, example(seed=42))).json()
    again = (await simulate(client, headers, example(seed=42))).json()
    other = (await simulate(client, headers, example(seed=43))).json()
    assert first["results"] == again["results"]
    assert first["results"] != other["results"]

    drawn = (await simulate(client, headers, SPEC_EXAMPLE)).json()
    replay = example(seed=drawn["inputs"]["parameters"]["seed"])
    assert (await simulate(client, headers, replay)).json()["results"] == drawn["results"]


async def test_the_applied_inputs_reproduce_the_run(api) -> None:
    client, headers, _ = api
    first = (await simulate(client, headers, example(seed=5))).json()
    applied = first["inputs"]
    replay = {
        "portfolio": {
            "assets": [
                {
                    k: a[k]
                    for k in ("ticker", "weight", "asset_class", "expected_return", "volatility")
                }
                for a in applied["assets"]
            ],
            "correlation": applied["correlation"],
        },
        "parameters": {k: v for k, v in applied["parameters"].items()},
    }
    second = (await simulate(client, headers, replay)).json()
    assert second["results"] == first["results"]
    assert {a["return_source"] for a in second["inputs"]["assets"]} == {"request"}
    assert second["inputs"]["correlation_source"] == "request"


async def test_inflation_adds_real_results(api) -> None:
    client, headers, _ = api
    body = (await simulate(client, headers, example(inflation_rate=0.03, seed=1))).json()
    real = body["results"]["real"]
    assert real["final_value_stats"]["mean"] < body["results"]["final_value_stats"]["mean"]
    assert real["total_invested"] < body["results"]["total_invested"]


async def test_withdrawals_can_deplete_and_values_never_go_below_zero(api) -> None:
    client, headers, _ = api
    body = (
        await simulate(
            client,
            headers,
            example(initial_investment=100_000, monthly_contribution=-1_500, seed=3),
        )
    ).json()
    assert 0 < body["results"]["probabilities"]["depletion"] < 1
    assert body["results"]["final_value_stats"]["min"] == 0
    assert min(min(path) for path in body["results"]["sample_paths"]) >= 0


@pytest.mark.parametrize("rebalancing", ["monthly", "quarterly", "annually", "none"])
async def test_every_rebalancing_is_accepted(api, rebalancing: str) -> None:
    client, headers, _ = api
    response = await simulate(
        client, headers, example(rebalancing=rebalancing, num_simulations=500)
    )
    assert response.status_code == 200
    assert response.json()["inputs"]["parameters"]["rebalancing"] == rebalancing


async def test_sample_paths_and_assumption_overrides(api) -> None:
    client, headers, _ = api
    body = example(num_simulations=50, sample_paths=200)
    body["portfolio"]["assets"][0].update(expected_return=0.1, volatility=0.2)
    result = (await simulate(client, headers, body)).json()
    assert len(result["results"]["sample_paths"]) == 50
    equity = result["inputs"]["assets"][0]
    assert (equity["expected_return"], equity["volatility"]) == (0.1, 0.2)
    assert equity["return_source"] == equity["volatility_source"] == "request"
    none = (await simulate(client, headers, example(num_simulations=50, sample_paths=0))).json()
    assert none["results"]["sample_paths"] == []


# --- validation -----------------------------------------------------------------------------


def _with(path: str, value: object) -> dict:
    """The spec example with one field replaced (or removed, for value=...)."""
    body = copy.deepcopy(SPEC_EXAMPLE)
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return body


def _assets(*weights: float, asset_class: str = "equity") -> list[dict]:
    return [
        {"ticker": f"T{i}", "weight": weight, "asset_class": asset_class}
        for i, weight in enumerate(weights)
    ]


INVALID_BODIES = {
    "weights do not sum to 1": _with("portfolio.assets.0.weight", 0.5),
    "weight zero": _with("portfolio.assets", _assets(0.0, 1.0)),
    "weight above one": _with("portfolio.assets", _assets(1.5, -0.5)),
    "no assets": _with("portfolio.assets", []),
    "51 assets": _with("portfolio.assets", _assets(*[1 / 51] * 51)),
    "duplicate tickers": _with(
        "portfolio.assets",
        [
            {"ticker": "A", "weight": 0.5, "asset_class": "equity"},
            {"ticker": "A", "weight": 0.5, "asset_class": "bonds"},
        ],
    ),
    "unknown asset class": _with("portfolio.assets.0.asset_class", "tulips"),
    "empty ticker": _with("portfolio.assets.0.ticker", "  "),
    "long ticker": _with("portfolio.assets.0.ticker", "X" * 65),
    "string weight": _with("portfolio.assets.0.weight", "0.6"),
    "boolean weight": _with("portfolio.assets.0.weight", True),
    "negative volatility": _with("portfolio.assets.0", {**_assets(0.6)[0], "volatility": -0.1}),
    "string investment": _with("parameters.initial_investment", "1000000"),
    "negative investment": _with("parameters.initial_investment", -1),
    "huge investment": _with("parameters.initial_investment", 1e300),
    "zero years": _with("parameters.time_horizon_years", 0),
    "101 years": _with("parameters.time_horizon_years", 101),
    "fractional years": _with("parameters.time_horizon_years", 10.5),
    "zero simulations": _with("parameters.num_simulations", 0),
    "too many simulations": _with("parameters.num_simulations", 10**9),
    "negative seed": _with("parameters.seed", -1),
    "huge seed": _with("parameters.seed", 2**64),
    "sample paths over 1000": _with("parameters.sample_paths", 1001),
    "unknown rebalancing": _with("parameters.rebalancing", "weekly"),
    "unknown data source": _with("parameters.data_source", "yahoo"),
    "inflation of -100%": _with("parameters.inflation_rate", -1.0),
    "missing parameters": _with("parameters", ...),
    "missing years": _with("parameters.time_horizon_years", ...),
    "extra top-level field": {**SPEC_EXAMPLE, "debug": True},
    "extra parameter": _with("parameters.turbo", True),
    "extra asset field": _with("portfolio.assets.0.colour", "red"),
    "correlation of the wrong shape": _with("portfolio.correlation", [[1.0]]),
    "asymmetric correlation": _with("portfolio.correlation", [[1.0, 0.5], [0.2, 1.0]]),
    "correlation diagonal not one": _with("portfolio.correlation", [[0.9, 0.1], [0.1, 1.0]]),
    "correlation above one": _with("portfolio.correlation", [[1.0, 1.5], [1.5, 1.0]]),
    "correlation nearly symmetric": _with("portfolio.correlation", [[1.0, 0.5], [0.5 + 1e-9, 1.0]]),
    "correlation not positive semi-definite": {
        "portfolio": {
            "assets": _assets(0.3, 0.3, 0.4),
            "correlation": [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]],
        },
        "parameters": SPEC_EXAMPLE["parameters"],
    },
    "assets not a list": _with("portfolio.assets", {"ticker": "A"}),
    "body is a list": [SPEC_EXAMPLE],
}


@pytest.mark.parametrize("case", list(INVALID_BODIES))
async def test_invalid_requests_get_422_with_field_messages(api, case: str) -> None:
    client, headers, _ = api
    response = await simulate(client, headers, INVALID_BODIES[case])
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert errors and all("loc" in e and "msg" in e for e in errors)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_numbers_get_422(api, literal: str) -> None:
    client, headers, _ = api
    raw = json.dumps(SPEC_EXAMPLE).replace(
        '"initial_investment": 1000000', f'"initial_investment": {literal}'
    )
    response = await client.post(
        "/api/v1/simulate", content=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "parameters", "initial_investment"]


async def test_not_json_gets_422_and_huge_bodies_413(api) -> None:
    client, headers, _ = api
    garbage = await client.post(
        "/api/v1/simulate",
        content=b"{oops",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert garbage.status_code == 422
    huge = _with("portfolio.assets.0.ticker", "X" * 2_000_000)
    assert (await simulate(client, headers, huge)).status_code == 413


async def test_num_simulations_is_capped_by_max_simulations(client_factory: ClientFactory) -> None:
    client = await client_factory(MAX_SIMULATIONS=1000)
    _, keys = await keys_of_new_user(client, 1)
    headers = {"X-API-Key": keys[0]["key"]}
    response = await simulate(client, headers, example(num_simulations=1001))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "parameters", "num_simulations"]
    assert "at most 1,000" in response.json()["detail"][0]["msg"]
    assert (await simulate(client, headers, example(num_simulations=1000))).status_code == 200
    default = copy.deepcopy(SPEC_EXAMPLE)
    del default["parameters"]["num_simulations"]
    applied = (await simulate(client, headers, default)).json()["inputs"]["parameters"]
    assert applied["num_simulations"] == 1000


async def test_the_default_is_10000_paths(api) -> None:
    client, headers, _ = api
    body = copy.deepcopy(SPEC_EXAMPLE)
    del body["parameters"]["num_simulations"]
    result = (await simulate(client, headers, body)).json()
    assert result["inputs"]["parameters"]["num_simulations"] == 10_000
    assert result["results"]["percentile_bands"]["paths_used"] == 10_000


async def test_the_work_of_one_request_is_bounded(client_factory: ClientFactory) -> None:
    client = await client_factory(MAX_SIMULATION_STEPS=1_000_000)
    _, keys = await keys_of_new_user(client, 1)
    headers = {"X-API-Key": keys[0]["key"]}
    # 5,000 paths x 120 months x 2 assets = 1,200,000 steps
    response = await simulate(client, headers, example(num_simulations=5_000))
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "parameters", "num_simulations"]
    assert "1,200,000" in error["msg"]
    assert (await simulate(client, headers, example(num_simulations=4_000))).status_code == 200


async def test_sample_paths_are_bounded_by_their_size(api) -> None:
    client, headers, _ = api
    # 1000 paths x 1201 values (100 years) is over the 250,000 values a response may carry
    response = await simulate(
        client, headers, example(sample_paths=1000, time_horizon_years=100, num_simulations=10)
    )
    assert response.status_code == 422
    assert "250,000" in response.json()["detail"][0]["msg"]


async def test_bloomberg_unavailable_is_503_not_500(api) -> None:
    client, headers, _ = api
    response = await simulate(client, headers, example(data_source="bloomberg"))
    assert response.status_code == 503
    assert response.json() == {"detail": "Bloomberg data source unavailable"}


# --- authentication -------------------------------------------------------------------------


async def test_simulate_needs_an_api_key_not_a_jwt(api) -> None:
    client, _, token = api
    assert (await simulate(client, {}, SPEC_EXAMPLE)).status_code == 401
    refused = await simulate(client, bearer(token), SPEC_EXAMPLE)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid or expired API key"}


# --- saved simulations ----------------------------------------------------------------------


async def test_simulations_are_saved_listed_and_read_back(api, db: AsyncSession) -> None:
    client, headers, token = api
    created = [
        (await simulate(client, headers, example(num_simulations=200, seed=seed))).json()
        for seed in (1, 2, 3)
    ]
    assert await db.scalar(text("SELECT count(*) FROM simulations")) == 3

    page = (await client.get("/api/v1/simulations", headers=headers)).json()
    assert page["total"] == 3
    assert [i["simulation_id"] for i in page["items"]] == [
        c["simulation_id"] for c in reversed(created)
    ]
    first = page["items"][-1]
    assert first["seed"] == 1 and first["num_simulations"] == 200
    assert first["tickers"] == ["NSEI Index", "GIND10YR Index"]
    assert first["mean_final_value"] == created[0]["results"]["final_value_stats"]["mean"]

    second_page = (
        await client.get("/api/v1/simulations", params={"limit": 2, "offset": 2}, headers=headers)
    ).json()
    assert [i["simulation_id"] for i in second_page["items"]] == [created[0]["simulation_id"]]

    detail = await client.get(f"/api/v1/simulations/{created[1]['simulation_id']}", headers=headers)
    assert detail.json() == created[1]
    dashboard = await client.get(
        f"/simulations/{created[1]['simulation_id']}", headers=bearer(token)
    )
    assert dashboard.json() == created[1]
    dashboard_page = (await client.get("/simulations", headers=bearer(token))).json()
    assert dashboard_page == page


async def test_other_users_simulations_are_404(api, client: AppClient) -> None:
    _, headers, _ = api
    mine = (await simulate(client, headers, example(num_simulations=100))).json()["simulation_id"]
    other_token, other_keys = await keys_of_new_user(client, 1)
    other_headers = {"X-API-Key": other_keys[0]["key"]}
    for response in (
        await client.get(f"/api/v1/simulations/{mine}", headers=other_headers),
        await client.get(f"/simulations/{mine}", headers=bearer(other_token)),
        await client.get("/api/v1/simulations/sim_000000000000", headers=headers),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "Simulation not found"}
    assert (await client.get("/simulations", headers=bearer(other_token))).json()["total"] == 0


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}])
async def test_pagination_is_validated(api, params: dict) -> None:
    client, headers, _ = api
    assert (
        await client.get("/api/v1/simulations", params=params, headers=headers)
    ).status_code == 422


async def test_every_simulate_call_is_logged(api, db: AsyncSession) -> None:
    client, headers, _ = api
    statuses = []
    for body in (example(num_simulations=100), INVALID_BODIES["zero years"], example(seed=1)):
        statuses.append((await simulate(client, headers, body)).status_code)
    statuses.append(
        (
            await client.post(
                "/api/v1/simulate",
                content=b"nope",
                headers={**headers, "Content-Type": "application/json"},
            )
        ).status_code
    )
    assert statuses == [200, 422, 200, 422]
    await client.flush_call_logs()
    logged = (
        await db.execute(text("SELECT endpoint, status_code FROM api_call_logs ORDER BY id"))
    ).all()
    assert [tuple(row) for row in logged] == [("/api/v1/simulate", s) for s in statuses]


# --- running off the event loop -------------------------------------------------------------


async def test_concurrent_simulations_in_one_process_are_safe_and_exact(api) -> None:
    client, headers, _ = api
    bodies = [example(num_simulations=20_000, seed=seed % 2) for seed in range(4)]
    responses = await asyncio.gather(*[simulate(client, headers, body) for body in bodies])
    assert [r.status_code for r in responses] == [200] * 4
    results = [r.json()["results"] for r in responses]
    assert results[0] == results[2] and results[1] == results[3]
    assert results[0] != results[1]


async def test_health_answers_while_a_large_simulation_runs(api) -> None:
    client, headers, _ = api
    big = asyncio.create_task(
        simulate(client, headers, example(num_simulations=1_000_000, sample_paths=10))
    )
    await asyncio.sleep(0.05)
    health_seconds = []
    while not big.done():
        started = time.perf_counter()
        assert (await client.get("/health")).status_code == 200
        health_seconds.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    response = await big
    assert response.status_code == 200
    assert health_seconds, "the simulation finished before /health was asked"
    # /health never waits for the engine: it answers well within a fraction of the run.
    assert max(health_seconds) < min(0.5, response.json()["execution_time_seconds"] / 2)


async def test_busy_slots_answer_503_with_retry_after(client_factory: ClientFactory) -> None:
    client = await client_factory(SIMULATION_MAX_CONCURRENCY=1, SIMULATION_QUEUE_SECONDS=0)
    _, keys = await keys_of_new_user(client, 1)
    headers = {"X-API-Key": keys[0]["key"]}
    slow = example(num_simulations=400_000, time_horizon_years=30, sample_paths=0)
    responses = await asyncio.gather(
        simulate(client, headers, slow), simulate(client, headers, slow)
    )
    assert sorted(r.status_code for r in responses) == [200, 503]
    busy = next(r for r in responses if r.status_code == 503)
    assert int(busy.headers["Retry-After"]) >= 1
    assert "busy" in busy.json()["detail"]
