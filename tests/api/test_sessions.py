"""Signed-in devices: list them, end one; its tokens stop working at once."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import AppClient
from tests.factories import PASSWORD, bearer, login, signed_up


async def sessions_of(client: httpx.AsyncClient, token: str) -> list[dict]:
    response = await client.get("/auth/sessions", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def login_as(client: httpx.AsyncClient, email: str, user_agent: str) -> dict:
    response = await client.post(
        "/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_sessions_list_each_device_and_mark_the_current_one(client: AppClient) -> None:
    user, laptop = await signed_up(client)
    phone = await login_as(client.from_address("198.51.100.23"), user["email"], "Phone/1.0")

    listed = await sessions_of(client, laptop["access_token"])
    assert [(s["ip"], s["user_agent"], s["current"]) for s in listed] == [
        ("198.51.100.23", "Phone/1.0", False),
        ("127.0.0.1", "python-httpx/0.28.1", True),
    ]
    for session in listed:
        assert session["created_at"] <= session["last_used_at"] < session["expires_at"]
    from_phone = await sessions_of(client, phone["access_token"])
    assert [s["current"] for s in from_phone] == [True, False]


async def test_ending_a_session_stops_its_tokens_at_once(client: AppClient) -> None:
    user, laptop = await signed_up(client)
    phone = await login_as(client, user["email"], "Phone/1.0")
    phone_session = (await sessions_of(client, phone["access_token"]))[0]["id"]

    ended = await client.delete(
        f"/auth/sessions/{phone_session}", headers=bearer(laptop["access_token"])
    )
    assert ended.status_code == 204
    assert (await client.get("/auth/me", headers=bearer(phone["access_token"]))).status_code == 401
    refreshed = await client.post("/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert refreshed.status_code == 401
    remaining = await sessions_of(client, laptop["access_token"])
    assert [s["current"] for s in remaining] == [True]
    again = await client.delete(
        f"/auth/sessions/{phone_session}", headers=bearer(laptop["access_token"])
    )
    assert again.status_code == 404

    trail = await client.get("/auth/audit", headers=bearer(laptop["access_token"]))
    latest = trail.json()["items"][0]
    assert (latest["event"], latest["object_id"]) == ("session_ended", phone_session)


async def test_another_accounts_session_is_not_found(client: AppClient) -> None:
    _, mine = await signed_up(client)
    _, theirs = await signed_up(client)
    their_session = (await sessions_of(client, theirs["access_token"]))[0]["id"]
    for session_id in (their_session, str(uuid.uuid4())):
        response = await client.delete(
            f"/auth/sessions/{session_id}", headers=bearer(mine["access_token"])
        )
        assert response.status_code == 404
        assert response.json() == {"detail": "Session not found"}
    assert (await client.get("/auth/me", headers=bearer(theirs["access_token"]))).is_success
    malformed = await client.delete("/auth/sessions/42", headers=bearer(mine["access_token"]))
    assert malformed.status_code == 422


async def test_using_a_session_updates_its_last_use(client: AppClient, db: AsyncSession) -> None:
    _, tokens = await signed_up(client)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    await db.execute(text("UPDATE auth_sessions SET last_used_at = :t"), {"t": long_ago})
    await db.commit()
    await client.get("/auth/me", headers=bearer(tokens["access_token"]))
    [session] = await sessions_of(client, tokens["access_token"])
    assert datetime.fromisoformat(session["last_used_at"]) > long_ago + timedelta(hours=1)


async def test_expired_and_logged_out_sessions_are_not_listed(
    client: AppClient, db: AsyncSession
) -> None:
    user, current = await signed_up(client)
    stale = await login(client, user["email"])
    gone = await login(client, user["email"])
    await client.post("/auth/logout", headers=bearer(gone["access_token"]))
    await db.execute(
        text("UPDATE auth_sessions SET expires_at = now() - interval '1 second' WHERE id = :id"),
        {"id": uuid.UUID((await sessions_of(client, stale["access_token"]))[0]["id"])},
    )
    await db.commit()
    assert len(await sessions_of(client, current["access_token"])) == 1
