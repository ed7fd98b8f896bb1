"""Datasets through the API: upload as CSV, list, open, delete; both authentications, the
account's limit under concurrent uploads, the size limit, and every refusal a clear 4xx."""

import asyncio

import numpy as np
import pytest

from app.services.datasets import summary_of
from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import api  # noqa: F401
from tests.conftest import AppClient, ClientFactory
from tests.dataset_files import csv_of, random_returns, upload
from tests.factories import bearer


async def test_an_upload_answers_the_dataset_with_its_statistics(api) -> None:  # noqa: F811
    client, headers, _ = api
    prices = 100.0 * np.cumprod(1.0 + random_returns(36, 2), axis=0)
    response = await upload(client, headers, csv_of(["SPY", "AGG"], prices), kind="prices")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dataset_id"].startswith("ds_") and len(body["dataset_id"]) == 15
    assert set(body) == {
        "dataset_id", "name", "kind", "tickers", "months", "first_month", "last_month",
        "statistics", "correlation", "created_at",
    }  # fmt: skip
    assert (body["name"], body["kind"], body["tickers"]) == ("History", "prices", ["SPY", "AGG"])
    assert (body["months"], body["first_month"], body["last_month"]) == (35, "2015-02", "2017-12")
    returns = prices[1:] / prices[:-1] - 1.0
    for i, ticker in enumerate(["SPY", "AGG"]):
        stats = body["statistics"][ticker]
        assert stats["annual_return"] == pytest.approx(
            12 * np.log(np.mean(1 + returns[:, i])), rel=1e-12
        )
        assert stats["annual_volatility"] == pytest.approx(
            np.sqrt(12) * np.std(np.log1p(returns[:, i]), ddof=1), rel=1e-12
        )
    expected = np.corrcoef(np.log1p(returns).T)
    np.testing.assert_allclose(body["correlation"], expected, rtol=1e-12)


def test_a_flat_series_has_zero_volatility_and_no_correlation() -> None:
    returns = np.column_stack([np.full(30, 0.01), random_returns(30, 1)[:, 0]])
    summary = summary_of(("FLAT", "X"), returns)
    assert summary["statistics"]["FLAT"] == {
        "annual_return": pytest.approx(12 * np.log(1.01), rel=1e-14),
        "annual_volatility": 0.0,
    }
    assert summary["correlation"] == [[1.0, 0.0], [0.0, 1.0]]


async def test_list_get_and_delete_with_a_key_and_with_a_jwt(api) -> None:  # noqa: F811
    client, headers, token = api
    first = await upload(client, headers, csv_of(["A"], random_returns(24, 1)), name="one")
    second = await upload(
        client, bearer(token), csv_of(["B"], random_returns(24, 1)), name="two", prefix=""
    )
    assert first.status_code == second.status_code == 201
    listed = (await client.get("/api/v1/datasets", headers=headers)).json()
    assert listed["total"] == 2
    assert [d["name"] for d in listed["items"]] == ["two", "one"]
    dashboard = (await client.get("/datasets", headers=bearer(token))).json()
    assert dashboard == listed
    dataset_id = first.json()["dataset_id"]
    got = await client.get(f"/api/v1/datasets/{dataset_id}", headers=headers)
    assert got.status_code == 200 and got.json() == first.json()
    deleted = await client.delete(f"/datasets/{dataset_id}", headers=bearer(token))
    assert deleted.status_code == 204 and deleted.content == b""
    gone = await client.get(f"/api/v1/datasets/{dataset_id}", headers=headers)
    assert gone.status_code == 404
    again = await client.delete(f"/api/v1/datasets/{dataset_id}", headers=headers)
    assert again.status_code == 404


async def test_another_accounts_dataset_is_a_404(api) -> None:  # noqa: F811
    client, headers, _ = api
    created = await upload(client, headers, csv_of(["A"], random_returns(24, 1)))
    dataset_id = created.json()["dataset_id"]
    _, other_keys = await keys_of_new_user(client, 2)
    other = {"X-API-Key": other_keys[0]["key"]}
    assert (await client.get(f"/api/v1/datasets/{dataset_id}", headers=other)).status_code == 404
    refused = await client.delete(f"/api/v1/datasets/{dataset_id}", headers=other)
    assert refused.status_code == 404
    assert (await client.get("/api/v1/datasets", headers=other)).json()["total"] == 0
    assert (await client.get(f"/api/v1/datasets/{dataset_id}", headers=headers)).status_code == 200


