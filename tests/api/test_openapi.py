"""The OpenAPI document is a contract clients are generated from: typed, named, complete."""

import re

import httpx
import numpy as np
import pytest

from app.engine import SimulationInputs, compute_metrics, run_simulation
from app.schemas.simulation import SPEC_EXAMPLE
from app.schemas.simulation_response import SimulationResults
from tests.api.test_api_keys import keys_of_new_user
from tests.factories import bearer


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict:
    return (await client.get("/openapi.json")).json()


def operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def response_schemas(spec: dict) -> list[tuple[str, dict]]:
    found = []
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                found.append((f"{method} {path} {status}", media["schema"]))
    return found


def untyped_objects(spec: dict, schema: dict, where: str, seen: set[str]) -> list[str]:
    """Objects without declared properties, and properties without a description, under schema."""
    ref = schema.get("$ref")
    if ref in seen:
        return []
    if ref:
        seen.add(ref)
    schema = resolve(spec, schema)
    problems = []
    is_object = schema.get("type") == "object" or "additionalProperties" in schema
    # A map keyed by the caller's own names (a dataset's tickers) is typed by its values' model.
    values = schema.get("additionalProperties")
    typed_map = isinstance(values, dict) and "$ref" in values
    if is_object and not schema.get("properties") and not typed_map:
        problems.append(f"{where}: an object without typed properties")
    if schema == {}:
        problems.append(f"{where}: an untyped value")
    for name, child in schema.get("properties", {}).items():
        if "description" not in child:
            problems.append(f"{where}.{name}: no description")
        problems += untyped_objects(spec, child, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            problems += untyped_objects(spec, schema[key], f"{where}[]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            problems += untyped_objects(spec, option, where, seen)
    return problems


async def test_every_response_body_is_typed_and_every_field_described(spec: dict) -> None:
    problems = []
    for where, schema in response_schemas(spec):
        problems += untyped_objects(spec, schema, where, set())
    assert problems == []


async def test_operation_ids_are_the_route_function_names(spec: dict) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{1,39}", id_) for id_ in ids), ids
    by_route = {f"{method} {path}": op["operationId"] for method, path, op in operations(spec)}
    assert by_route["POST /api/v1/simulate"] == "simulate"
    assert by_route["GET /api/v1/simulations"] == "list_simulations"
    assert by_route["GET /api/v1/simulations/{simulation_id}"] == "get_simulation"
    assert by_route["GET /simulations/{simulation_id}"] == "get_simulation_dashboard"
    assert by_route["POST /api-keys/generate"] == "generate_api_key"
    assert by_route["POST /auth/login"] == "login"


async def test_every_operation_has_a_tag_and_documents_its_errors(spec: dict) -> None:
    tags = {tag["name"] for tag in spec["tags"]}
    for method, path, operation in operations(spec):
        name = f"{method} {path}"
        assert set(operation["tags"]) <= tags and operation["tags"], name
        responses = operation["responses"]
        if operation.get("security"):
            assert "401" in responses, name
        if "requestBody" in operation:
            assert {"413", "422"} <= set(responses), name
        if operation.get("parameters"):
            assert "422" in responses, name
        for status, response in responses.items():
            if status.startswith(("4", "5")) and "health" not in operation["tags"]:
                schema = response["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith(("/ErrorResponse", "/ValidationErrorResponse"))
                if status in ("423", "429", "503"):
                    assert "Retry-After" in response["headers"], (name, status)


async def test_simulation_routes_take_an_api_key_under_api_v1_and_a_jwt_without(
    spec: dict,
) -> None:
    schemes = {
        f"{method} {path}": [name for entry in op.get("security", []) for name in entry]
        for method, path, op in operations(spec)
    }
    assert schemes["POST /api/v1/simulate"] == ["APIKeyHeader"]
    assert schemes["POST /simulate"] == ["OAuth2PasswordBearer"]
    assert schemes["GET /simulations"] == ["OAuth2PasswordBearer"]


async def test_the_dashboard_runs_and_reads_simulations_with_its_jwt(client) -> None:
    token, keys = await keys_of_new_user(client, 2)
    ran = await client.post("/simulate", json=SPEC_EXAMPLE, headers=bearer(token))
    assert ran.status_code == 200, ran.text
    simulation_id = ran.json()["simulation_id"]
    listed = (await client.get("/simulations", headers=bearer(token))).json()
    assert [item["simulation_id"] for item in listed["items"]] == [simulation_id]
    opened = await client.get(f"/simulations/{simulation_id}", headers=bearer(token))
    assert opened.content == ran.content
    by_key = await client.get(
        f"/api/v1/simulations/{simulation_id}", headers={"X-API-Key": keys[0]["key"]}
    )
    assert by_key.content == ran.content
    # Each variant takes its own credential only.
    assert (
        await client.post("/simulate", json=SPEC_EXAMPLE, headers={"X-API-Key": keys[0]["key"]})
    ).status_code == 401
    assert (await client.get("/api/v1/simulations", headers=bearer(token))).status_code == 401


def nested_keys(value: object, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return set()
    keys = set()
    for key, child in value.items():
        keys.add(prefix + key)
        keys |= nested_keys(child, f"{prefix}{key}.")
    return keys


def test_every_metric_the_engine_computes_is_typed_in_the_response() -> None:
    """A metric added to the engine but not to the typed models would be silently dropped."""
    inputs = SimulationInputs(
        weights=np.array([1.0]),
        annual_returns=np.array([0.07]),
        annual_volatilities=np.array([0.15]),
        correlation=np.array([[1.0]]),
        initial_investment=1000.0,
        monthly_contribution=10.0,
        years=2,
        num_paths=50,
        seed=1,
        risk_free_rate=0.02,
        sample_paths=1,
    )
    computed = compute_metrics(
        run_simulation(inputs), risk_free_rate=0.02, inflation_rate=0.03, years=2
    )
    bands = {"month": [0], "paths_used": 1} | {f"p{p}": [1.0] for p in (5, 25, 50, 75, 95)}
    typed = SimulationResults.model_validate(
        {**computed, "percentile_bands": bands, "sample_paths": []}
    ).model_dump()
    assert nested_keys(computed) <= nested_keys(typed)
