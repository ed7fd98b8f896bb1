"""Simulations on an uploaded dataset (`data_source: "dataset"`): estimates for the normal and
Student-t models, the bootstrap of its months, the echo, and the 422 rules."""

from decimal import Decimal

import numpy as np
import pytest

from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import api, simulate  # noqa: F401
from tests.dataset_files import csv_of, random_returns, upload

DATASET_TICKERS = ["SPY", "AGG", "GLD"]


def request_on(dataset_id: str, model: dict, assets: list[dict] | None = None, **parameters):
    assets = assets or [
        {"ticker": "GLD", "weight": 0.3, "asset_class": "commodities"},
        {"ticker": "SPY", "weight": 0.7, "asset_class": "equity"},
    ]
    return {
        "portfolio": {"assets": assets},
        "parameters": {
            "initial_investment": 10_000.0,
            "monthly_contribution": 250.0,
            "time_horizon_years": 10,
            "num_simulations": 2_000,
            "seed": 11,
            "sample_paths": 20,
            "data_source": "dataset",
            "dataset_id": dataset_id,
            "return_model": model,
            **parameters,
        },
    }


async def uploaded(client, headers, table: np.ndarray, tickers=DATASET_TICKERS) -> dict:
    response = await upload(client, headers, csv_of(tickers, table), name="test history")
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("rebalancing", ["monthly", "none"])
async def test_a_constant_returns_dataset_bootstraps_to_the_closed_form(
    api,  # noqa: F811
    rebalancing: str,
) -> None:
    client, headers, _ = api
    constant = np.array([0.01, 0.004, -0.002])
    dataset = await uploaded(client, headers, np.tile(constant, (30, 1)))
    assets = [
        {"ticker": ticker, "weight": 1 / 3, "asset_class": "equity"} for ticker in DATASET_TICKERS
    ]
    body = request_on(
        dataset["dataset_id"],
        {"type": "bootstrap", "block_months": 7},
        assets,
        rebalancing=rebalancing,
        num_simulations=50,
    )
    response = await simulate(client, headers, body)
    assert response.status_code == 200, response.text
    weights = [Decimal(1) / 3] * 3  # the float weights are 1/3 to 1e-16
    growth = [1 + Decimal(float(r)) for r in constant]
    holdings = [w * (10_000 + 250) for w in weights]
    for month in range(120):
        if month:
            total = sum(holdings) + 250
            holdings = (
                [w * total for w in weights]
                if rebalancing == "monthly"
                else [h + w * 250 for h, w in zip(holdings, weights, strict=True)]
            )
        holdings = [h * g for h, g in zip(holdings, growth, strict=True)]
    expected = float(sum(holdings))
    stats = response.json()["results"]["final_value_stats"]
    for name in ("min", "max", "mean", "median"):
        assert abs(stats[name] / expected - 1.0) < 1e-12, (name, stats[name], expected)


async def test_the_bootstrap_replays_whole_dataset_months_in_portfolio_order(api) -> None:  # noqa: F811
    client, headers, _ = api
    table = random_returns(60, 3, seed=5)
    dataset = await uploaded(client, headers, table)
    body = request_on(
        dataset["dataset_id"], {"type": "bootstrap"}, initial_investment=1e9, monthly_contribution=0
    )
    response = await simulate(client, headers, body)
    assert response.status_code == 200, response.text
    inputs = response.json()["inputs"]
    assert inputs["history"] == {
        "source": "dataset",
        "months": 60,
        "dataset_id": dataset["dataset_id"],
        "first_month": "2015-01",
        "last_month": "2019-12",
    }
    assert inputs["parameters"]["data_source"] == "dataset"
    assert inputs["parameters"]["dataset_id"] == dataset["dataset_id"]
    assert inputs["parameters"]["return_model"] == {"type": "bootstrap", "block_months": 1}
    portfolio_months = table[:, [2, 0]] @ np.array([0.3, 0.7])  # GLD, SPY
    paths = np.array(response.json()["results"]["sample_paths"])
    month_returns = paths[:, 1:] / paths[:, :-1] - 1.0
    distance = np.abs(month_returns[..., None] - portfolio_months)
    assert distance.min(axis=-1).max() < 1e-9
    assert len(np.unique(distance.argmin(axis=-1))) > 40


async def test_the_bootstrap_mean_month_matches_the_history_within_4_standard_errors(
    api,  # noqa: F811
) -> None:
    client, headers, _ = api
    table = random_returns(120, 3, seed=8)
    dataset = await uploaded(client, headers, table)
    body = request_on(
        dataset["dataset_id"],
        {"type": "bootstrap"},
        initial_investment=1e9,
        monthly_contribution=0,
        sample_paths=200,
        num_simulations=200,
    )
    response = await simulate(client, headers, body)
    paths = np.array(response.json()["results"]["sample_paths"])
    simulated = (paths[:, 1:] / paths[:, :-1] - 1.0).ravel()
    history = table[:, [2, 0]] @ np.array([0.3, 0.7])
    standard_error = history.std() / np.sqrt(simulated.size)
    assert abs(simulated.mean() - history.mean()) < 4 * standard_error


