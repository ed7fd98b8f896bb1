"""Accounts and authentication, against the real database."""

import asyncio
import base64
import json
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from jose import jwt
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import User
from app.security import encode_token, password_hasher
from tests.conftest import TEST_JWT_SECRET, ClientFactory
from tests.factories import (
    PASSWORD,
    bearer,
    fail_login,
    login,
    register,
    signed_up,
    unique_email,
)

INVALID = {"detail": "Could not validate credentials"}


# --- registration ---------------------------------------------------------------------------


async def test_register_returns_the_profile_and_never_the_password(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/auth/register",
        json={
            "email": "user@example.com",
            "password": "SecurePass123",
            "full_name": "John Doe",
            "company": "Acme Corp",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "email",
        "full_name",
        "company",
        "status",
        "role",
        "created_at",
        "updated_at",
    }
    assert body["email"] == "user@example.com"
    assert (body["full_name"], body["company"], body["status"], body["role"]) == (
        "John Doe",
        "Acme Corp",
        "active",
        "user",
    )
    assert "SecurePass123" not in response.text
    assert "$2b$" not in response.text


async def test_register_normalizes_email(client: httpx.AsyncClient) -> None:
    user = await register(client, "  John.Doe@Example.COM ")
    assert user["email"] == "john.doe@example.com"
    tokens = await login(client, "JOHN.DOE@example.com")
    assert tokens["access_token"]


async def test_duplicate_email_in_any_letter_case_is_409(client: httpx.AsyncClient) -> None:
    await register(client, "taken@example.com")
    response = await client.post(
        "/auth/register", json={"email": "Taken@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "An account with this email already exists"}


async def test_concurrent_registrations_of_one_email_create_one_account(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    attempts = [
        client.post("/auth/register", json={"email": f"{case}@example.com", "password": PASSWORD})
        for case in ("race", "RACE", "Race", "rAce", "raCe", "racE")
    ]
    statuses = sorted(response.status_code for response in await asyncio.gather(*attempts))
    assert statuses == [201, 409, 409, 409, 409, 409]
    count = await db.scalar(text("SELECT count(*) FROM users WHERE email = 'race@example.com'"))
    assert count == 1


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Short1a", "at least 8 characters"),
        ("lowercase123", "upper-case letter"),
        ("UPPERCASE123", "lower-case letter"),
        ("NoDigitsHere", "digit"),
        ("Aa1" + "é" * 35, "at most 72 bytes"),
    ],
)
async def test_each_broken_password_rule_is_named(
    client: httpx.AsyncClient, password: str, rule: str
) -> None:
    response = await client.post(
        "/auth/register", json={"email": unique_email(), "password": password}
    )
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert errors[0]["loc"] == ["body", "password"]
    assert rule in errors[0]["msg"]
    assert password not in response.text  # the offending password is not echoed back


async def test_all_broken_rules_are_named_at_once(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/register", json={"email": unique_email(), "password": "a"})
    message = response.json()["detail"][0]["msg"]
    for rule in ("at least 8 characters", "upper-case letter", "digit"):
        assert rule in message


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"password": PASSWORD},
        {"email": "a@example.com", "password": PASSWORD, "role": "admin"},
        {"email": ["a@example.com"], "password": PASSWORD},
        {"email": "a@example.com", "password": 12345678},
    ],
)
async def test_malformed_registrations_are_422(client: httpx.AsyncClient, body: dict) -> None:
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_non_json_body_is_422_not_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


# --- login and tokens -----------------------------------------------------------------------


async def test_login_returns_bearer_tokens_with_the_configured_lifetimes(
    client: httpx.AsyncClient,
) -> None:
    user, tokens = await signed_up(client)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 24 * 3600
    assert tokens["refresh_expires_in"] == 7 * 24 * 3600
    claims = jwt.get_unverified_claims(tokens["access_token"])
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "HS256"
    assert claims["sub"] == str(user["id"])
    assert claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 24 * 3600
    uuid.UUID(claims["jti"])
    assert jwt.get_unverified_claims(tokens["refresh_token"])["type"] == "refresh"


