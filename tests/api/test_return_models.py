"""parameters.return_model through POST /api/v1/simulate: the echo, the 422 rules, and the
bootstrap of the Bloomberg history (through the stand-in xbbg of tests/services)."""

import numpy as np
import pytest

from tests.api.test_simulation import api, example, simulate  # noqa: F401
from tests.services.test_market_data import fake_xbbg, price_table  # noqa: F401

BLOOMBERG_PORTFOLIO = [
    {"ticker": "NSEI Index", "weight": 0.6, "asset_class": "equity"},
    {"ticker": "GIND10YR Index", "weight": 0.4, "asset_class": "bonds"},
]


def with_model(model: dict | None, **parameters: object) -> dict:
    body = example(seed=7, num_simulations=2_000, sample_paths=5, **parameters)
    if model is not None:
        body["parameters"]["return_model"] = model
    return body


async def test_the_default_model_is_normal_and_echoed(api) -> None:  # noqa: F811
    client, headers, _ = api
    implicit = await simulate(client, headers, with_model(None))
    explicit = await simulate(client, headers, with_model({"type": "normal"}))
    assert implicit.status_code == explicit.status_code == 200
    assert implicit.json()["inputs"]["parameters"]["return_model"] == {"type": "normal"}
    assert implicit.json()["results"] == explicit.json()["results"]
    assert implicit.json()["inputs"]["history"] is None


async def test_student_t_runs_with_its_default_and_echoes_it(api) -> None:  # noqa: F811
    client, headers, _ = api
    normal = (await simulate(client, headers, with_model(None))).json()
    response = await simulate(client, headers, with_model({"type": "student_t"}))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["inputs"]["parameters"]["return_model"] == {
        "type": "student_t",
        "degrees_of_freedom": 5,
    }
    assert body["results"]["sample_paths"] != normal["results"]["sample_paths"]
    again = await simulate(client, headers, with_model({"type": "student_t"}))
    assert again.json()["results"] == body["results"]


@pytest.mark.parametrize(
    ("model", "data_source", "message"),
    [
        ({"type": "student_t", "degrees_of_freedom": 2}, "assumptions", "greater than or equal"),
        ({"type": "student_t", "degrees_of_freedom": 101}, "assumptions", "less than or equal"),
        ({"type": "student_t", "degrees_of_freedom": 5.5}, "assumptions", "valid integer"),
        ({"type": "bootstrap", "block_months": 0}, "bloomberg", "greater than or equal"),
        ({"type": "bootstrap", "block_months": 121}, "bloomberg", "less than or equal"),
        ({"type": "garch"}, "assumptions", "does not match any of the expected tags"),
        ({"type": "normal", "degrees_of_freedom": 5}, "assumptions", "Extra inputs"),
        ({"type": "bootstrap"}, "assumptions", "needs a history"),
    ],
)
async def test_invalid_return_models_are_422(api, model, data_source, message) -> None:  # noqa: F811
    client, headers, _ = api
    response = await simulate(client, headers, with_model(model, data_source=data_source))
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert message in problem["msg"]
    assert problem["loc"][:3] == ["body", "parameters", "return_model"] or (
        problem["loc"] == ["body", "parameters"] and "data_source" in problem["msg"]
    )


@pytest.mark.parametrize(
    ("override", "named"),
    [({"expected_return": 0.05}, "expected_return"), ({"volatility": 0.1}, "volatility")],
)
async def test_bootstrap_refuses_return_overrides(api, override, named) -> None:  # noqa: F811
    client, headers, _ = api
    body = with_model({"type": "bootstrap"}, data_source="bloomberg")
    body["portfolio"]["assets"][0].update(override)
    response = await simulate(client, headers, body)
    assert response.status_code == 422
    assert f"{named} of NSEI Index cannot be given with the bootstrap" in response.text


async def test_bootstrap_refuses_a_correlation(api) -> None:  # noqa: F811
    client, headers, _ = api
    body = with_model({"type": "bootstrap"}, data_source="bloomberg")
    body["portfolio"]["correlation"] = [[1.0, 0.2], [0.2, 1.0]]
    response = await simulate(client, headers, body)
    assert response.status_code == 422 and "correlation cannot be given" in response.text


async def test_bloomberg_bootstrap_replays_whole_months_of_the_fetched_history(
    api,  # noqa: F811
    fake_xbbg,  # noqa: F811
) -> None:
    client, headers, _ = api
    body = with_model(
        {"type": "bootstrap"},
        data_source="bloomberg",
        initial_investment=1e9,
        monthly_contribution=0,
        time_horizon_years=5,
    )
    body["portfolio"]["assets"] = BLOOMBERG_PORTFOLIO
    response = await simulate(client, headers, body)
    assert response.status_code == 200, response.text
    inputs = response.json()["inputs"]
    assert inputs["history"] == {
        "source": "bloomberg",
        "months": 120,
        "dataset_id": None,
        "first_month": "2016-02",  # the first return: month_ends start in 2016-01
        "last_month": "2026-01",
    }
    assert inputs["parameters"]["return_model"] == {"type": "bootstrap", "block_months": 1}
    assert [a["return_source"] for a in inputs["assets"]] == ["bloomberg", "bloomberg"]
    table = price_table()
    history = np.column_stack(
        [np.diff(table[a["ticker"]]) / table[a["ticker"]][:-1] for a in BLOOMBERG_PORTFOLIO]
    )
    portfolio_months = history @ np.array([0.6, 0.4])
    paths = np.array(response.json()["results"]["sample_paths"])
    month_returns = paths[:, 1:] / paths[:, :-1] - 1.0
    nearest = np.abs(month_returns[..., None] - portfolio_months).min(axis=-1)
    assert nearest.max() < 1e-9  # every simulated month is a whole historical month
    drawn = np.abs(month_returns[..., None] - portfolio_months).argmin(axis=-1)
    assert len(np.unique(drawn)) > 60  # and the months are drawn across the history
    assert len(fake_xbbg) == 1


async def test_bloomberg_serves_student_t_from_its_estimates(api, fake_xbbg) -> None:  # noqa: F811
    client, headers, _ = api
    body = with_model({"type": "student_t", "degrees_of_freedom": 8}, data_source="bloomberg")
    body["portfolio"]["assets"] = BLOOMBERG_PORTFOLIO
    response = await simulate(client, headers, body)
    assert response.status_code == 200, response.text
    assert response.json()["inputs"]["correlation_source"] == "bloomberg"
    assert response.json()["inputs"]["history"]["months"] == 120