@pytest.mark.parametrize(
    "model", [{"type": "normal"}, {"type": "student_t", "degrees_of_freedom": 6}]
)
async def test_normal_and_student_t_take_their_estimates_from_the_dataset(
    api,  # noqa: F811
    model: dict,
) -> None:
    client, headers, _ = api
    table = random_returns(48, 3, seed=3)
    dataset = await uploaded(client, headers, table)
    response = await simulate(client, headers, request_on(dataset["dataset_id"], model))
    assert response.status_code == 200, response.text
    inputs = response.json()["inputs"]
    for asset in inputs["assets"]:
        stats = dataset["statistics"][asset["ticker"]]
        assert asset["expected_return"] == stats["annual_return"]
        assert asset["volatility"] == stats["annual_volatility"]
        assert asset["return_source"] == asset["volatility_source"] == "dataset"
    gld, spy = DATASET_TICKERS.index("GLD"), DATASET_TICKERS.index("SPY")
    correlation = dataset["correlation"][gld][spy]
    assert inputs["correlation"] == [[1.0, correlation], [correlation, 1.0]]
    assert inputs["correlation_source"] == "dataset"
    assert inputs["history"]["dataset_id"] == dataset["dataset_id"]
    assert inputs["parameters"]["return_model"]["type"] == model["type"]
    expected = 12 * np.log(np.mean(1 + table[:, spy]))
    assert inputs["assets"][1]["expected_return"] == pytest.approx(expected, rel=1e-12)


async def test_request_overrides_win_over_the_dataset(api) -> None:  # noqa: F811
    client, headers, _ = api
    dataset = await uploaded(client, headers, random_returns(30, 3))
    body = request_on(dataset["dataset_id"], {"type": "normal"})
    body["portfolio"]["assets"][0] |= {"expected_return": 0.05, "volatility": 0.1}
    body["portfolio"]["correlation"] = [[1.0, 0.25], [0.25, 1.0]]
    inputs = (await simulate(client, headers, body)).json()["inputs"]
    gld, spy = inputs["assets"]
    assert (gld["expected_return"], gld["volatility"], gld["return_source"]) == (
        0.05,
        0.1,
        "request",
    )
    assert spy["return_source"] == "dataset"
    assert inputs["correlation"] == [[1.0, 0.25], [0.25, 1.0]]
    assert inputs["correlation_source"] == "request"


async def test_tickers_missing_from_the_dataset_are_named_in_a_422(api) -> None:  # noqa: F811
    client, headers, _ = api
    dataset = await uploaded(client, headers, random_returns(30, 3))
    assets = [
        {"ticker": "SPY", "weight": 0.5, "asset_class": "equity"},
        {"ticker": "QQQ", "weight": 0.25, "asset_class": "equity"},
        {"ticker": "TLT", "weight": 0.25, "asset_class": "bonds"},
    ]
    response = await simulate(
        client, headers, request_on(dataset["dataset_id"], {"type": "bootstrap"}, assets)
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "portfolio", "assets"]
    assert "QQQ, TLT" in problem["msg"] and dataset["dataset_id"] in problem["msg"]


async def test_an_unknown_or_foreign_dataset_is_a_422(api) -> None:  # noqa: F811
    client, headers, _ = api
    _, other_keys = await keys_of_new_user(client, 2)
    other = {"X-API-Key": other_keys[0]["key"]}
    foreign = await uploaded(client, other, random_returns(30, 3))
    for dataset_id in (foreign["dataset_id"], "ds_000000000000"):
        response = await simulate(client, headers, request_on(dataset_id, {"type": "normal"}))
        assert response.status_code == 422
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["body", "parameters", "dataset_id"]
        assert f"no dataset {dataset_id} of yours" in problem["msg"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dataset_id": None}, "give both or neither"),
        ({"data_source": "assumptions"}, "give both or neither"),
        ({"dataset_id": "ds_XYZ"}, "should match pattern"),
    ],
)
async def test_dataset_id_goes_with_the_dataset_source(api, changes, message) -> None:  # noqa: F811
    client, headers, _ = api
    body = request_on("ds_0123456789ab", {"type": "normal"})
    body["parameters"].update(changes)
    response = await simulate(client, headers, body)
    assert response.status_code == 422
    assert message in response.text


async def test_a_deleted_dataset_no_longer_simulates_but_its_runs_stay(api) -> None:  # noqa: F811
    client, headers, _ = api
    dataset = await uploaded(client, headers, random_returns(30, 3))
    ran = await simulate(client, headers, request_on(dataset["dataset_id"], {"type": "bootstrap"}))
    assert ran.status_code == 200
    deleted = await client.delete(f"/api/v1/datasets/{dataset['dataset_id']}", headers=headers)
    assert deleted.status_code == 204
    again = await simulate(
        client, headers, request_on(dataset["dataset_id"], {"type": "bootstrap"})
    )
    assert again.status_code == 422
    simulation_id = ran.json()["simulation_id"]
    saved = await client.get(f"/api/v1/simulations/{simulation_id}", headers=headers)
    assert saved.status_code == 200 and saved.json() == ran.json()
