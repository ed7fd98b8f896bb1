"""A stopped or frozen PostgreSQL: every endpoint that needs it answers 503 with Retry-After,
promptly; the service recovers by itself; no call-log row is lost; the log is not flooded."""

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import to_asyncpg_url
from app.models import ApiCallLog
from app.schemas.simulation import SPEC_EXAMPLE
from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import AppClient, ClientFactory
from tests.factories import PASSWORD, bearer, login
from tests.faults.services import ThrowawayPostgres

SIMULATION = {"json": SPEC_EXAMPLE | {"parameters": SPEC_EXAMPLE["parameters"] | {"seed": 1}}}


class Account:
    """A user with a JWT, a refresh token, API keys and one saved simulation."""

    def __init__(self, token: str, refresh_token: str, keys: list[dict], simulation_id: str):
        self.token = token
        self.refresh_token = refresh_token
        self.keys = keys
        self.simulation_id = simulation_id

    def bodies(self, email: str) -> dict[tuple[str, str], dict]:
        """A valid request for each route, keyed by (method, route path)."""
        credentials = {"json": {"email": email, "password": PASSWORD}}
        return {
            ("POST", "/auth/register"): {"json": {"email": "new-" + email, "password": PASSWORD}},
            ("POST", "/auth/login"): credentials,
            ("POST", "/auth/token"): {"data": {"username": email, "password": PASSWORD}},
            ("POST", "/auth/refresh"): {"json": {"refresh_token": self.refresh_token}},
            ("POST", "/api-keys/generate"): {"json": {"name": "During the outage"}},
            ("POST", "/api-keys/revoke"): {"json": {"api_key_id": self.keys[2]["id"]}},
            ("POST", "/api/v1/simulate"): SIMULATION,
            ("POST", "/auth/login/2fa"): {"json": {"challenge_token": "c" * 43, "code": "123456"}},
            ("POST", "/auth/password"): {
                "json": {"current_password": "Wrong1234", "new_password": "Another123"}
            },
            ("POST", "/auth/password/forgot"): {"json": {"email": email}},
            ("POST", "/auth/password/reset"): {
                "json": {"token": "t" * 43, "new_password": "Another123"}
            },
            ("POST", "/auth/2fa/enable"): {"json": {"code": "123456"}},
            ("POST", "/auth/2fa/disable"): {"json": {"password": PASSWORD, "code": "123456"}},
        }


async def new_account(client: AppClient) -> tuple[str, Account]:
    token, keys = await keys_of_new_user(client, 3)
    me = (await client.get("/auth/me", headers=bearer(token))).json()
    tokens = await login(client, me["email"])
    simulated = await client.post(
        "/api/v1/simulate", headers={"X-API-Key": keys[0]["key"]}, **SIMULATION
    )
    assert simulated.status_code == 200, simulated.text
    account = Account(
        tokens["access_token"], tokens["refresh_token"], keys, simulated.json()["simulation_id"]
    )
    return me["email"], account


NOT_DATABASE_BACKED = {"/"}


def every_route_request(
    client: AppClient, email: str, account: Account
) -> Iterator[tuple[str, str, dict]]:
    """(method, url, httpx keyword arguments) for every route of the app, credentials included."""
    bodies = account.bodies(email)
    headers = {**bearer(account.token), "X-API-Key": account.keys[0]["key"]}
    for path, operations in client.app.openapi()["paths"].items():
        if path in NOT_DATABASE_BACKED:
            continue
        url = path.replace("{simulation_id}", account.simulation_id)
        url = url.replace("{user_id}", "1").replace("{session_id}", str(uuid.uuid4()))
        for method in map(str.upper, operations):
            yield method, url, {"headers": headers, **bodies.get((method, path), {})}