async def test_without_credentials_uploads_are_401(client: AppClient) -> None:
    response = await upload(client, {}, csv_of(["A"], random_returns(24, 1)))
    assert response.status_code == 401
    assert (await client.get("/datasets")).status_code == 401


async def test_concurrent_uploads_cannot_pass_the_account_limit(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(MAX_DATASETS_PER_USER=3)
    token, keys = await keys_of_new_user(client, 2)
    headers = {"X-API-Key": keys[0]["key"]}
    content = csv_of(["A", "B"], random_returns(120, 2))
    responses = await asyncio.gather(*[upload(client, headers, content) for _ in range(8)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [409] * 5
    refused = next(r for r in responses if r.status_code == 409)
    assert "at most 3" in refused.json()["detail"]
    assert (await client.get("/datasets", headers=bearer(token))).json()["total"] == 3
    first = next(r for r in responses if r.status_code == 201).json()["dataset_id"]
    await client.delete(f"/api/v1/datasets/{first}", headers=headers)
    assert (await upload(client, headers, content)).status_code == 201


async def test_a_3_mb_file_is_refused_413_naming_the_setting(api) -> None:  # noqa: F811
    client, headers, _ = api
    rows = 3 * 1024 * 1024 // 70
    content = csv_of([f"T{i}" for i in range(3)], random_returns(min(rows, 2400), 3))
    content += "x" * (3 * 1024 * 1024 - len(content))
    response = await upload(client, headers, content)
    assert response.status_code == 413
    assert "2097152 bytes (MAX_DATASET_BYTES)" in response.json()["detail"]


async def test_a_file_over_max_request_bytes_but_within_max_dataset_bytes_is_read(
    api,  # noqa: F811
) -> None:
    client, headers, _ = api
    content = csv_of([f"TICKER_{i}" for i in range(30)], random_returns(2400, 30))
    assert 1_048_576 < len(content.encode()) < 2_097_152
    response = await upload(client, headers, content)
    assert response.status_code == 201, response.text[:300]
    assert response.json()["months"] == 2400


@pytest.mark.parametrize(
    ("content", "line", "named"),
    [
        (b"", "line 1", "empty"),
        (b"date,A\n2015-01,0.01\n2015-03,0.02\n", "line 3", "2015-02 is missing"),
        (b"date,A\n2015-01,=cmd|' /C calc'!A0\n", "line 2", "is not a number"),
    ],
)
async def test_a_bad_file_is_a_422_naming_line_and_column(
    api,  # noqa: F811
    content: bytes,
    line: str,
    named: str,
) -> None:
    client, headers, _ = api
    response = await upload(client, headers, content)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"][:2] == ["body", line]
    assert problem["msg"].startswith(line) and named in problem["msg"]
    assert (await client.get("/api/v1/datasets", headers=headers)).json()["total"] == 0


async def test_a_formula_cell_is_answered_as_text_naming_its_column(api) -> None:  # noqa: F811
    client, headers, _ = api
    response = await upload(client, headers, b"date,A,B\n2015-01,0.01,=1+2\n")
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "line 2", "B"]
    assert "'=1+2' is not a number" in problem["msg"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "returns"}, "name"),
        ({"name": "", "kind": "returns"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "a\tb"}, "name"),
        ({"name": "ok", "kind": "levels"}, "kind"),
    ],
)
async def test_bad_query_parameters_are_422(api, params: dict, field: str) -> None:  # noqa: F811
    client, headers, _ = api
    response = await client.post(
        "/api/v1/datasets",
        params=params,
        content=csv_of(["A"], random_returns(24, 1)),
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


async def test_a_json_or_multipart_body_is_a_415(api) -> None:  # noqa: F811
    client, headers, _ = api
    content = csv_of(["A"], random_returns(24, 1))
    as_json = await upload(client, headers, content, content_type="application/json")
    assert as_json.status_code == 415 and "text/csv" in as_json.json()["detail"]
    as_form = await client.post(
        "/api/v1/datasets", params={"name": "x"}, files={"file": ("a.csv", content)},
        headers=headers,
    )  # fmt: skip
    assert as_form.status_code == 415


async def test_the_openapi_document_describes_a_text_csv_body(client: AppClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/datasets", "/datasets"):
        operation = spec["paths"][path]["post"]
        assert list(operation["requestBody"]["content"]) == ["text/csv"]
        assert {p["name"] for p in operation["parameters"]} == {"name", "kind"}
        assert {"201", "409", "413", "415", "422"} <= set(operation["responses"])
    assert spec["paths"]["/api/v1/datasets"]["post"]["operationId"] == "upload_dataset"
