"""The dashboard's Security page in headless Chromium: two-factor setup with the QR code's
secret, sign-in with a code, password change, the signed-in devices."""

import time

import httpx
import pyotp
from playwright.async_api import expect

from tests.browser.conftest import Watched
from tests.browser.test_dashboard import (
    assert_every_control_labelled,
    assert_nothing_went_wrong,
    sign_in,
)
from tests.factories import PASSWORD, unique_email


async def test_two_factor_setup_sign_in_with_a_code_and_devices(
    watched: Watched, server: str, screenshots
) -> None:
    email = unique_email()
    async with httpx.AsyncClient(base_url=server) as client:
        (
            await client.post("/auth/register", json={"email": email, "password": PASSWORD})
        ).raise_for_status()
        other_device = await client.post(
            "/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"User-Agent": "Phone/1.0"},
        )
        other_device.raise_for_status()
    page = await watched.new_page()
    await page.goto("/dashboard/#/signin")
    await sign_in(page, email)
    await page.get_by_role("link", name="Security").click()
    await expect(page.get_by_role("heading", name="Security")).to_be_visible()
    await assert_every_control_labelled(page)

    devices = page.get_by_role("table", name="Signed-in devices")
    await expect(devices.get_by_role("row")).to_have_count(3)  # the header, this browser, the phone
    await devices.get_by_role("button", name="Sign out").click()
    await expect(devices.get_by_role("row")).to_have_count(2)
    async with httpx.AsyncClient(base_url=server) as client:
        ended = await client.get(
            "/auth/me", headers={"Authorization": f"Bearer {other_device.json()['access_token']}"}
        )
    assert ended.status_code == 401

    await page.get_by_role("button", name="Set up two-factor authentication").click()
    await expect(
        page.get_by_role("img", name="QR code of the secret, for your authenticator app")
    ).to_be_visible()
    secret = await page.locator("#totp-secret").text_content()
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.locator("#backup-codes li")).to_have_count(10)
    await assert_every_control_labelled(page)
    await page.screenshot(path=screenshots / "two-factor-on.png", full_page=True)

    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password").fill("EvenBetter456")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("status").filter(has_text="Password changed")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("EvenBetter456")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Two-factor code")).to_be_visible()
    await page.get_by_label("Two-factor code").fill("000000")
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("alert")).to_contain_text("Invalid two-factor code")
    next_code = pyotp.TOTP(secret).at(time.time() + 30)  # the enabling code is spent
    await page.get_by_label("Two-factor code").fill(next_code)
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("heading", name="Run a simulation")).to_be_visible()
    assert_nothing_went_wrong(watched, server, await watched.csp_violations(page))
