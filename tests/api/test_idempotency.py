"""Idempotency-Key on POST /api/v1/simulate and POST /api-keys/generate."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.schemas.simulation import SimulationRequest
from app.services import idempotency
from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import example
from tests.conftest import AppClient, ClientFactory
from tests.factories import bearer

BODY = example(num_simulations=500, seed=5)


async def account(client: AppClient) -> tuple[dict, str]:
    token, keys = await keys_of_new_user(client, 2)
    return {"X-API-Key": keys[0]["key"]}, token


async def post(client: AppClient, headers: dict, key: str, body: dict = BODY, path: str = ""):
    return await client.post(
        path or "/api/v1/simulate", json=body, headers={**headers, "Idempotency-Key": key}
    )


async def count(db: AsyncSession, table: str) -> int:
    return await db.scalar(text(f"SELECT count(*) FROM {table}"))


async def test_a_retry_gets_the_stored_response_and_saves_nothing_new(
    client: AppClient, db: AsyncSession
) -> None:
    headers, _ = await account(client)
    first = await post(client, headers, "retry-1")
    again = await post(client, headers, "retry-1")
    assert first.status_code == again.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await count(db, "simulations") == 1
    # Each call is still logged.
    await client.flush_call_logs()
    logged = await db.scalar(
        text("SELECT count(*) FROM api_call_logs WHERE endpoint = '/api/v1/simulate'")
    )
    assert logged == 2


async def test_the_same_key_with_another_body_is_a_422(client: AppClient, db: AsyncSession) -> None:
    headers, _ = await account(client)
    assert (await post(client, headers, "k")).status_code == 200
    other = await post(client, headers, "k", example(num_simulations=500, seed=6))
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await count(db, "simulations") == 1


async def test_a_key_still_running_in_another_worker_is_a_409(
    client: AppClient, db: AsyncSession, settings_factory
) -> None:
    headers, _ = await account(client)
    user_id = await db.scalar(text("SELECT id FROM users ORDER BY id DESC LIMIT 1"))
    # The first request holds the key, as a worker running it would.
    request = SimulationRequest.model_validate(BODY).model_dump_json()
    held = await idempotency.claim(
        db,
        user_id=user_id,
        key="busy",
        operation="simulate",
        request=request,
        settings=settings_factory(),
    )
    assert isinstance(held, idempotency.Claim)
    busy = await post(client, headers, "busy")
    assert busy.status_code == 409
    assert int(busy.headers["retry-after"]) >= 1
    assert await count(db, "simulations") == 0


async def test_concurrent_retries_in_two_workers_run_once(
    client_factory: ClientFactory, db: AsyncSession
) -> None:
    one, two = await client_factory(), await client_factory()
    headers, _ = await account(one)
    answers = await asyncio.gather(
        *(post(worker, headers, "together") for worker in (one, two, one, two))
    )
    assert {answer.status_code for answer in answers} <= {200, 409}
    succeeded = {answer.content for answer in answers if answer.status_code == 200}
    assert len(succeeded) == 1
    assert await count(db, "simulations") == 1
    replayed = await post(two, headers, "together")
    assert replayed.content in succeeded


async def test_a_failed_request_gives_its_key_back(client: AppClient, db: AsyncSession) -> None:
    headers, _ = await account(client)
    bloomberg = example(num_simulations=500, data_source="bloomberg")
    assert (await post(client, headers, "fails", bloomberg)).status_code == 503
    assert (await post(client, headers, "fails", bloomberg)).status_code == 503
    assert await count(db, "idempotency_keys") == 0


async def test_keys_are_per_account_and_shared_by_its_api_key_and_jwt(
    client: AppClient, db: AsyncSession
) -> None:
    headers, token = await account(client)
    other, _ = await account(client)
    mine = await post(client, headers, "shared")
    by_jwt = await post(client, bearer(token), "shared", path="/simulate")
    assert by_jwt.headers["idempotent-replayed"] == "true" and by_jwt.content == mine.content
    theirs = await post(client, other, "shared")
    assert theirs.status_code == 200 and "idempotent-replayed" not in theirs.headers
    assert await count(db, "simulations") == 2


async def test_after_24_hours_or_once_its_simulation_is_deleted_a_key_runs_anew(
    client: AppClient, db: AsyncSession
) -> None:
    headers, _ = await account(client)
    first = (await post(client, headers, "old")).json()["simulation_id"]
    await db.execute(text("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'"))
    await db.commit()
    second = (await post(client, headers, "old")).json()["simulation_id"]
    assert second != first
    await client.delete(f"/api/v1/simulations/{second}", headers=headers)
    third = await post(client, headers, "old")
    assert "idempotent-replayed" not in third.headers
    assert third.json()["simulation_id"] not in (first, second)


async def test_expired_keys_are_purged(client: AppClient, db: AsyncSession) -> None:
    headers, _ = await account(client)
    await post(client, headers, "a")
    assert await idempotency.purge_expired(db) == 0
    later = datetime.now(UTC) + timedelta(hours=25)
    assert await idempotency.purge_expired(db, now=later) == 1
    assert await count(db, "idempotency_keys") == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
async def test_a_key_is_1_to_255_printable_ascii_characters(client: AppClient, key: str) -> None:
    headers, _ = await account(client)
    refused = await post(client, headers, key)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert (await post(client, headers, "~" * 255)).status_code == 200


async def test_a_retried_key_generation_creates_one_key(
    client: AppClient, db: AsyncSession
) -> None:
    token, _ = await keys_of_new_user(client, 2)
    headers = {**bearer(token), "Idempotency-Key": "new-key-1"}
    first = await client.post("/api-keys/generate", json={"name": "CI"}, headers=headers)
    again = await client.post("/api-keys/generate", json={"name": "CI"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and first.json()["key"].startswith("mk_live_")
    assert await count(db, "api_keys") == 3
    stored = await db.scalar(text("SELECT response_body FROM idempotency_keys"))
    assert first.json()["key"] not in stored  # kept encrypted
    other = await client.post("/api-keys/generate", json={"name": "other"}, headers=headers)
    assert other.status_code == 422
