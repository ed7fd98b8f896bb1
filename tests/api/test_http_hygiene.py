"""HTTP and input hygiene in the app: redirects never repeat the Host header, 422 error lists
are capped, a 413's call-log row keeps its endpoint, names and tickers hold no control
characters, time windows are ISO 8601, ids are integers, and ReDoc needs no CDN."""

import json

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiCallLog
from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import example
from tests.conftest import AppClient
from tests.factories import PASSWORD, bearer


async def test_trailing_slash_redirects_do_not_repeat_the_host(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/simulations/?limit=5", headers={"Host": "evil.example"})
    assert response.status_code in (301, 307, 308)
    assert response.headers["Location"] == "/api/v1/simulations?limit=5"


async def test_a_422_lists_the_first_50_errors_and_counts_them_all(
    client: httpx.AsyncClient,
) -> None:
    body = example() | {f"unknown_{n}": n for n in range(30_000)}
    response = await client.post("/api/v1/simulate", json=body, headers={"X-API-Key": "x"})
    assert response.status_code in (401, 422)  # validated before or after the key: either way
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 422
    answer = response.json()
    assert len(answer["detail"]) == 50
    assert answer["error_count"] >= 30_000
    assert len(response.content) < 50_000


async def test_a_413_call_log_row_keeps_its_endpoint(client: AppClient, db: AsyncSession) -> None:
    _, keys = await keys_of_new_user(client, 1)
    response = await client.post(
        "/api/v1/simulate",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"X-API-Key": keys[0]["key"], "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    await client.flush_call_logs()
    rows = (await db.execute(select(ApiCallLog.endpoint, ApiCallLog.status_code))).all()
    assert (("/api/v1/simulate", 413)) in [tuple(row) for row in rows]


@pytest.mark.parametrize(
    "text", ["line\nbreak", "tab\there", "escape\x1b[31m", "bell\x07", "next\x85line"]
)
async def test_control_characters_are_refused_in_names_and_tickers(
    client: httpx.AsyncClient, text: str
) -> None:
    for field in ("full_name", "company"):
        body = {"email": f"ctl-{field}-{ord(text[-1])}@example.com", "password": PASSWORD}
        registered = await client.post("/auth/register", json=body | {field: text})
        assert registered.status_code == 422, (field, registered.text)
    token, keys = await keys_of_new_user(client, 1)
    named = await client.post("/api-keys/generate", json={"name": text}, headers=bearer(token))
    assert named.status_code == 422
    body = example()
    body["portfolio"]["assets"][0]["ticker"] = text
    simulated = await client.post(
        "/api/v1/simulate", json=body, headers={"X-API-Key": keys[0]["key"]}
    )
    assert simulated.status_code == 422
    assert "control characters" in json.dumps(simulated.json())


async def test_an_email_local_part_is_at_most_64_characters(client: httpx.AsyncClient) -> None:
    too_long = await client.post(
        "/auth/register", json={"email": "a" * 65 + "@example.com", "password": PASSWORD}
    )
    assert too_long.status_code == 422
    assert "before @" in too_long.text
    longest = await client.post(
        "/auth/register", json={"email": "a" * 64 + "@example.com", "password": PASSWORD}
    )
    assert longest.status_code == 201


async def test_usage_windows_are_iso_8601_not_epoch_numbers(client: httpx.AsyncClient) -> None:
    token, _ = await keys_of_new_user(client, 1)
    for since in ("1700000000", "1700000000.5", "-5"):
        answer = await client.get("/api-keys/usage", params={"since": since}, headers=bearer(token))
        assert answer.status_code == 422, since
        assert "ISO 8601" in answer.text
    fine = await client.get(
        "/api-keys/usage", params={"since": "2026-01-01T00:00:00Z"}, headers=bearer(token)
    )
    assert fine.status_code == 200


@pytest.mark.parametrize("key_id", ["1", 1.0, True])
async def test_api_key_id_must_be_an_integer(client: httpx.AsyncClient, key_id: object) -> None:
    token, _ = await keys_of_new_user(client, 3)
    answer = await client.post(
        "/api-keys/revoke", json={"api_key_id": key_id}, headers=bearer(token)
    )
    assert answer.status_code == 422


async def test_redoc_loads_nothing_from_a_cdn(client: httpx.AsyncClient) -> None:
    page = (await client.get("/redoc")).text
    script_url = page.split('src="')[1].split('"')[0]
    script = await client.get(script_url)
    assert script.status_code == 200
    assert b"cdn.redoc.ly" not in script.content
    assert b"/docs-assets/redoc-logo.svg" in script.content
    logo = await client.get("/docs-assets/redoc-logo.svg")
    assert logo.status_code == 200 and logo.headers["content-type"].startswith("image/svg")
