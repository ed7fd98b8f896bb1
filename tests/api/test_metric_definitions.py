"""`definitions`: every figure of a response defined in words, in the response and the README."""

import re

from app.config import PROJECT_ROOT
from app.schemas.metric_definitions import DEFINITIONS
from app.schemas.simulation import SPEC_EXAMPLE
from app.schemas.simulation_response import SimulationResults
from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import AppClient

# What responses answered before the typed contract: a client showing them must keep working.
EARLIER_KEYS = {
    "final_value_stats",
    "total_invested",
    "var_95",
    "var_99",
    "var_95_loss",
    "var_99_loss",
    "var_95_relative",
    "var_99_relative",
    "cvar_95",
    "sharpe_ratio",
    "sharpe_ratio_geometric",
    "sortino_ratio",
    "annualized_return",
    "max_drawdown_pct",
    "probabilities.loss",
    "probabilities.positive_return",
    "probabilities.doubling",
    "probabilities.depletion",
    "probabilities.cagr_below_risk_free",
    "percentile_bands",
    "real",
}


def figures_of_results() -> set[str]:
    """The names `definitions` must define: each risk metric, each probability, each block."""
    figures = set()
    for name, field in SimulationResults.model_fields.items():
        if name == "risk_metrics":
            figures |= set(field.annotation.model_fields)
        elif name == "probabilities":
            figures |= {f"probabilities.{p}" for p in field.annotation.model_fields}
        else:
            figures.add(name)
    return figures


def readme_metrics_section() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    return readme.split("### Metrics\n", 1)[1].split("\n### ", 1)[0]


async def test_a_response_defines_each_of_its_figures_under_their_earlier_names(
    client: AppClient,
) -> None:
    _, keys = await keys_of_new_user(client, 1)
    response = await client.post(
        "/api/v1/simulate", json=SPEC_EXAMPLE, headers={"X-API-Key": keys[0]["key"]}
    )
    assert response.status_code == 200, response.text
    definitions = response.json()["definitions"]
    assert definitions == DEFINITIONS
    assert definitions.keys() >= EARLIER_KEYS
    assert figures_of_results() <= definitions.keys()


def test_the_readme_metrics_section_names_every_defined_figure() -> None:
    section = readme_metrics_section()
    missing = [
        key
        for key in DEFINITIONS
        if not re.search(rf"`(?:[a-z_]+\.)?{re.escape(key.rsplit('.', 1)[-1])}`", section)
    ]
    assert missing == []
