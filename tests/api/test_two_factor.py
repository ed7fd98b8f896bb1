"""Two-factor sign-in, with pyotp computing the codes as an authenticator app would."""

import asyncio
import time

import httpx
import pyotp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import AppClient, ClientFactory
from tests.factories import PASSWORD, bearer, signed_up
from tests.mail import Inbox


async def away_from_a_step_boundary() -> None:
    """Codes one step away are then one step away for the server too."""
    if time.time() % 30 > 27:
        await asyncio.sleep(30 - time.time() % 30 + 0.1)


def code_at(secret: str, steps_from_now: int) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


async def set_up(client: httpx.AsyncClient, token: str) -> dict:
    response = await client.post("/auth/2fa/setup", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def with_two_factor(
    client: httpx.AsyncClient, enabled_with_step: int = 0
) -> tuple[dict, dict, str, list[str]]:
    """A user with 2FA on (enabled with the code of this step): tokens, secret, backup codes."""
    user, tokens = await signed_up(client)
    secret = (await set_up(client, tokens["access_token"]))["secret"]
    enabled = await client.post(
        "/auth/2fa/enable",
        json={"code": code_at(secret, enabled_with_step)},
        headers=bearer(tokens["access_token"]),
    )
    assert enabled.status_code == 200, enabled.text
    return user, tokens, secret, enabled.json()["backup_codes"]


async def password_step(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": PASSWORD})


async def code_step(client: httpx.AsyncClient, challenge: str, code: str) -> httpx.Response:
    return await client.post("/auth/login/2fa", json={"challenge_token": challenge, "code": code})


async def challenge_for(client: httpx.AsyncClient, email: str) -> str:
    response = await password_step(client, email)
    assert response.status_code == 200, response.text
    return response.json()["challenge_token"]


async def test_setup_shows_the_secret_and_its_qr_code_and_enables_nothing(
    client: AppClient, db: AsyncSession
) -> None:
    user, tokens = await signed_up(client)
    setup = await set_up(client, tokens["access_token"])
    assert setup["otpauth_uri"] == pyotp.TOTP(setup["secret"]).provisioning_uri(
        name=user["email"], issuer_name="Monte Carlo Simulation"
    )
    assert setup["qr_svg"].startswith("<svg") and "<path" in setup["qr_svg"]
    assert "access_token" in (await password_step(client, user["email"])).json()
    stored = await db.scalar(text("SELECT secret_encrypted FROM two_factor"))
    assert setup["secret"] not in stored
    again = await set_up(client, tokens["access_token"])
    assert again["secret"] != setup["secret"]


async def test_enable_needs_a_right_code_and_answers_ten_backup_codes_once(
    client: AppClient, db: AsyncSession
) -> None:
    _, tokens = await signed_up(client)
    auth = bearer(tokens["access_token"])
    assert (
        await client.post("/auth/2fa/enable", json={"code": "123456"}, headers=auth)
    ).status_code == 409
    secret = (await set_up(client, tokens["access_token"]))["secret"]
    wrong = await client.post("/auth/2fa/enable", json={"code": code_at(secret, 5)}, headers=auth)
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "code"]
    enabled = await client.post("/auth/2fa/enable", json={"code": code_at(secret, 0)}, headers=auth)
    codes = enabled.json()["backup_codes"]
    assert len(set(codes)) == 10
    stored = " ".join(await db.scalars(text("SELECT code_hash FROM backup_codes")))
    assert not [code for code in codes if code in stored or code.replace("-", "") in stored]
    assert (
        await client.post("/auth/2fa/enable", json={"code": "123456"}, headers=auth)
    ).status_code == 409
    assert (await client.post("/auth/2fa/setup", headers=auth)).status_code == 409


async def test_a_two_factor_sign_in_takes_a_challenge_then_a_code(client: AppClient) -> None:
    await away_from_a_step_boundary()
    user, _, secret, _ = await with_two_factor(client)
    first = await password_step(client, user["email"])
    assert first.status_code == 200
    challenge = first.json()
    assert set(challenge) == {"two_factor_required", "challenge_token", "expires_in"}
    assert challenge["two_factor_required"] is True and challenge["expires_in"] == 300

    token = challenge["challenge_token"]
    assert (await client.get("/auth/me", headers=bearer(token))).status_code == 401
    as_refresh = await client.post("/auth/refresh", json={"refresh_token": token})
    assert as_refresh.status_code == 401

    code = code_at(secret, 1)  # the next step's code: within the allowed drift
    signed_in = await code_step(client, token, code)
    assert signed_in.status_code == 200, signed_in.text
    me = await client.get("/auth/me", headers=bearer(signed_in.json()["access_token"]))
    assert me.json()["email"] == user["email"]

    assert (await code_step(client, token, code)).status_code == 401  # the challenge is spent
    replay = await code_step(client, await challenge_for(client, user["email"]), code)
    assert replay.status_code == 401
    assert replay.json() == {"detail": "Invalid two-factor code"}


async def test_codes_are_accepted_one_step_either_side_only(client: AppClient) -> None:
    await away_from_a_step_boundary()
    user, _, secret, _ = await with_two_factor(client, enabled_with_step=-1)  # one step late

    async def sign_in_with_code_of(step: int) -> int:
        challenge = await challenge_for(client, user["email"])
        return (await code_step(client, challenge, code_at(secret, step))).status_code

    assert await sign_in_with_code_of(-2) == 401
    assert await sign_in_with_code_of(2) == 401
    assert await sign_in_with_code_of(1) == 200  # one step early
    assert await sign_in_with_code_of(0) == 401  # older than the last accepted code


async def test_a_backup_code_works_once(client: AppClient) -> None:
    user, _, _, backup_codes = await with_two_factor(client)
    used = backup_codes[3]
    first = await code_step(client, await challenge_for(client, user["email"]), used.upper())
    assert first.status_code == 200
    second = await code_step(client, await challenge_for(client, user["email"]), used)
    assert second.status_code == 401
    other = await code_step(client, await challenge_for(client, user["email"]), backup_codes[4])
    assert other.status_code == 200


async def test_one_code_on_two_challenges_at_once_signs_in_once(client: AppClient) -> None:
    await away_from_a_step_boundary()
    user, _, secret, _ = await with_two_factor(client)
    challenges = [await challenge_for(client, user["email"]) for _ in range(2)]
    code = code_at(secret, 1)
    answers = await asyncio.gather(*(code_step(client, c, code) for c in challenges))
    assert sorted(a.status_code for a in answers) == [200, 401]


async def test_wrong_codes_count_towards_the_lock(client: AppClient) -> None:
    user, _, _, _ = await with_two_factor(client)
    challenge = await challenge_for(client, user["email"])
    statuses = [(await code_step(client, challenge, "000000")).status_code for _ in range(5)]
    assert statuses == [401] * 4 + [423]
    assert (await password_step(client, user["email"])).status_code == 423
    elsewhere = client.from_address("198.51.100.3")
    assert (await password_step(elsewhere, user["email"])).status_code == 200


async def test_the_oauth2_form_refuses_a_two_factor_account_and_says_why(
    client: AppClient,
) -> None:
    user, _, _, _ = await with_two_factor(client)
    refused = await client.post(
        "/auth/token", data={"username": user["email"], "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert "/auth/login" in refused.json()["detail"]
    wrong = await client.post(
        "/auth/token", data={"username": user["email"], "password": "Nope1234"}
    )
    assert wrong.json() == {"detail": "Incorrect email or password"}


async def test_disable_needs_the_password_and_a_code(mail_client: AppClient, inbox: Inbox) -> None:
    user, tokens, _, backup_codes = await with_two_factor(mail_client)
    auth = bearer(tokens["access_token"])

    async def disable(password: str, code: str) -> httpx.Response:
        return await mail_client.post(
            "/auth/2fa/disable", json={"password": password, "code": code}, headers=auth
        )

    assert (await disable("Wrong1234", backup_codes[0])).json()["detail"][0]["loc"] == [
        "body",
        "password",
    ]
    assert (await disable(PASSWORD, "999999")).json()["detail"][0]["loc"] == ["body", "code"]
    assert (await disable(PASSWORD, backup_codes[0])).status_code == 200
    assert "access_token" in (await password_step(mail_client, user["email"])).json()
    assert (await disable(PASSWORD, backup_codes[1])).status_code == 409

    subjects = [m["Subject"] for m in await inbox.wait_for(2, recipient=user["email"])]
    assert subjects == [
        "Two-factor authentication turned on",
        "Two-factor authentication turned off",
    ]
    for message in inbox.messages:
        assert not [code for code in backup_codes if code in message.as_string()]
    trail = await mail_client.get("/auth/audit", headers=auth)
    events = [item["event"] for item in trail.json()["items"]]
    for event in ("two_factor_enabled", "backup_code_used", "two_factor_disabled"):
        assert event in events


async def test_the_status_says_on_or_off_and_counts_backup_codes(client: AppClient) -> None:
    user, tokens, _, backup_codes = await with_two_factor(client)
    auth = bearer(tokens["access_token"])
    assert (await client.get("/auth/2fa", headers=auth)).json() == {
        "enabled": True,
        "backup_codes_left": 10,
    }
    await code_step(client, await challenge_for(client, user["email"]), backup_codes[0])
    assert (await client.get("/auth/2fa", headers=auth)).json()["backup_codes_left"] == 9
    _, other = await signed_up(client)
    off = await client.get("/auth/2fa", headers=bearer(other["access_token"]))
    assert off.json() == {"enabled": False, "backup_codes_left": 0}


async def test_a_challenge_takes_only_the_codes_of_its_own_account(client: AppClient) -> None:
    await away_from_a_step_boundary()
    first, _, first_secret, _ = await with_two_factor(client)
    second, _, second_secret, second_backup_codes = await with_two_factor(client)
    challenge = await challenge_for(client, first["email"])
    for code in (code_at(second_secret, 1), second_backup_codes[0]):
        assert (await code_step(client, challenge, code)).status_code == 401
    assert (await code_step(client, challenge, code_at(first_secret, 1))).status_code == 200
    theirs = await code_step(
        client, await challenge_for(client, second["email"]), second_backup_codes[0]
    )
    assert theirs.status_code == 200  # refused on the other challenge, so still unused


async def test_disable_takes_a_current_code_from_the_app(client: AppClient) -> None:
    await away_from_a_step_boundary()
    user, tokens, secret, _ = await with_two_factor(client)
    disabled = await client.post(
        "/auth/2fa/disable",
        json={"password": PASSWORD, "code": code_at(secret, 1)},
        headers=bearer(tokens["access_token"]),
    )
    assert disabled.status_code == 200, disabled.text
    assert "access_token" in (await password_step(client, user["email"])).json()


async def test_the_code_step_is_rate_limited_with_the_sign_ins(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(LOGIN_RATE_LIMIT="3/minute")
    user, _, _, _ = await with_two_factor(client)
    challenge = await challenge_for(client, user["email"])
    elsewhere = client.from_address("198.51.100.7")  # a fresh quota: only code steps use it
    answers = [await code_step(elsewhere, challenge, "000000") for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
