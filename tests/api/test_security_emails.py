"""Security emails, received by a real SMTP server: the right recipient, what happened, and no
secret."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.services.periodic import daily_jobs
from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import AppClient
from tests.factories import PASSWORD, fail_login, login, register
from tests.mail import Inbox, body_of, queue_drained


def assert_no_secret(message: object, *secrets: str) -> None:
    raw = message.as_string()
    for secret in (PASSWORD, "Wrong1234", *secrets):
        assert secret not in raw


async def test_a_sign_in_from_a_new_device_is_reported(
    mail_client: AppClient, inbox: Inbox
) -> None:
    user = await register(mail_client)
    first = await login(mail_client, user["email"])  # the first sign-in ever: no news
    await login(mail_client, user["email"])  # the same device again: no news
    phone = mail_client.from_address("198.51.100.77")
    response = await phone.post(
        "/auth/login",
        json={"email": user["email"], "password": PASSWORD},
        headers={"User-Agent": "Phone\x1b[31m/2.0"},
    )
    [message] = await inbox.wait_for(1, recipient=user["email"])
    assert message["Subject"] == "New sign-in to your account"
    assert message["From"] == "Monte Carlo <no-reply@localhost>"
    body = body_of(message)
    assert "Phone [31m/2.0" in body  # the escape character is not passed on
    assert "198.51.100.0/24" in body
    assert_no_secret(message, first["access_token"], response.json()["refresh_token"])


async def test_a_lockout_is_reported_to_the_owner_only(
    mail_client: AppClient, inbox: Inbox
) -> None:
    user = await register(mail_client)
    attacker = mail_client.from_address("203.0.113.9")
    for email in (user["email"], "nobody@example.com"):
        for _ in range(5):
            await fail_login(attacker, email)
    [message] = await inbox.wait_for(1, recipient=user["email"])
    assert message["Subject"] == "Failed sign-ins to your account"
    assert "203.0.113.0/24" in body_of(message)
    assert_no_secret(message)
    await login(mail_client, user["email"])  # from elsewhere: no news (first sign-in)
    assert [m["To"] for m in inbox.messages] == [user["email"]]


async def test_each_expiring_api_key_is_reported_once(
    mail_client: AppClient, inbox: Inbox, db: AsyncSession
) -> None:
    _, keys = await keys_of_new_user(mail_client, 3)
    soon = datetime.now(UTC) + timedelta(days=3)
    await db.execute(
        text("UPDATE api_keys SET expires_at = :soon WHERE id IN (:a, :b)"),
        {"soon": soon, "a": keys[0]["id"], "b": keys[1]["id"]},
    )
    await db.commit()
    settings, database = mail_client.app.state.settings, mail_client.app.state.database
    for _ in range(2):  # two days, or two workers: each key still gets one email
        await daily_jobs(database.sessionmaker, settings)
    messages = await inbox.wait_for(2)
    await queue_drained(mail_client.app)
    assert len(inbox.messages) == 2
    previews = sorted(body_of(m).split("(")[1].split(")")[0] for m in messages)
    assert previews == sorted(f"mk_live_****...{key['key'][-4:]}" for key in keys[:2])
    for message in messages:
        assert message["Subject"] == "An API key expires soon"
        assert_no_secret(message, *(key["key"] for key in keys))
