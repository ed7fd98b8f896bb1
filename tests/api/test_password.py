"""Passwords: change (other devices signed out), forgot (the same answer for every email) and
reset (a link good once for 30 minutes, every session ended)."""

import asyncio
import json
import re
import time

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.security import encrypt
from app.services import passwords
from tests.conftest import AppClient
from tests.factories import PASSWORD, bearer, login, register, signed_up
from tests.mail import Inbox, body_of, queue_drained

NEW_PASSWORD = "EvenBetter456"


async def change(client: httpx.AsyncClient, token: str, current: str, new: str) -> httpx.Response:
    return await client.post(
        "/auth/password",
        json={"current_password": current, "new_password": new},
        headers=bearer(token),
    )


async def forgot(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/auth/password/forgot", json={"email": email})


async def reset(client: httpx.AsyncClient, token: str, new: str = NEW_PASSWORD) -> httpx.Response:
    return await client.post("/auth/password/reset", json={"token": token, "new_password": new})


def reset_token_in(message: object) -> str:
    return re.search(r"#token=([A-Za-z0-9_-]+)", body_of(message)).group(1)


async def still_signed_in(client: httpx.AsyncClient, tokens: dict) -> tuple[bool, bool]:
    me = await client.get("/auth/me", headers=bearer(tokens["access_token"]))
    refreshed = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    return me.status_code == 200, refreshed.status_code == 200


async def test_a_change_signs_out_the_other_devices_and_keeps_this_one(
    mail_client: AppClient, inbox: Inbox
) -> None:
    user, laptop = await signed_up(mail_client)
    phone = await login(mail_client, user["email"])

    response = await change(mail_client, laptop["access_token"], PASSWORD, NEW_PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["other_sessions_revoked"] == 1
    assert await still_signed_in(mail_client, phone) == (False, False)
    assert (await mail_client.get("/auth/me", headers=bearer(laptop["access_token"]))).is_success
    old = await mail_client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert old.status_code == 401
    await login(mail_client, user["email"], NEW_PASSWORD)

    [message] = await inbox.wait_for(1, recipient=user["email"])
    assert message["Subject"] == "Your password was changed"
    assert PASSWORD not in message.as_string() and NEW_PASSWORD not in message.as_string()
    trail = await mail_client.get("/auth/audit", headers=bearer(laptop["access_token"]))
    assert "password_changed" in [item["event"] for item in trail.json()["items"]]


async def test_a_wrong_current_password_is_refused_and_counts_towards_the_lock(
    client: AppClient,
) -> None:
    _, tokens = await signed_up(client)
    statuses = []
    for _ in range(5):
        response = await change(client, tokens["access_token"], "Wrong1234", NEW_PASSWORD)
        statuses.append(response.status_code)
    assert statuses == [422] * 4 + [423]
    assert response.headers["Retry-After"]
    assert "Wrong1234" not in response.text


async def test_the_new_password_follows_the_rules_and_is_never_echoed(client: AppClient) -> None:
    _, tokens = await signed_up(client)
    weak = await change(client, tokens["access_token"], PASSWORD, "weakpass")
    assert weak.status_code == 422
    assert weak.json()["detail"][0]["loc"] == ["body", "new_password"]
    assert "weakpass" not in weak.text
    same = await change(client, tokens["access_token"], PASSWORD, PASSWORD)
    assert same.status_code == 422


async def test_forgot_answers_every_email_alike(mail_client: AppClient, inbox: Inbox) -> None:
    user = await register(mail_client)
    durations: dict[str, list[float]] = {user["email"]: [], "nobody@example.com": []}
    answers = set()
    for _ in range(9):
        for email in durations:
            started = time.perf_counter()
            response = await forgot(mail_client, email)
            durations[email].append(time.perf_counter() - started)
            answers.add((response.status_code, response.text))
    assert answers == {
        (
            202,
            '{"message":"If an account uses this email, a reset link is on its way '
            '(valid 30 minutes)"}',
        )
    }
    known, unknown = (sorted(d)[4] for d in durations.values())
    assert 0.5 < known / unknown < 2
    await inbox.wait_for(1)  # nine requests, one email: a burst sends one
    await queue_drained(mail_client.app)
    assert [m["To"] for m in inbox.messages] == [user["email"]]


async def test_reset_tasks_run_at_once_issue_one_link(
    mail_client: AppClient, inbox: Inbox, db: AsyncSession
) -> None:
    """Task workers run several tasks at once: a burst's tasks still send one email."""
    user = await register(mail_client)
    settings = mail_client.app.state.settings
    payload = encrypt(settings.data_encryption_keys(), json.dumps({"email": user["email"]}))
    sessionmaker = mail_client.app.state.database.sessionmaker
    await asyncio.gather(
        *(passwords.issue_reset_link(sessionmaker, settings, payload=payload) for _ in range(3))
    )
    assert await db.scalar(text("SELECT count(*) FROM password_reset_tokens")) == 1
    await inbox.wait_for(1)
    await queue_drained(mail_client.app)
    assert [m["To"] for m in inbox.messages] == [user["email"]]


async def test_a_reset_link_works_once_and_ends_every_session(
    mail_client: AppClient, inbox: Inbox
) -> None:
    user, first = await signed_up(mail_client)
    second = await login(mail_client, user["email"])
    assert (await forgot(mail_client, user["email"])).status_code == 202
    [message] = await inbox.wait_for(1, recipient=user["email"])
    assert message["Subject"] == "Reset your password"
    token = reset_token_in(message)
    assert body_of(message).count(token) == 1

    done = await reset(mail_client, token)
    assert done.status_code == 200, done.text
    for tokens in (first, second):
        assert await still_signed_in(mail_client, tokens) == (False, False)
    await login(mail_client, user["email"], NEW_PASSWORD)
    again = await reset(mail_client, token, "AnotherOne789")
    assert again.status_code == 422
    assert again.json()["detail"][0]["loc"] == ["body", "token"]
    assert token not in again.text

    [_, changed] = await inbox.wait_for(2, recipient=user["email"])
    assert changed["Subject"] == "Your password was changed"
    assert token not in changed.as_string()


async def test_an_expired_or_unknown_reset_token_is_refused(
    mail_client: AppClient, inbox: Inbox, db: AsyncSession
) -> None:
    user = await register(mail_client)
    await forgot(mail_client, user["email"])
    token = reset_token_in((await inbox.wait_for(1))[0])
    await db.execute(text("UPDATE password_reset_tokens SET expires_at = now()"))
    await db.commit()
    for candidate in (token, "not-a-token"):
        assert (await reset(mail_client, candidate)).status_code == 422
    await login(mail_client, user["email"])  # the password did not change


async def test_a_reset_lifts_the_locks_on_the_account(mail_client: AppClient, inbox: Inbox) -> None:
    user = await register(mail_client)
    for _ in range(5):
        await mail_client.post(
            "/auth/login", json={"email": user["email"], "password": "Wrong1234"}
        )
    await forgot(mail_client, user["email"])
    messages = await inbox.wait_for(2, recipient=user["email"])  # the lockout, then the link
    token = reset_token_in(next(m for m in messages if m["Subject"] == "Reset your password"))
    assert (await reset(mail_client, token)).status_code == 200
    await login(mail_client, user["email"], NEW_PASSWORD)
