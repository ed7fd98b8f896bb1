"""API keys: business rules and their races, X-API-Key authentication, separation from JWT."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.security import sha256_hex
from tests.conftest import AppClient, ClientFactory
from tests.factories import bearer, signed_up

INVALID_KEY = {"detail": "Invalid or expired API key"}


async def generate(client: httpx.AsyncClient, token: str, name: str = "Key") -> httpx.Response:
    return await client.post("/api-keys/generate", json={"name": name}, headers=bearer(token))


async def keys_of_new_user(client: httpx.AsyncClient, count: int) -> tuple[str, list[dict]]:
    _, tokens = await signed_up(client)
    token = tokens["access_token"]
    keys = []
    for number in range(count):
        response = await generate(client, token, f"Key {number}")
        assert response.status_code == 201, response.text
        keys.append(response.json())
    return token, keys


async def revoke(client: httpx.AsyncClient, token: str, key_id: int) -> httpx.Response:
    return await client.post("/api-keys/revoke", json={"api_key_id": key_id}, headers=bearer(token))


async def call_with_key(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.get("/api/v1/api-key", headers={"X-API-Key": key})


# --- generate, list, count ------------------------------------------------------------------


async def test_generate_shows_the_full_key_once(client: httpx.AsyncClient) -> None:
    user, tokens = await signed_up(client)
    response = await generate(client, tokens["access_token"], "Production Key")
    assert response.status_code == 201
    key = response.json()
    assert set(key) == {
        "id",
        "user_id",
        "key",
        "name",
        "status",
        "expires_at",
        "last_used_at",
        "created_at",
        "days_until_expiry",
    }
    assert re.fullmatch(r"mk_live_[A-Za-z0-9_-]{32}", key["key"])
    assert (key["user_id"], key["name"], key["status"]) == (user["id"], "Production Key", "active")
    assert key["days_until_expiry"] == 30
    assert key["last_used_at"] is None
    listed = await client.get("/api-keys/list", headers=bearer(tokens["access_token"]))
    assert key["key"] not in listed.text


async def test_the_database_keeps_only_a_hash_and_the_last_four_characters(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, keys = await keys_of_new_user(client, 1)
    row = (await db.execute(text("SELECT * FROM api_keys"))).mappings().one()
    assert row["key_hash"] == sha256_hex(keys[0]["key"])
    assert row["key_last4"] == keys[0]["key"][-4:]
    assert keys[0]["key"] not in str(dict(row))


async def test_list_shows_previews_statuses_and_expiry(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    token, keys = await keys_of_new_user(client, 4)
    await revoke(client, token, keys[0]["id"])
    await db.execute(
        text("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = :id"),
        {"id": keys[1]["id"]},
    )
    await db.commit()

    listed = (await client.get("/api-keys/list", headers=bearer(token))).json()
    assert [k["id"] for k in listed] == [k["id"] for k in reversed(keys)]
    by_id = {k["id"]: k for k in listed}
    assert by_id[keys[0]["id"]]["status"] == "revoked"
    assert by_id[keys[1]["id"]]["status"] == "expired"
    assert by_id[keys[1]["id"]]["days_until_expiry"] == 0
    assert by_id[keys[2]["id"]]["status"] == "active"
    assert by_id[keys[2]["id"]]["key_preview"] == f"mk_live_****...{keys[2]['key'][-4:]}"
    assert set(listed[0]) == {
        "id",
        "key_preview",
        "name",
        "status",
        "expires_at",
        "last_used_at",
        "created_at",
        "days_until_expiry",
    }


async def test_count_reports_active_keys_and_the_limits(client: httpx.AsyncClient) -> None:
    token, _ = await keys_of_new_user(client, 3)
    count = (await client.get("/api-keys/count", headers=bearer(token))).json()
    assert count == {
        "active_count": 3,
        "max_active_keys": 10,
        "min_active_keys": 2,
        "can_generate": True,
        "can_revoke": True,
    }


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}])
async def test_key_names_are_validated(client: httpx.AsyncClient, body: dict) -> None:
    _, tokens = await signed_up(client)
    response = await client.post(
        "/api-keys/generate", json=body, headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 422


# --- business rules -------------------------------------------------------------------------


async def test_the_eleventh_active_key_is_refused(client: httpx.AsyncClient) -> None:
    token, _ = await keys_of_new_user(client, 10)
    response = await generate(client, token)
    assert response.status_code == 409
    assert "Maximum of 10 active API keys" in response.json()["detail"]


async def test_the_maximum_is_a_setting(client_factory: ClientFactory) -> None:
    client = await client_factory(MAX_ACTIVE_API_KEYS=3)
    token, _ = await keys_of_new_user(client, 3)
    assert (await generate(client, token)).status_code == 409


async def test_revoked_and_expired_keys_do_not_count_towards_the_maximum(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    token, keys = await keys_of_new_user(client, 10)
    await revoke(client, token, keys[0]["id"])
    await db.execute(
        text("UPDATE api_keys SET expires_at = now() WHERE id = :id"), {"id": keys[1]["id"]}
    )
    await db.commit()
    assert (await generate(client, token)).status_code == 201
    assert (await generate(client, token)).status_code == 201
    assert (await generate(client, token)).status_code == 409


async def test_concurrent_generation_never_exceeds_the_maximum(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    token, _ = await keys_of_new_user(client, 7)
    responses = await asyncio.gather(*[generate(client, token) for _ in range(8)])
    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 5
    assert await db.scalar(text("SELECT count(*) FROM api_keys WHERE status = 'active'")) == 10


async def test_a_revoke_that_would_leave_fewer_than_two_active_keys_is_refused(
    client: httpx.AsyncClient,
) -> None:
    token, keys = await keys_of_new_user(client, 3)
    assert (await revoke(client, token, keys[0]["id"])).json() == {
        "message": "API key revoked successfully",
        "api_key_id": keys[0]["id"],
    }
    refused = await revoke(client, token, keys[1]["id"])
    assert refused.status_code == 409
    assert "at least 2 active API keys must remain" in refused.json()["detail"]


async def test_two_concurrent_revokes_of_three_keys_leave_two(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    token, keys = await keys_of_new_user(client, 3)
    responses = await asyncio.gather(
        revoke(client, token, keys[0]["id"]), revoke(client, token, keys[1]["id"])
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert await db.scalar(text("SELECT count(*) FROM api_keys WHERE status = 'active'")) == 2


async def test_revoking_twice_or_an_expired_key(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    token, keys = await keys_of_new_user(client, 4)
    await revoke(client, token, keys[0]["id"])
    again = await revoke(client, token, keys[0]["id"])
    assert again.status_code == 409
    assert again.json() == {"detail": "API key is already revoked"}
    await db.execute(
        text("UPDATE api_keys SET expires_at = now() WHERE id = ANY(:ids)"),
        {"ids": [keys[1]["id"], keys[2]["id"]]},
    )
    await db.commit()
    # Expired keys are not active: revoking one leaves the active count unchanged.
    assert (await revoke(client, token, keys[1]["id"])).status_code == 200


async def test_users_see_and_revoke_only_their_own_keys(client: httpx.AsyncClient) -> None:
    _, owner_keys = await keys_of_new_user(client, 3)
    other_token, _ = await keys_of_new_user(client, 3)
    stolen = await revoke(client, other_token, owner_keys[0]["id"])
    assert stolen.status_code == 404
    assert stolen.json() == {"detail": "API key not found"}
    assert (await revoke(client, other_token, 999999)).status_code == 404
    listed = (await client.get("/api-keys/list", headers=bearer(other_token))).json()
    assert not {k["id"] for k in listed} & {k["id"] for k in owner_keys}


@pytest.mark.parametrize(
    "body", [{}, {"api_key_id": "one"}, {"api_key_id": 0}, {"api_key_id": 2**40}]
)
async def test_revoke_validates_its_body(client: httpx.AsyncClient, body: dict) -> None:
    _, tokens = await signed_up(client)
    response = await client.post(
        "/api-keys/revoke", json=body, headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 422


# --- X-API-Key authentication ---------------------------------------------------------------


async def test_a_valid_key_authenticates_and_marks_its_use(client: httpx.AsyncClient) -> None:
    token, keys = await keys_of_new_user(client, 1)
    response = await call_with_key(client, keys[0]["key"])
    assert response.status_code == 200
    assert response.json()["id"] == keys[0]["id"]
    listed = (await client.get("/api-keys/list", headers=bearer(token))).json()
    assert listed[0]["last_used_at"] is not None


async def test_last_used_at_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, keys = await keys_of_new_user(client, 1)
    await call_with_key(client, keys[0]["key"])
    first = await db.scalar(text("SELECT last_used_at FROM api_keys"))
    await call_with_key(client, keys[0]["key"])
    assert await db.scalar(text("SELECT last_used_at FROM api_keys")) == first
    await db.execute(text("UPDATE api_keys SET last_used_at = now() - interval '61 seconds'"))
    await db.commit()
    await call_with_key(client, keys[0]["key"])
    assert await db.scalar(text("SELECT last_used_at FROM api_keys")) > first - timedelta(seconds=1)


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "mk_live_",
        "mk_live_short",
        "sk_live_" + "a" * 32,
        "mk_live_" + "a" * 32,
        ("mk_live_" + "é" * 30).encode("latin-1"),
    ],
)
async def test_missing_malformed_and_unknown_keys_are_401(
    client: httpx.AsyncClient, presented: str
) -> None:
    headers = {"X-API-Key": presented} if presented else {}
    response = await client.get("/api/v1/api-key", headers=headers)
    assert response.status_code == 401
    assert response.json() == INVALID_KEY


async def test_revoked_and_expired_keys_stop_working_at_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    token, keys = await keys_of_new_user(client, 4)
    assert (await call_with_key(client, keys[0]["key"])).status_code == 200
    await revoke(client, token, keys[0]["id"])
    assert (await call_with_key(client, keys[0]["key"])).json() == INVALID_KEY

    await db.execute(
        text("UPDATE api_keys SET expires_at = now() - interval '1 millisecond' WHERE id = :id"),
        {"id": keys[1]["id"]},
    )
    await db.commit()
    assert (await call_with_key(client, keys[1]["key"])).json() == INVALID_KEY


async def test_keys_expire_after_the_configured_days(
    client_factory: ClientFactory, db: AsyncSession
) -> None:
    client = await client_factory(API_KEY_EXPIRY_DAYS=1)
    _, keys = await keys_of_new_user(client, 1)
    expires_at = datetime.fromisoformat(keys[0]["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=1))) < timedelta(minutes=1)
    assert keys[0]["days_until_expiry"] == 1


async def test_keys_of_a_disabled_user_stop_working(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, keys = await keys_of_new_user(client, 1)
    await db.execute(text("UPDATE users SET status = 'disabled'"))
    await db.commit()
    assert (await call_with_key(client, keys[0]["key"])).json() == INVALID_KEY


async def test_jwt_and_api_keys_are_not_interchangeable(client: httpx.AsyncClient) -> None:
    token, keys = await keys_of_new_user(client, 1)
    key = keys[0]["key"]
    assert (await client.get("/api/v1/api-key", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/v1/api-key", headers={"X-API-Key": token})).status_code == 401
    for path in ("/auth/me", "/api-keys/list", "/api-keys/count"):
        assert (await client.get(path, headers={"X-API-Key": key})).status_code == 401
        assert (await client.get(path, headers=bearer(key))).status_code == 401


async def test_api_requests_are_rate_limited_per_key(client_factory: ClientFactory) -> None:
    client = await client_factory(API_RATE_LIMIT="3/minute")
    _, keys = await keys_of_new_user(client, 2)
    statuses = [(await call_with_key(client, keys[0]["key"])).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await call_with_key(client, keys[0]["key"])
    assert "Retry-After" in limited.headers
    assert (await call_with_key(client, keys[1]["key"])).status_code == 200


async def test_refused_keys_are_rate_limited_per_client_ip(client_factory: ClientFactory) -> None:
    client = await client_factory(API_RATE_LIMIT="3/minute")
    guesses = [
        (await call_with_key(client, f"mk_live_{'a' * 31}{n}")).status_code for n in range(4)
    ]
    assert guesses == [401, 401, 401, 429]


async def test_swagger_offers_both_security_schemes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"}.items() <= next(
        s for s in schemes.values() if s["type"] == "apiKey"
    ).items()
    key_route = schema["paths"]["/api/v1/api-key"]["get"]
    assert any("APIKeyHeader" in requirement for requirement in key_route["security"])


async def test_keys_work_in_every_worker(client_factory: ClientFactory) -> None:
    worker_a: AppClient = await client_factory()
    worker_b: AppClient = await client_factory()
    token, keys = await keys_of_new_user(worker_a, 3)
    assert (await call_with_key(worker_b, keys[0]["key"])).status_code == 200
    await revoke(worker_a, token, keys[0]["id"])
    assert (await call_with_key(worker_b, keys[0]["key"])).status_code == 401
