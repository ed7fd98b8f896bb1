"""Failed sign-ins: a lock per (account, client address), a slower throttle per account, and the
same answers whether or not an account exists."""

import asyncio

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import User
from tests.conftest import AppClient, ClientFactory
from tests.factories import PASSWORD, bearer, fail_login, login, register, signed_up

ATTACKER_IP = "203.0.113.7"


def _answer(response: httpx.Response) -> tuple:
    return response.status_code, response.json(), response.headers.get("Retry-After")


async def test_five_failures_lock_that_address_out_even_with_the_right_password(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client)
    statuses = [(await fail_login(client, user["email"])).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    locked = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert locked.status_code == 423
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "locked" in locked.json()["detail"]


async def test_the_owner_still_gets_in_from_another_address(client: AppClient) -> None:
    user = await register(client)
    attacker = client.from_address(ATTACKER_IP)
    statuses = [(await fail_login(attacker, user["email"])).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    assert (await fail_login(attacker, user["email"])).status_code == 423
    assert (await login(client, user["email"]))["access_token"]


async def test_unknown_and_known_emails_are_answered_alike(client: AppClient) -> None:
    known = (await register(client))["email"]
    answers = {}
    for email in (known, "nobody@example.com"):
        answers[email] = [_answer(await fail_login(client, email)) for _ in range(6)]
    assert answers[known] == answers["nobody@example.com"]
    assert [status for status, _, _ in answers[known]] == [401] * 4 + [423] * 2
    assert answers[known][-1][2] == str(15 * 60)


async def test_a_successful_login_resets_the_failure_count(client: httpx.AsyncClient) -> None:
    user = await register(client)
    for _ in range(4):
        await fail_login(client, user["email"])
    await login(client, user["email"])
    statuses = [(await fail_login(client, user["email"])).status_code for _ in range(4)]
    assert statuses == [401] * 4


async def test_old_failures_are_forgotten_after_lockout_minutes(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(LOCKOUT_THRESHOLD=2, LOCKOUT_MINUTES=0.02)  # 1.2 s
    user = await register(client)
    await fail_login(client, user["email"])
    await asyncio.sleep(1.3)
    assert (await fail_login(client, user["email"])).status_code == 401


async def test_the_lock_ends_after_lockout_minutes(client_factory: ClientFactory) -> None:
    client = await client_factory(LOCKOUT_THRESHOLD=2, LOCKOUT_MINUTES=0.02)  # 1.2 s
    user = await register(client)
    await fail_login(client, user["email"])
    assert (await fail_login(client, user["email"])).status_code == 423
    await asyncio.sleep(1.3)
    assert (await login(client, user["email"]))["access_token"]


async def test_concurrent_failures_are_all_counted(client: httpx.AsyncClient) -> None:
    user = await register(client)
    await asyncio.gather(*[fail_login(client, user["email"]) for _ in range(5)])
    locked = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert locked.status_code == 423


async def test_the_right_password_behind_a_burst_of_failures_is_locked_out(
    client_factory: ClientFactory, db: AsyncSession
) -> None:
    client = await client_factory(BCRYPT_ROUNDS=8)
    user = await register(client)
    burst = [fail_login(client, user["email"]) for _ in range(19)]
    burst.append(client.post("/auth/login", json={"email": user["email"], "password": PASSWORD}))
    responses = await asyncio.gather(*burst)
    assert responses[-1].status_code == 423
    assert sorted(r.status_code for r in responses[:-1]) == [401] * 4 + [423] * 15
    updated = await db.scalar(select(User.updated_at).where(User.id == user["id"]))
    assert updated.isoformat().replace("+00:00", "Z") == user["updated_at"]


async def test_lockout_holds_across_workers(client_factory: ClientFactory) -> None:
    worker_a = await client_factory()
    worker_b = await client_factory()
    user = await register(worker_a)
    for worker in (worker_a, worker_b, worker_a, worker_b, worker_a):
        await fail_login(worker, user["email"])
    locked = await worker_b.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert locked.status_code == 423


async def test_an_account_is_throttled_across_addresses_except_from_its_known_network(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(ACCOUNT_LOGIN_RATE_LIMIT="6/hour")
    owner = (await register(client))["email"]
    await login(client, owner)  # attempt 1 of 6; 127.0.0.0/24 is now the owner's known network

    async def fail_from_addresses(email: str, count: int) -> list[int]:
        attempts = [fail_login(client.from_address(f"198.51.{n}.9"), email) for n in range(count)]
        return [response.status_code for response in await asyncio.gather(*attempts)]

    assert await fail_from_addresses(owner, 5) == [401] * 5
    assert await fail_from_addresses("nobody@example.com", 6) == [401] * 6
    newcomer = client.from_address("192.0.2.1")
    refused = [
        await newcomer.post("/auth/login", json={"email": email, "password": PASSWORD})
        for email in (owner, "nobody@example.com")
    ]
    assert [response.status_code for response in refused] == [429, 429]
    assert refused[0].json() == refused[1].json()
    assert 0 < int(refused[0].headers["Retry-After"]) <= 3600
    assert (await login(client, owner))["access_token"]


async def test_disabling_then_enabling_an_account_does_not_revive_its_sessions(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user, tokens = await signed_up(client)
    for status in ("disabled", "active"):
        await db.execute(
            text("UPDATE users SET status = :status WHERE id = :id"),
            {"status": status, "id": user["id"]},
        )
        await db.commit()
    me = await client.get("/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    refreshed = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    assert (await login(client, user["email"]))["access_token"]
