"""Odd and hostile input gets a clear 4xx JSON answer on every endpoint, never a 500."""

import json

import httpx
import pytest

from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import SPEC_EXAMPLE
from tests.factories import bearer

JSON = {"Content-Type": "application/json"}
DEEP = "[" * 3000 + "]" * 3000


@pytest.fixture
async def credentials(client: httpx.AsyncClient) -> dict[str, str]:
    token, keys = await keys_of_new_user(client, 2)
    return {"Authorization": f"Bearer {token}", "X-API-Key": keys[0]["key"]}


def _raw(body: dict) -> bytes:
    return json.dumps(body).encode()


HOSTILE_POSTS = [
    ("/auth/register", b'{"email": "a@example.com", "password": "Secure\\u0000Pass1"}', JSON),
    (
        "/auth/register",
        b'{"email": "a@example.com", "password": "SecurePass1", "full_name": "a\\u0000"}',
        JSON,
    ),
    ("/auth/register", b'{"email": "\\ud800", "password": "x"}', JSON),
    (
        "/auth/register",
        b'{"email": "a@example.com", "password": "SecurePass1", "\\ud800": 1}',
        JSON,
    ),
    ("/auth/register", _raw({"email": "a@example.com", "password": "SecurePass1"}), {}),
    (
        "/auth/register",
        _raw({"email": "a@example.com", "password": "SecurePass1"}),
        {"Content-Type": "text/plain"},
    ),
    (
        "/auth/register",
        ('{"email": "a@example.com", "password": "SecurePass1", "company": ' + DEEP + "}").encode(),
        JSON,
    ),
    ("/auth/login", b'{"email": "a@example.com", "password": "a\\u0000"}', JSON),
    (
        "/auth/login",
        b"email=a%40example.com&password=SecurePass1",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    (
        "/auth/token",
        b"username=a%00&password=SecurePass1",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    (
        "/auth/token",
        b"username=a%40example.com&password=Secure%00Pass1",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    ("/auth/refresh", b'{"refresh_token": "a\\u0000b"}', JSON),
    ("/auth/refresh", DEEP.encode(), JSON),
    ("/api-keys/generate", b'{"name": "a\\u0000"}', JSON),
    ("/api-keys/generate", b'{"name": ' + DEEP.encode() + b"}", JSON),
    ("/api-keys/revoke", b'{"api_key_id": 1e400}', JSON),
    ("/api/v1/simulate", _raw(SPEC_EXAMPLE).replace(b"NSEI Index", b"NSEI\\u0000"), JSON),
    ("/api/v1/simulate", _raw(SPEC_EXAMPLE).replace(b"NSEI Index", b"\\udcff"), JSON),
    ("/api/v1/simulate", _raw(SPEC_EXAMPLE), {"Content-Type": "text/plain"}),
    ("/api/v1/simulate", _raw(SPEC_EXAMPLE).replace(b"1000000,", b"1e999999,"), JSON),
    ("/api/v1/simulate", _raw(SPEC_EXAMPLE).replace(b"10000}", b"99999999999999999999999}"), JSON),
    ("/api/v1/simulate", DEEP.encode(), JSON),
]


@pytest.mark.parametrize(("path", "body", "headers"), HOSTILE_POSTS)
async def test_hostile_bodies_get_a_4xx_json_answer(
    client: httpx.AsyncClient, credentials: dict, path: str, body: bytes, headers: dict
) -> None:
    response = await client.post(path, content=body, headers={**credentials, **headers})
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/simulations/%00",
        "/api/v1/simulations/sim_%ff",
        "/simulations/a%00",
        "/api/v1/simulations?limit=1e9",
        "/api/v1/simulations?offset=-1",
        "/api-keys/usage?until=0001-01-01T00:00:00Z",
        "/api-keys/usage?since=1700000000",
        "/api-keys/usage?until=0.5",
        "/api-keys/usage?since=%00",
        "/admin/usage?until=0001-01-01T00:00:00Z",
    ],
)
async def test_hostile_paths_and_queries_get_a_4xx_json_answer(
    client: httpx.AsyncClient, credentials: dict, path: str
) -> None:
    response = await client.get(path, headers=credentials)
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()


async def test_a_usage_window_past_1970_or_9000_is_cut_there(
    client: httpx.AsyncClient, credentials: dict
) -> None:
    for query, field, bound in [
        ("since=0001-01-01T00:00:00%2B14:00&granularity=month", "since", "1970-01-01T00:00:00Z"),
        ("until=9999-12-31T23:59:59-14:00&granularity=month", "until", "9000-01-01T00:00:00Z"),
    ]:
        response = await client.get(f"/api-keys/usage?{query}", headers=credentials)
        assert response.status_code == 200, response.text
        assert response.json()[field] == bound


async def test_deeply_nested_json_is_a_422_not_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", content=DEEP.encode(), headers=JSON)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_a_form_sent_to_a_json_endpoint_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", data={"email": "a@example.com", "password": "SecurePass1"}
    )
    assert response.status_code == 422


async def test_a_nul_in_a_password_is_a_named_rule(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register",
        content=b'{"email": "a@example.com", "password": "Secure\\u0000Pass1"}',
        headers=JSON,
    )
    assert "NUL" in response.json()["detail"][0]["msg"]


async def test_hostile_bearer_tokens_are_401(client: httpx.AsyncClient) -> None:
    for token in ("a" * 10_000, "e30.e30.e30", ".."):
        response = await client.get("/auth/me", headers=bearer(token))
        assert response.status_code == 401
    latin1 = await client.get(
        "/auth/me", headers={"Authorization": "Bearer \u00e9".encode("latin-1")}
    )
    assert latin1.status_code == 401