async def timed(
    client: AppClient, method: str, url: str, arguments: dict
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.request(method, url, **arguments)
    return response, time.perf_counter() - started


async def call_log_rows(server: ThrowawayPostgres) -> int:
    engine = create_async_engine(to_asyncpg_url(server.url))
    async with engine.connect() as connection:
        rows = await connection.scalar(select(func.count()).select_from(ApiCallLog))
    await engine.dispose()
    return rows


def api_calls(requests: list[tuple[str, str, dict]]) -> int:
    return sum(url.startswith("/api/v1/") for _, url, _ in requests)


async def test_a_stopped_database_gives_503_at_once_everywhere_and_loses_no_call_log(
    fault_client_factory: ClientFactory, own_postgres: ThrowawayPostgres
) -> None:
    client = await fault_client_factory()
    email, account = await new_account(client)
    requests = list(every_route_request(client, email, account))
    known = {(m, u) for m, u, _ in requests}
    assert ("POST", "/auth/login") in known and ("POST", "/api/v1/simulate") in known

    own_postgres.stop()
    for method, url, arguments in requests:
        response, seconds = await timed(client, method, url, arguments)
        assert response.status_code == 503, (method, url, response.text)
        assert seconds < 2, (method, url, seconds)
        if "health" not in url:
            assert response.json() == {"detail": "Service temporarily unavailable"}
            assert int(response.headers["Retry-After"]) >= 1

    own_postgres.start()
    recovered = [(await timed(client, m, u, a))[0] for m, u, a in requests]
    assert [r.status_code for r in recovered if r.status_code >= 500] == []
    await client.flush_call_logs()
    simulate_calls = 1 + 2 * api_calls(requests)  # the setup's simulation, then twice each
    assert await call_log_rows(own_postgres) == simulate_calls


async def test_a_frozen_database_gives_503_within_the_timeouts(
    fault_client_factory: ClientFactory, own_postgres: ThrowawayPostgres
) -> None:
    client = await fault_client_factory(
        DB_CONNECT_TIMEOUT_SECONDS=1, DB_POOL_TIMEOUT_SECONDS=1, DB_STATEMENT_TIMEOUT_SECONDS=1
    )
    email, account = await new_account(client)
    requests = list(every_route_request(client, email, account))

    own_postgres.freeze()
    # Statement or connect timeout (1 s), at most 2 s for the driver to drop the connection, and
    # the pool timeout for requests queued behind those: seconds, not the length of the stall.
    answered = await asyncio.wait_for(
        asyncio.gather(*[timed(client, m, u, a) for m, u, a in requests]), timeout=20
    )
    for (method, url, _), (response, seconds) in zip(requests, answered, strict=True):
        assert response.status_code == 503, (method, url, response.text)
        assert seconds < 10, (method, url, seconds)

    own_postgres.thaw()
    # The thawed server first works through what queued up while it was frozen: allow it a moment.
    attempts, deadline = 0, time.monotonic() + 15
    while True:
        attempts += 1
        recovered, _ = await timed(
            client,
            "POST",
            "/api/v1/simulate",
            {"headers": {"X-API-Key": account.keys[0]["key"]}, **SIMULATION},
        )
        if recovered.status_code != 503 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert recovered.status_code == 200
    health, _ = await timed(client, "GET", "/health", {})
    assert health.status_code == 200
    await client.flush_call_logs()
    assert await call_log_rows(own_postgres) == 1 + api_calls(requests) + attempts


async def test_an_outage_logs_one_traceback_per_kind_of_failure(
    fault_client_factory: ClientFactory, own_postgres: ThrowawayPostgres, capsys
) -> None:
    client = await fault_client_factory()
    email, account = await new_account(client)
    capsys.readouterr()
    own_postgres.stop()
    for _ in range(10):
        for method, url, arguments in every_route_request(client, email, account):
            await client.request(method, url, **arguments)
    logged = capsys.readouterr().err
    own_postgres.start()
    assert logged.count("Traceback (most recent call last)") <= 3, logged[:5000]