async def test_oauth2_password_form_logs_in_for_swagger(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/auth/token", data={"username": user["email"].upper(), "password": PASSWORD}
    )
    assert response.status_code == 200
    me = await client.get("/auth/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["email"] == user["email"]


async def test_openapi_wires_the_token_url_for_the_authorize_button(
    client: httpx.AsyncClient,
) -> None:
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    password_flows = [s["flows"]["password"] for s in schemes.values() if s["type"] == "oauth2"]
    assert password_flows == [{"tokenUrl": "/auth/token", "scopes": {}}]


async def test_me_returns_the_profile(client: httpx.AsyncClient) -> None:
    user, tokens = await signed_up(client)
    response = await client.get("/auth/me", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.json() == user


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client)
    wrong = await client.post("/auth/login", json={"email": user["email"], "password": "Nope1234"})
    unknown = await client.post(
        "/auth/login", json={"email": "ghost@example.com", "password": "Nope1234"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Incorrect email or password"}
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"] == "Bearer"


async def test_unknown_email_costs_a_password_verification_too(
    client_factory: ClientFactory,
) -> None:
    """Counted in CPU seconds of this process, where the app runs (the hash included, in its
    worker thread): what a login costs, which a loaded machine does not stretch at random as
    it does wall-clock times."""
    client = await client_factory(BCRYPT_ROUNDS=10)
    user = await register(client)

    async def median_cpu_seconds(email: str) -> float:
        costs = []
        for _ in range(5):
            started = time.process_time()
            await client.post("/auth/login", json={"email": email, "password": "Wrong1234"})
            costs.append(time.process_time() - started)
        return sorted(costs)[2]

    known = await median_cpu_seconds(user["email"])
    unknown = await median_cpu_seconds("nobody@example.com")
    assert unknown > 0.5 * known


async def test_passwords_over_72_bytes_fail_login_cleanly(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/auth/login", json={"email": user["email"], "password": PASSWORD + "x" * 100}
    )
    assert response.status_code == 401


async def test_password_hashing_does_not_block_the_event_loop(
    client_factory: ClientFactory,
) -> None:
    """The app runs on this thread's event loop: had a registration hashed here, this thread
    would have spent a whole hash's CPU time. Thread CPU time, unlike the loop's wall-clock
    stalls, does not grow when other processes take the cores."""
    client = await client_factory(BCRYPT_ROUNDS=12)
    await register(client)  # the first request's one-off costs, not measured

    started = time.thread_time()
    password_hasher(12).hash(PASSWORD)  # what one hash costs on this thread
    one_hash_seconds = time.thread_time() - started

    started = time.thread_time()
    await register(client)
    on_the_event_loop = time.thread_time() - started
    assert on_the_event_loop < 0.5 * one_hash_seconds


async def test_older_hashes_are_upgraded_on_login(
    client_factory: ClientFactory, db: AsyncSession
) -> None:
    weak = await client_factory(BCRYPT_ROUNDS=4)
    user = await register(weak)
    stronger = await client_factory(BCRYPT_ROUNDS=5)
    await login(stronger, user["email"])
    stored = await db.scalar(select(User.password_hash).where(User.id == user["id"]))
    assert stored.startswith("$2b$05$")
    await login(stronger, user["email"])


# --- rejected tokens ------------------------------------------------------------------------


def _forge(payload: dict, secret: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=algorithm)


def _unsigned(payload: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


async def _assert_rejected(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get("/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json() == INVALID
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_tampered_and_forged_tokens_are_rejected(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    claims = jwt.get_unverified_claims(tokens["access_token"])
    await _assert_rejected(client, _forge(claims, secret="another-secret-" * 3))
    await _assert_rejected(client, _unsigned(claims))
    await _assert_rejected(client, _forge({**claims, "sub": str(int(claims["sub"]) + 1)}, "x" * 32))
    await _assert_rejected(client, tokens["access_token"][:-4] + "AAAA")
    await _assert_rejected(client, "not-a-jwt")
    await _assert_rejected(client, tokens["refresh_token"])


async def test_expired_tokens_are_rejected(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    claims = jwt.get_unverified_claims(tokens["access_token"])
    expired, _ = encode_token(
        secret=TEST_JWT_SECRET,
        user_id=int(claims["sub"]),
        token_type="access",
        session_id=uuid.UUID(claims["sid"]),
        lifetime=timedelta(seconds=-1),
    )
    await _assert_rejected(client, expired)


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_tokens_of_deleted_or_disabled_users_are_rejected(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    disabled, disabled_tokens = await signed_up(client)
    deleted, deleted_tokens = await signed_up(client)
    await db.execute(text(f"UPDATE users SET status = 'disabled' WHERE id = {disabled['id']}"))
    await db.execute(text(f"DELETE FROM users WHERE id = {deleted['id']}"))
    await db.commit()
    await _assert_rejected(client, disabled_tokens["access_token"])
    await _assert_rejected(client, deleted_tokens["access_token"])
    refused = await client.post(
        "/auth/login", json={"email": disabled["email"], "password": PASSWORD}
    )
    assert refused.status_code == 401


# --- refresh and logout ---------------------------------------------------------------------


async def _refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": refresh_token})


async def test_refresh_rotates_the_refresh_token(client: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(client)
    response = await _refresh(client, tokens["refresh_token"])
    assert response.status_code == 200
    rotated = response.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert (await client.get("/auth/me", headers=bearer(rotated["access_token"]))).is_success
    assert (await _refresh(client, rotated["refresh_token"])).status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(REFRESH_REUSE_GRACE_SECONDS=0)
    _, tokens = await signed_up(client)
    rotated = (await _refresh(client, tokens["refresh_token"])).json()

    reuse = await _refresh(client, tokens["refresh_token"])
    assert reuse.status_code == 401
    assert reuse.json() == INVALID
    assert (await _refresh(client, rotated["refresh_token"])).status_code == 401
    await _assert_rejected(client, rotated["access_token"])
    await _assert_rejected(client, tokens["access_token"])


async def test_concurrent_uses_of_one_refresh_token_are_a_reuse_without_a_grace_window(
    client_factory: ClientFactory,
) -> None:
    """Strict rotation: the row lock lets one use rotate; the others are reuses, so the session
    ends, the winner's new tokens included."""
    client = await client_factory(REFRESH_REUSE_GRACE_SECONDS=0)
    _, tokens = await signed_up(client)
    responses = await asyncio.gather(*[_refresh(client, tokens["refresh_token"]) for _ in range(4)])
    assert sorted(response.status_code for response in responses) == [200, 401, 401, 401]
    winner = next(r for r in responses if r.status_code == 200).json()
    await _assert_rejected(client, winner["access_token"])
    assert (await _refresh(client, winner["refresh_token"])).status_code == 401


async def test_refresh_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, tokens = await signed_up(client)
    rows = (await db.execute(text("SELECT * FROM refresh_tokens"))).mappings().all()
    assert len(rows) == 1
    assert tokens["refresh_token"] not in json.dumps([dict(r) for r in rows], default=str)


async def test_malformed_refresh_requests(client: httpx.AsyncClient) -> None:
    assert (await _refresh(client, "garbage")).status_code == 401
    assert (await client.post("/auth/refresh", json={})).status_code == 422


async def test_logout_revokes_the_access_and_refresh_tokens_of_that_login(
    client: httpx.AsyncClient,
) -> None:
    user, tokens = await signed_up(client)
    other_login = await login(client, user["email"])
    response = await client.post("/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    await _assert_rejected(client, tokens["access_token"])
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401
    still_in = await client.get("/auth/me", headers=bearer(other_login["access_token"]))
    assert still_in.status_code == 200


async def test_logout_holds_in_every_worker_at_once(client_factory: ClientFactory) -> None:
    worker_a = await client_factory()
    worker_b = await client_factory()
    _, tokens = await signed_up(worker_a)
    assert (await worker_b.get("/auth/me", headers=bearer(tokens["access_token"]))).is_success
    await worker_a.post("/auth/logout", headers=bearer(tokens["access_token"]))
    await _assert_rejected(worker_b, tokens["access_token"])


# --- rate limits ----------------------------------------------------------------------------


async def test_registration_is_rate_limited_per_client_ip(client_factory: ClientFactory) -> None:
    client = await client_factory(AUTH_RATE_LIMIT="3/minute")
    for _ in range(3):
        await register(client)
    response = await client.post(
        "/auth/register", json={"email": unique_email(), "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Rate limit exceeded" in response.json()["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 60


async def test_login_token_and_refresh_share_the_login_limit(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(LOGIN_RATE_LIMIT="3/minute")
    user = await register(client)
    tokens = await login(client, user["email"])
    await client.post("/auth/token", data={"username": user["email"], "password": PASSWORD})
    await _refresh(client, tokens["refresh_token"])
    for response in (
        await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD}),
        await client.post("/auth/token", data={"username": user["email"], "password": PASSWORD}),
        await _refresh(client, tokens["refresh_token"]),
    ):
        assert response.status_code == 429
        assert "Retry-After" in response.headers


async def test_memory_limits_are_per_worker(client_factory: ClientFactory) -> None:
    worker_a = await client_factory(AUTH_RATE_LIMIT="1/minute")
    worker_b = await client_factory(AUTH_RATE_LIMIT="1/minute")
    await register(worker_a)
    await register(worker_b)


async def test_redis_limits_are_shared_by_all_workers(
    client_factory: ClientFactory, redis_url: str
) -> None:
    worker_a = await client_factory(AUTH_RATE_LIMIT="2/minute", REDIS_URL=redis_url)
    worker_b = await client_factory(AUTH_RATE_LIMIT="2/minute", REDIS_URL=redis_url)
    await register(worker_a)
    await register(worker_b)
    third = await worker_a.post(
        "/auth/register", json={"email": unique_email(), "password": PASSWORD}
    )
    assert third.status_code == 429


# --- security events and headers ------------------------------------------------------------


async def test_security_events_are_logged_without_secrets(
    client_factory: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await client_factory(REFRESH_REUSE_GRACE_SECONDS=0)  # the second refresh: a reuse
    caplog.set_level("INFO")
    user, tokens = await signed_up(client)
    await fail_login(client, user["email"])
    await _refresh(client, tokens["refresh_token"])
    await _refresh(client, tokens["refresh_token"])
    await client.post("/auth/logout", headers=bearer(tokens["access_token"]))

    second = await login(client, user["email"])
    await client.post("/auth/logout", headers=bearer(second["access_token"]))
    for _ in range(5):
        await fail_login(client, user["email"])

    events = [r for r in caplog.records if r.name == "app.security"]
    assert {r.event for r in events} >= {
        "user_registered",
        "login_succeeded",
        "login_failed",
        "token_refreshed",
        "refresh_token_reused",
        "logout",
        "account_locked",
    }
    assert all(r.ip == "127.0.0.1" for r in events)
    assert all(r.user_id == user["id"] for r in events)
    everything = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    for secret in (PASSWORD, "Wrong1234", tokens["access_token"], tokens["refresh_token"]):
        assert secret not in everything


async def test_auth_responses_are_not_cached(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert response.headers["Cache-Control"] == "no-store"
