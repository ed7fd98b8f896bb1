"""Browser sessions: the refresh token in an HttpOnly cookie with a double-submit CSRF token, and
the grace window that lets two tabs refresh at once."""

import asyncio

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import RefreshToken
from tests.conftest import AppClient, ClientFactory
from tests.factories import PASSWORD, bearer, register, signed_up

COOKIE = {"X-Session": "cookie"}


async def _refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": refresh_token})


async def browser_login(client: AppClient) -> dict:
    user = await register(client)
    response = await client.post(
        "/auth/login", json={"email": user["email"], "password": PASSWORD}, headers=COOKIE
    )
    assert response.status_code == 200, response.text
    return response


def set_cookies(response: httpx.Response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {**COOKIE, "X-CSRF-Token": client.cookies.get("mc_csrf", path="/")}


async def test_refreshes_within_the_grace_window_get_one_pair(client: AppClient) -> None:
    _, tokens = await signed_up(client)
    responses = await asyncio.gather(*[_refresh(client, tokens["refresh_token"]) for _ in range(4)])
    assert [r.status_code for r in responses] == [200] * 4
    pairs = {(r.json()["access_token"], r.json()["refresh_token"]) for r in responses}
    assert len(pairs) == 1
    access, refresh = pairs.pop()
    assert refresh != tokens["refresh_token"]
    assert (await client.get("/auth/me", headers=bearer(access))).status_code == 200
    assert (await _refresh(client, refresh)).status_code == 200


async def test_reuse_after_the_grace_window_ends_the_session(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(REFRESH_REUSE_GRACE_SECONDS=0.3)
    _, tokens = await signed_up(client)
    rotated = (await _refresh(client, tokens["refresh_token"])).json()
    await asyncio.sleep(0.5)
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401
    assert (await _refresh(client, rotated["refresh_token"])).status_code == 401
    assert (
        await client.get("/auth/me", headers=bearer(rotated["access_token"]))
    ).status_code == 401


async def test_the_kept_pair_is_sealed_under_the_old_token(
    client: AppClient, db: AsyncSession
) -> None:
    _, tokens = await signed_up(client)
    rotated = (await _refresh(client, tokens["refresh_token"])).json()
    sealed = [row.successor_sealed for row in await db.scalars(select(RefreshToken))]
    kept = [blob for blob in sealed if blob]
    assert len(kept) == 1
    for secret in (rotated["refresh_token"], rotated["access_token"]):
        assert secret.encode() not in kept[0]
        assert secret.split(".")[1].encode() not in kept[0]


async def test_scripts_keep_the_json_flow_and_get_no_cookie(client: AppClient) -> None:
    user = await register(client)
    response = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert response.json()["refresh_token"] and "set-cookie" not in response.headers
    refreshed = await _refresh(client, response.json()["refresh_token"])
    assert refreshed.json()["refresh_token"] and "set-cookie" not in refreshed.headers
    assert (await client.post("/auth/refresh")).status_code == 422


async def test_browser_login_puts_the_refresh_token_in_an_http_only_cookie(
    client: AppClient,
) -> None:
    response = await browser_login(client)
    assert response.json()["refresh_token"] is None and response.json()["access_token"]
    cookies = set_cookies(response)
    refresh = cookies["mc_refresh"].lower()
    assert "httponly" in refresh and "samesite=strict" in refresh and "path=/auth" in refresh
    assert "secure" not in refresh  # development over http
    token = client.cookies.get("mc_csrf", path="/")
    assert token and "httponly" not in cookies["mc_csrf"].lower()
    assert "samesite=strict" in cookies["mc_csrf"].lower()


async def test_cookies_are_secure_in_production(client_factory: ClientFactory) -> None:
    client = await client_factory(ENVIRONMENT="production")
    cookies = set_cookies(await browser_login(client))
    assert "; secure" in cookies["mc_refresh"].lower() and "; secure" in cookies["mc_csrf"].lower()


async def test_cookie_refresh_needs_the_csrf_header(client: AppClient) -> None:
    await browser_login(client)
    for headers in (COOKIE, {**COOKIE, "X-CSRF-Token": "forged"}):
        refused = await client.post("/auth/refresh", headers=headers)
        assert refused.status_code == 403
        assert "X-CSRF-Token" in refused.json()["detail"]
    before = client.cookies.get("mc_refresh", path="/auth")
    headers = csrf(client)
    refreshed = await client.post("/auth/refresh", headers=headers)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] is None
    assert client.cookies.get("mc_refresh", path="/auth") != before
    # The CSRF token stays: a tab that read it before another tab's refresh still sends it.
    assert csrf(client) == headers
    me = await client.get("/auth/me", headers=bearer(refreshed.json()["access_token"]))
    assert me.status_code == 200


async def test_cookie_logout_clears_the_cookies_and_ends_the_session(client: AppClient) -> None:
    access = (await browser_login(client)).json()["access_token"]
    headers = csrf(client)
    assert (await client.post("/auth/logout", headers={**COOKIE})).status_code == 403
    out = await client.post("/auth/logout", headers=headers)
    assert out.status_code == 200, out.text
    assert all("max-age=0" in c.lower() for c in set_cookies(out).values())
    assert client.cookies.get("mc_refresh", path="/auth") is None
    assert (await client.post("/auth/refresh", headers=headers)).status_code == 401
    assert (await client.get("/auth/me", headers=bearer(access))).status_code == 401
