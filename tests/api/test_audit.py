"""The audit trail: a row per security event, readable by its account and by admins, and
impossible to rewrite, even with plain SQL."""

import json

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.services.accounts import make_admin
from tests.api.test_api_keys import generate, revoke
from tests.api.test_password import NEW_PASSWORD, forgot, reset, reset_token_in
from tests.api.test_two_factor import challenge_for, code_step, with_two_factor
from tests.conftest import AppClient, ClientFactory
from tests.factories import PASSWORD, bearer, fail_login, login, signed_up
from tests.mail import Inbox


async def audit_events(client: httpx.AsyncClient, token: str, **query: object) -> dict:
    response = await client.get("/auth/audit", params=query, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def signed_up_admin(client: httpx.AsyncClient, db: AsyncSession) -> tuple[dict, str]:
    admin, _ = await signed_up(client)
    await make_admin(db, settings=get_settings(), email=admin["email"], password=None)
    return admin, (await login(client, admin["email"]))["access_token"]


async def test_security_events_leave_rows_without_secrets(
    client_factory: ClientFactory, db: AsyncSession
) -> None:
    client = await client_factory(REFRESH_REUSE_GRACE_SECONDS=0)  # a second refresh: a reuse
    user, first = await signed_up(client)
    await fail_login(client.from_address("198.51.100.4"), user["email"])
    token = first["access_token"]
    keys = [(await generate(client, token, f"Key {n}")).json() for n in range(3)]
    await revoke(client, token, keys[0]["id"])
    second = await login(client, user["email"])
    await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    await client.post("/auth/logout", headers=bearer(token))
    third = await login(client, user["email"])

    page = await audit_events(client, third["access_token"])
    events = [item["event"] for item in page["items"]]
    assert events == [
        "login_succeeded",
        "logout",
        "refresh_token_reused",
        "login_succeeded",
        "api_key_revoked",
        "api_key_generated",
        "api_key_generated",
        "api_key_generated",
        "login_failed",
        "login_succeeded",
        "user_registered",
    ]
    assert page["total"] == len(events)
    by_event = {item["event"]: item for item in reversed(page["items"])}
    assert by_event["login_failed"]["ip"] == "198.51.100.4"
    assert by_event["api_key_revoked"]["object_type"] == "api_key"
    assert by_event["api_key_revoked"]["object_id"] == str(keys[0]["id"])
    assert by_event["logout"]["user_agent"].startswith("python-httpx")
    assert all(item["user_id"] == item["actor_id"] == user["id"] for item in page["items"])

    everything = json.dumps(
        [dict(row) for row in (await db.execute(text("SELECT * FROM audit_events"))).mappings()],
        default=str,
    )
    secrets = [PASSWORD, "Wrong1234", *(k["key"] for k in keys)]
    secrets += [
        t[name] for t in (first, second, third) for name in ("access_token", "refresh_token")
    ]
    assert not [secret for secret in secrets if secret in everything]


async def test_an_account_sees_only_its_own_events_paginated(client: AppClient) -> None:
    _, other = await signed_up(client)
    user, tokens = await signed_up(client)
    for _ in range(3):
        await login(client, user["email"])
    page = await audit_events(client, tokens["access_token"], limit=2, offset=1)
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    assert [item["event"] for item in page["items"]] == ["login_succeeded"] * 2
    assert page["items"][0]["id"] > page["items"][1]["id"]
    assert {item["user_id"] for item in page["items"]} == {user["id"]}
    mine = (await audit_events(client, other["access_token"]))["items"]
    assert user["id"] not in {item["user_id"] for item in mine}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET event = 'login_succeeded'",
        "UPDATE audit_events SET ip = NULL WHERE event = 'login_failed'",
        "DELETE FROM audit_events",
    ],
)
async def test_the_database_refuses_to_rewrite_the_trail(
    client: AppClient, db: AsyncSession, statement: str
) -> None:
    user = (await signed_up(client))[0]
    await fail_login(client, user["email"])
    with pytest.raises(DBAPIError, match="append-only"):
        await db.execute(text(statement))
    await db.rollback()
    count = await db.scalar(text("SELECT count(*) FROM audit_events WHERE event = 'login_failed'"))
    assert count == 1


async def test_deleting_an_account_keeps_its_trail(client: AppClient, db: AsyncSession) -> None:
    user, _ = await signed_up(client)
    await db.execute(text("DELETE FROM users WHERE id = :id"), {"id": user["id"]})
    await db.commit()
    kept = await db.scalar(
        text("SELECT count(*) FROM audit_events WHERE user_id = :id"), {"id": user["id"]}
    )
    assert kept == 2  # registered, signed in


