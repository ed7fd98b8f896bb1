"""Saved simulations: answered again byte for byte, stored compactly, deleted, capped per
account and purged after the retention period."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models import Simulation
from app.services import saved_simulations
from app.services.compression import pack
from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import example, simulate
from tests.conftest import AppClient, ClientFactory
from tests.factories import bearer


async def new_account(client: AppClient) -> tuple[dict, str]:
    token, keys = await keys_of_new_user(client, 2)
    return {"X-API-Key": keys[0]["key"]}, token


async def saved_ids(client: AppClient, headers: dict) -> list[str]:
    page = (await client.get("/api/v1/simulations", headers=headers, params={"limit": 100})).json()
    return [item["simulation_id"] for item in page["items"]]


async def test_get_answers_exactly_the_bytes_post_answered(client: AppClient) -> None:
    headers, token = await new_account(client)
    posted = await simulate(client, headers, example(inflation_rate=0.03, sample_paths=7))
    assert posted.status_code == 200, posted.text
    simulation_id = posted.json()["simulation_id"]
    assert posted.json()["results"]["real"] is not None
    by_key = await client.get(f"/api/v1/simulations/{simulation_id}", headers=headers)
    by_jwt = await client.get(f"/simulations/{simulation_id}", headers=bearer(token))
    assert by_key.content == posted.content
    assert by_jwt.content == posted.content
    assert by_key.headers["content-type"] == "application/json"


async def test_a_saved_run_is_stored_compressed_without_json_copies_of_its_paths(
    client: AppClient, db: AsyncSession
) -> None:
    headers, _ = await new_account(client)
    posted = await simulate(client, headers, example(sample_paths=1000, time_horizon_years=20))
    assert posted.status_code == 200, posted.text
    row = (
        await db.execute(
            text(
                "SELECT stored_bytes, octet_length(response_body) AS body, "
                "pg_column_size(inputs) + pg_column_size(summary) "
                "+ pg_column_size(final_value_histogram) AS json_columns "
                "FROM simulations WHERE id = :id"
            ),
            {"id": posted.json()["simulation_id"]},
        )
    ).one()
    assert row.stored_bytes == row.body
    # 241,000 sample values: 2.7 MB of JSON, under half of it once stored.
    assert len(posted.content) > 2_500_000
    assert row.body < 0.5 * len(posted.content)
    assert row.json_columns < 20_000


async def test_delete_removes_a_simulation_for_either_credential(client: AppClient) -> None:
    headers, token = await new_account(client)
    first, second = [
        (await simulate(client, headers, example(num_simulations=100))).json()["simulation_id"]
        for _ in range(2)
    ]
    assert (await client.delete(f"/api/v1/simulations/{first}", headers=headers)).status_code == 204
    assert (await client.get(f"/api/v1/simulations/{first}", headers=headers)).status_code == 404
    again = await client.delete(f"/api/v1/simulations/{first}", headers=headers)
    assert again.status_code == 404
    assert again.json() == {"detail": "Simulation not found"}
    assert (await client.delete(f"/simulations/{second}", headers=bearer(token))).status_code == 204
    assert await saved_ids(client, headers) == []


async def test_nobody_deletes_another_accounts_simulation(client: AppClient) -> None:
    owner, _ = await new_account(client)
    other, other_token = await new_account(client)
    simulation_id = (await simulate(client, owner, example(num_simulations=100))).json()[
        "simulation_id"
    ]
    path = f"/api/v1/simulations/{simulation_id}"
    assert (await client.delete(path, headers=other)).status_code == 404
    dashboard = f"/simulations/{simulation_id}"
    assert (await client.delete(dashboard, headers=bearer(other_token))).status_code == 404
    assert (await client.get(path, headers=owner)).status_code == 200


async def test_saving_beyond_the_count_quota_prunes_the_oldest(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(SAVED_SIMULATIONS_PER_ACCOUNT=3)
    headers, _ = await new_account(client)
    bystander, _ = await new_account(client)
    kept_elsewhere = (await simulate(client, bystander, example(num_simulations=100))).json()
    created = [
        (await simulate(client, headers, example(num_simulations=100, seed=seed))).json()
        for seed in range(5)
    ]
    assert await saved_ids(client, headers) == [c["simulation_id"] for c in created[:1:-1]]
    assert await saved_ids(client, bystander) == [kept_elsewhere["simulation_id"]]


async def test_saving_beyond_the_bytes_quota_prunes_the_oldest_but_keeps_the_newest(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(SAVED_SIMULATION_BYTES_PER_ACCOUNT=1)
    headers, _ = await new_account(client)
    for _ in range(3):
        newest = (await simulate(client, headers, example(num_simulations=100))).json()
    assert await saved_ids(client, headers) == [newest["simulation_id"]]


async def test_concurrent_saves_of_one_account_respect_its_quota(
    client: AppClient, clean_engine: AsyncEngine, settings_factory
) -> None:
    headers, _ = await new_account(client)
    await simulate(client, headers, example(num_simulations=100))
    async with AsyncSession(clean_engine) as db:
        owner = await db.scalar(text("SELECT user_id FROM simulations LIMIT 1"))
    settings = settings_factory(SAVED_SIMULATIONS_PER_ACCOUNT=2)
    blob = pack(b"{}")

    async def save_one() -> None:
        async with AsyncSession(clean_engine, expire_on_commit=False) as db:
            row = Simulation(
                id=saved_simulations.new_simulation_id(),
                user_id=owner,
                inputs={},
                summary={},
                response_body=blob,
                stored_bytes=len(blob),
                execution_time_seconds=0.0,
            )
            await saved_simulations.save(db, row, settings=settings)

    await asyncio.gather(*(save_one() for _ in range(8)))
    async with AsyncSession(clean_engine) as db:
        count = await db.scalar(
            text("SELECT count(*) FROM simulations WHERE user_id = :u"), {"u": owner}
        )
    assert count == 2


async def test_the_purge_removes_simulations_past_the_retention_period(
    client: AppClient, db: AsyncSession
) -> None:
    headers, _ = await new_account(client)
    old, recent = [
        (await simulate(client, headers, example(num_simulations=100))).json()["simulation_id"]
        for _ in range(2)
    ]
    await db.execute(
        text("UPDATE simulations SET created_at = now() - interval '91 days' WHERE id = :id"),
        {"id": old},
    )
    await db.commit()
    assert await saved_simulations.purge_expired(db, retention_days=0) == 0
    assert await saved_simulations.purge_expired(db, retention_days=90) == 1
    assert await saved_ids(client, headers) == [recent]
    later = datetime.now(UTC) + timedelta(days=91)
    assert await saved_simulations.purge_expired(db, retention_days=90, now=later) == 1
    assert await saved_ids(client, headers) == []
