"""Usage tracking (one exact row per /api/v1 call made with a valid key) and the analytics."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.config import get_settings
from app.main import create_app
from app.services.accounts import make_admin
from app.services.usage import ApiCall, CallLogWriter
from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import AppClient, ClientFactory
from tests.factories import bearer, signed_up


async def logged_calls(db: AsyncSession) -> list[tuple]:
    result = await db.execute(
        text(
            "SELECT user_id, api_key_id, endpoint, method, status_code, execution_time_ms "
            "FROM api_call_logs ORDER BY id"
        )
    )
    return [tuple(row) for row in result]


async def test_every_call_with_a_valid_key_is_logged_exactly_once(
    client_factory: ClientFactory, db: AsyncSession
) -> None:
    client = await client_factory(API_RATE_LIMIT="5/minute")
    _, keys = await keys_of_new_user(client, 2)
    key_id, key = keys[0]["id"], keys[0]["key"]
    headers = {"X-API-Key": key}

    expected = []
    for _ in range(3):
        assert (await client.get("/api/v1/api-key", headers=headers)).status_code == 200
        expected.append(("/api/v1/api-key", "GET", 200))
    not_found = await client.get("/api/v1/no-such-endpoint", headers=headers)
    expected.append(("(no such endpoint)", "GET", not_found.status_code))
    odd_path = await client.get("/api/v1/%00", headers=headers)
    expected.append(("(no such endpoint)", "GET", odd_path.status_code))
    long_method = await client.request("UNSUBSCRIBE", "/api/v1/api-key", headers=headers)
    expected.append(("/api/v1/api-key", "UNSUBSCRIB", long_method.status_code))
    wrong_method = await client.delete("/api/v1/api-key", headers=headers)
    expected.append(("/api/v1/api-key", "DELETE", wrong_method.status_code))
    for _ in range(3):  # the 4th and 5th use the limit up, then 429
        response = await client.get("/api/v1/api-key", headers=headers)
        expected.append(("/api/v1/api-key", "GET", response.status_code))
    assert [status for *_, status in expected][-3:] == [200, 200, 429]

    # Not logged: no key, a key that is not valid, a path outside /api/v1.
    await client.get("/api/v1/api-key")
    await client.get("/api/v1/api-key", headers={"X-API-Key": "mk_live_" + "x" * 32})
    await client.get("/health", headers=headers)

    await client.flush_call_logs()
    rows = await logged_calls(db)
    assert [(endpoint, method, status) for _, _, endpoint, method, status, _ in rows] == expected
    assert {(user_id, api_key_id) for user_id, api_key_id, *_ in rows} == {
        (keys[0]["user_id"], key_id)
    }
    assert all(ms >= 0 for *_, ms in rows)


async def test_a_row_the_database_refuses_does_not_take_its_batch_down(
    client: AppClient, db: AsyncSession
) -> None:
    _, keys = await keys_of_new_user(client, 1)
    writer = client.app.state.call_log_writer
    now = datetime.now(UTC)
    for number in range(9):
        endpoint = "/bad\x00endpoint" if number == 4 else f"/api/v1/call-{number}"
        writer.record(
            ApiCall(
                endpoint=endpoint,
                method="GET",
                status_code=200,
                execution_time_ms=1.0,
                created_at=now,
                api_key_id=keys[0]["id"],
                user_id=keys[0]["user_id"],
            )
        )
    await writer.flush()
    endpoints = [row[2] for row in await logged_calls(db)]
    assert sorted(endpoints) == [f"/api/v1/call-{n}" for n in range(9) if n != 4]
    assert writer.pending == 0


async def test_rows_wait_while_the_database_is_unreachable(
    client: AppClient, db: AsyncSession
) -> None:
    _, keys = await keys_of_new_user(client, 1)
    unreachable = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/x")
    writer = CallLogWriter(async_sessionmaker(unreachable))
    call = ApiCall(
        endpoint="/api/v1/simulate",
        method="POST",
        status_code=200,
        execution_time_ms=1.0,
        created_at=datetime.now(UTC),
        api_key_id=keys[0]["id"],
        user_id=keys[0]["user_id"],
    )
    for _ in range(3):
        writer.record(call)
    await writer.flush()
    assert writer.pending == 3
    assert await logged_calls(db) == []
    await unreachable.dispose()

    writer._sessionmaker = client.app.state.database.sessionmaker  # the database is back
    await writer.flush()
    assert writer.pending == 0
    assert len(await logged_calls(db)) == 3


async def test_concurrent_calls_are_all_logged(client: AppClient, db: AsyncSession) -> None:
    _, keys = await keys_of_new_user(client, 1)
    headers = {"X-API-Key": keys[0]["key"]}
    await asyncio.gather(*[client.get("/api/v1/api-key", headers=headers) for _ in range(40)])
    await client.flush_call_logs()
    assert len(await logged_calls(db)) == 40


async def test_pending_rows_are_written_at_shutdown(
    settings_factory, clean_engine, db: AsyncSession
) -> None:
    app = create_app(settings_factory())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        _, keys = await keys_of_new_user(client, 1)
        for _ in range(5):
            await client.get("/api/v1/api-key", headers={"X-API-Key": keys[0]["key"]})
    assert len(await logged_calls(db)) == 5


# --- analytics ------------------------------------------------------------------------------


async def _seed_calls(client: AppClient, key: dict, calls: list[tuple[str, int, float, datetime]]):
    writer = client.app.state.call_log_writer
    for endpoint, status_code, ms, created_at in calls:
        writer.record(
            ApiCall(
                endpoint=endpoint,
                method="POST",
                status_code=status_code,
                execution_time_ms=ms,
                created_at=created_at,
                api_key_id=key["id"],
                user_id=key["user_id"],
            )
        )
    await client.flush_call_logs()


async def test_users_see_their_own_usage_per_endpoint(client: AppClient) -> None:
    token, keys = await keys_of_new_user(client, 1)
    _, other_keys = await keys_of_new_user(client, 1)
    now = datetime.now(UTC)
    await _seed_calls(
        client,
        keys[0],
        [
            ("/api/v1/simulate", 200, 10.0, now),
            ("/api/v1/simulate", 200, 20.0, now),
            ("/api/v1/simulate", 422, 30.0, now),
            ("/api/v1/simulate", 500, 40.0, now),
            ("/api/v1/simulations", 200, 2.0, now),
            ("/api/v1/simulate", 200, 99.0, now - timedelta(days=31)),  # outside the window
        ],
    )
    await _seed_calls(client, other_keys[0], [("/api/v1/simulate", 200, 1.0, now)])

    report = (await client.get("/api-keys/usage", headers=bearer(token))).json()
    assert report["calls_per_user"] == [
        {
            "user_id": keys[0]["user_id"],
            "email": report["calls_per_user"][0]["email"],
            "total_calls": 5,
        }
    ]
    assert report["endpoints"] == [
        {
            "endpoint": "/api/v1/simulate",
            "total_calls": 4,
            "avg_execution_time_ms": 25.0,
            "errors": 2,
            "error_rate_pct": 50.0,
        },
        {
            "endpoint": "/api/v1/simulations",
            "total_calls": 1,
            "avg_execution_time_ms": 2.0,
            "errors": 0,
            "error_rate_pct": 0.0,
        },
    ]


async def test_the_window_is_set_by_since_and_until(client: AppClient) -> None:
    token, keys = await keys_of_new_user(client, 1)
    now = datetime.now(UTC)
    await _seed_calls(
        client,
        keys[0],
        [("/api/v1/simulate", 200, 1.0, now - timedelta(days=d)) for d in (1, 40, 100)],
    )
    everything = await client.get(
        "/api-keys/usage",
        params={"since": (now - timedelta(days=365)).isoformat()},
        headers=bearer(token),
    )
    assert everything.json()["calls_per_user"][0]["total_calls"] == 3
    middle = await client.get(
        "/api-keys/usage",
        params={
            "since": (now - timedelta(days=50)).isoformat(),
            "until": (now - timedelta(days=30)).isoformat(),
        },
        headers=bearer(token),
    )
    assert middle.json()["calls_per_user"][0]["total_calls"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "yesterday"},
        {"until": "2026-13-45"},
    ],
)
async def test_bad_windows_are_422(client: AppClient, params: dict) -> None:
    _, tokens = await signed_up(client)
    response = await client.get(
        "/api-keys/usage", params=params, headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 422


async def test_admin_usage_needs_the_admin_role(client: AppClient, db: AsyncSession) -> None:
    user, tokens = await signed_up(client)
    forbidden = await client.get("/admin/usage", headers=bearer(tokens["access_token"]))
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "Admin role required"}
    assert (await client.get("/admin/usage")).status_code == 401

    await make_admin(db, settings=get_settings(), email=user["email"], password=None)
    allowed = await client.get("/admin/usage", headers=bearer(tokens["access_token"]))
    assert allowed.status_code == 200


async def test_admins_see_every_users_calls(client: AppClient, db: AsyncSession) -> None:
    _, first_keys = await keys_of_new_user(client, 1)
    _, second_keys = await keys_of_new_user(client, 1)
    now = datetime.now(UTC)
    await _seed_calls(client, first_keys[0], [("/api/v1/simulate", 200, 5.0, now)] * 3)
    await _seed_calls(client, second_keys[0], [("/api/v1/simulate", 503, 7.0, now)])
    admin, admin_tokens = await signed_up(client)
    await make_admin(db, settings=get_settings(), email=admin["email"], password=None)

    report = (await client.get("/admin/usage", headers=bearer(admin_tokens["access_token"]))).json()
    assert [(u["user_id"], u["total_calls"]) for u in report["calls_per_user"]] == [
        (first_keys[0]["user_id"], 3),
        (second_keys[0]["user_id"], 1),
    ]
    assert report["endpoints"][0]["total_calls"] == 4
    assert report["endpoints"][0]["error_rate_pct"] == 25.0