async def test_admins_read_every_account_filtered_by_user_and_event(
    client: AppClient, db: AsyncSession
) -> None:
    first, first_tokens = await signed_up(client)
    second, _ = await signed_up(client)
    await fail_login(client, second["email"])
    admin, admin_token = await signed_up_admin(client, db)

    everyone = await client.get("/admin/audit", headers=bearer(admin_token))
    assert {item["user_id"] for item in everyone.json()["items"]} == {
        first["id"],
        second["id"],
        admin["id"],
    }
    filtered = await client.get(
        "/admin/audit",
        params={"user_id": second["id"], "event": "login_failed"},
        headers=bearer(admin_token),
    )
    assert [(i["user_id"], i["event"]) for i in filtered.json()["items"]] == [
        (second["id"], "login_failed")
    ]
    grants = await client.get(
        "/admin/audit", params={"event": "admin_granted"}, headers=bearer(admin_token)
    )
    assert grants.json()["items"][0]["user_agent"] == "python -m app create-admin"

    refused = await client.get("/admin/audit", headers=bearer(first_tokens["access_token"]))
    assert refused.status_code == 403
    unknown_event = await client.get(
        "/admin/audit", params={"event": "nonsense"}, headers=bearer(admin_token)
    )
    assert unknown_event.status_code == 422


async def test_admins_disable_and_enable_accounts_and_old_sessions_stay_dead(
    client: AppClient, db: AsyncSession
) -> None:
    user, tokens = await signed_up(client)
    admin, admin_token = await signed_up_admin(client, db)

    disabled = await client.post(f"/admin/users/{user['id']}/disable", headers=bearer(admin_token))
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "disabled"
    assert (await client.get("/auth/me", headers=bearer(tokens["access_token"]))).status_code == 401
    refused = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert refused.status_code == 401

    enabled = await client.post(f"/admin/users/{user['id']}/enable", headers=bearer(admin_token))
    assert enabled.json()["status"] == "active"
    assert (await client.get("/auth/me", headers=bearer(tokens["access_token"]))).status_code == 401
    refreshed = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    assert (await login(client, user["email"]))["access_token"]

    trail = await client.get(
        "/admin/audit", params={"user_id": user["id"]}, headers=bearer(admin_token)
    )
    admin_actions = [
        (item["event"], item["actor_id"], item["object_id"])
        for item in trail.json()["items"]
        if item["event"].startswith("user_")
    ]
    assert admin_actions[:2] == [
        ("user_enabled", admin["id"], str(user["id"])),
        ("user_disabled", admin["id"], str(user["id"])),
    ]


async def test_admins_cannot_disable_themselves_or_unknown_accounts(
    client: AppClient, db: AsyncSession
) -> None:
    admin, admin_token = await signed_up_admin(client, db)
    own = await client.post(f"/admin/users/{admin['id']}/disable", headers=bearer(admin_token))
    assert own.status_code == 409
    missing = await client.post("/admin/users/999999/disable", headers=bearer(admin_token))
    assert missing.status_code == 404


async def test_two_factor_and_reset_events_hold_no_secret_either(
    mail_client: AppClient, inbox: Inbox, db: AsyncSession
) -> None:
    user, _, secret, backup_codes = await with_two_factor(mail_client)
    challenge = await challenge_for(mail_client, user["email"])
    assert (await code_step(mail_client, challenge, backup_codes[0])).status_code == 200
    await forgot(mail_client, user["email"])
    messages = await inbox.wait_for(2, recipient=user["email"])  # 2FA on, then the link
    token = reset_token_in(next(m for m in messages if m["Subject"] == "Reset your password"))
    assert (await reset(mail_client, token)).status_code == 200

    rows = (await db.execute(text("SELECT * FROM audit_events ORDER BY id"))).mappings().all()
    events = [row["event"] for row in rows]
    for event in ("two_factor_enabled", "backup_code_used", "password_reset_requested"):
        assert event in events
    assert events[-1] == "password_reset"
    everything = json.dumps([dict(row) for row in rows], default=str)
    secrets = [secret, challenge, token, NEW_PASSWORD, *backup_codes]
    secrets += [code.replace("-", "") for code in backup_codes]
    assert not [value for value in secrets if value in everything]
