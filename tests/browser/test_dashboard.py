"""The dashboard in headless Chromium, used as a person would: keyboard only for the main flow."""

import asyncio
import re

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import Watched, watching
from tests.factories import PASSWORD, unique_email

# The browser reports each refused request in the console; these are the ones the flow provokes.
_REFUSED = re.compile(
    r"^Failed to load resource: the server responded with a status of (401|409|422|423|429)"
)


async def press(page: Page, name: str, role: str = "button") -> None:
    """Activate a control from the keyboard: focus it, press Enter (each page is awaited before
    the next key press, since a page moves the focus to its heading region when it appears)."""
    control = page.get_by_role(role, name=name, exact=True)
    await control.focus()
    await page.keyboard.press("Enter")


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").focus()
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    await expect(page.get_by_role("heading", name="Run a simulation")).to_be_visible()


async def assert_every_control_labelled(page: Page) -> None:
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll('input, select, textarea')]
             .filter(c => !c.labels || c.labels.length === 0).map(c => c.name || c.id)"""
    )
    assert unlabelled == []


def assert_nothing_went_wrong(watched: Watched, server: str, csp: list[str]) -> None:
    assert csp == []
    assert [e for e in watched.console_errors if not _REFUSED.match(e)] == []
    outside = [url for url in watched.requests if not url.startswith((f"{server}/", "blob:"))]
    assert outside == []


async def test_sign_up_to_sign_out_by_keyboard(watched: Watched, server: str, screenshots) -> None:
    page = await watched.new_page()
    await page.goto("/dashboard")
    await expect(page).to_have_url(re.compile(r"/dashboard/#/signin$"))
    await expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    await page.screenshot(path=screenshots / "sign-in.png")

    # Sign up: a weak password is refused in words, then the account is made.
    await press(page, "Create an account", role="link")
    await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    email = unique_email()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("short")
    await page.keyboard.press("Enter")
    problem = page.get_by_role("alert")
    await expect(problem).to_contain_text("Password must be at least 8 characters long")
    await page.screenshot(path=screenshots / "sign-up-error.png")
    await assert_every_control_labelled(page)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.keyboard.press("Enter")

    # Sign in.
    await expect(page.get_by_text("Account created. Sign in")).to_be_visible()
    await expect(page.get_by_label("Email")).to_have_value(email)
    await sign_in(page, email)

    # API keys: each new key shown once, the 2-key minimum explained when revoking.
    await press(page, "API keys", role="link")
    await expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    keys = []
    for count, name in enumerate(("Laptop", "Server"), start=1):
        await page.get_by_label("Key name").fill(name)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name=f"Your new key “{name}”")).to_be_visible()
        await expect(page.get_by_text(f"{count} of at most 10 keys active")).to_be_visible()
        keys.append(await page.locator("#new-key").text_content())
        assert keys[-1].startswith("mk_live_") and len(keys[-1]) > 30
    await expect(page.get_by_role("button", name="Copy key")).to_be_visible()
    laptop_row = page.locator("tr", has_text="Laptop")
    await expect(laptop_row).to_contain_text(f"mk_live_****...{keys[0][-4:]}")
    await expect(laptop_row.locator("td").nth(2)).to_have_text("active")
    await expect(laptop_row.locator("td").nth(3)).to_have_text("30")  # days to expiry
    await expect(page.locator("table")).not_to_contain_text(keys[-1])
    await press(page, "Revoke Laptop (" + f"mk_live_****...{keys[0][-4:]})")
    await press(page, "Revoke key")
    await expect(page.get_by_role("alert")).to_contain_text(
        "at least 2 active API keys must remain"
    )
    await page.get_by_label("Key name").fill("Spare")
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("3 of at most 10 keys active")).to_be_visible()
    await press(page, "Revoke Laptop (" + f"mk_live_****...{keys[0][-4:]})")
    await press(page, "Revoke key")
    await expect(page.get_by_text("2 of at most 10 keys active")).to_be_visible()
    await expect(page.locator("tr", has_text="Laptop")).to_contain_text("revoked")
    await page.screenshot(path=screenshots / "api-keys.png", full_page=True)
    await assert_every_control_labelled(page)

    # Run the spec's example, pre-filled; its result shows both charts and the figures.
    await press(page, "Run", role="link")
    await expect(page.get_by_label("Ticker").first).to_have_value("NSEI Index")
    await expect(page.get_by_text("Weights sum to 100%")).to_be_visible()
    first_weight = page.get_by_label("Weight (%)").first
    await first_weight.fill("50")
    await expect(page.get_by_text("Weights sum to 90% (they must sum to 100%)")).to_be_visible()
    await first_weight.fill("60")
    await expect(page.get_by_role("status").filter(has_text="Weights sum to")).to_have_text(
        "Weights sum to 100%"
    )
    await page.screenshot(path=screenshots / "run.png", full_page=True)
    await assert_every_control_labelled(page)
    await press(page, "Run simulation")
    await expect(page.get_by_role("heading", name=re.compile(r"^Simulation sim_"))).to_be_visible()
    for kind in ("fan", "histogram"):
        chart = page.locator(f"img[data-kind={kind}]")
        await expect(chart).to_have_attribute("src", re.compile(r"^blob:"))
        await page.wait_for_function(
            "kind => { const image = document.querySelector(`img[data-kind=${kind}]`);"
            " return image.complete && image.naturalWidth > 300; }",
            arg=kind,
        )
    await expect(page.locator("#figures")).to_contain_text("VaR 95% (5th percentile)")
    await expect(page.locator("#figures")).to_contain_text("Ending below the money invested")
    await page.screenshot(path=screenshots / "result.png", full_page=True)
    await assert_every_control_labelled(page)
    simulation_id = page.url.rsplit("/", 1)[-1]

    # The saved list shows the run and opens it.
    await press(page, "Saved", role="link")
    saved = page.locator("#saved")
    await expect(saved).to_contain_text("NSEI Index, GIND10YR Index")
    await page.screenshot(path=screenshots / "saved.png", full_page=True)
    await saved.get_by_role("link").first.focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(f"#/result/{simulation_id}$"))
    # The page appears after the address changes, and moves the focus when it does.
    await expect(page.get_by_role("heading", name=f"Simulation {simulation_id}")).to_be_visible()

    await press(page, "Usage", role="link")
    await expect(page.get_by_role("heading", name="Usage")).to_be_visible()
    per_day = page.get_by_role("table", name="Per day (UTC)")
    await expect(per_day.locator("tbody tr").first).to_contain_text("10,000")  # today's paths
    await page.screenshot(path=screenshots / "usage.png", full_page=True)

    # A reload keeps the login: the refresh cookie signs the new page in.
    await page.reload()
    await expect(page.get_by_role("heading", name="Usage")).to_be_visible()
    assert {c["name"] for c in await watched.context.cookies()} >= {"mc_refresh", "mc_csrf"}

    # Sign out: the refresh cookie is gone and refreshing fails.
    csp = await watched.csp_violations(page)
    await press(page, "Sign out")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    assert "mc_refresh" not in {c["name"] for c in await watched.context.cookies()}
    refused = await page.evaluate(
        "fetch('/auth/refresh', {method: 'POST', headers: {'X-Session': 'cookie'}})"
        ".then(response => response.status)"
    )
    assert refused == 401
    csp += await watched.csp_violations(page)
    assert_nothing_went_wrong(watched, server, csp)


async def test_two_tabs_refreshing_at_once_both_stay_signed_in(
    watched: Watched, server: str
) -> None:
    email = await register_by_api(server)
    first = await watched.new_page()
    await first.goto("/dashboard/#/signin")
    await sign_in(first, email)
    tabs = [await watched.new_page(), await watched.new_page()]
    # Both tabs start with the same refresh cookie and present it at the same moment.
    await asyncio.gather(*(tab.goto("/dashboard/#/simulations") for tab in tabs))
    for tab in tabs:
        await expect(tab.get_by_role("heading", name="Saved simulations")).to_be_visible()
        await expect(tab.get_by_role("navigation", name="Main")).to_be_visible()
    await tabs[0].reload()
    await expect(tabs[0].get_by_role("heading", name="Saved simulations")).to_be_visible()
    csp = [v for tab in [first, *tabs] for v in await watched.csp_violations(tab)]
    assert_nothing_went_wrong(watched, server, csp)


async def register_by_api(server: str) -> str:
    email = unique_email()
    async with httpx.AsyncClient(base_url=server) as client:
        registered = await client.post(
            "/auth/register", json={"email": email, "password": PASSWORD}
        )
        registered.raise_for_status()
    return email


async def assert_fits_the_width(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


async def test_every_page_is_readable_at_phone_width(
    watched: Watched, server: str, screenshots
) -> None:
    page = await watched.new_page()
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto("/dashboard/#/signup")
    await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    await assert_fits_the_width(page)
    await assert_every_control_labelled(page)
    await page.screenshot(path=screenshots / "sign-up-phone.png", full_page=True)
    await page.goto("/dashboard/#/signin")
    await sign_in(page, await register_by_api(server))
    await assert_fits_the_width(page)
    await page.screenshot(path=screenshots / "run-phone.png", full_page=True)

    await page.get_by_role("button", name="Run simulation").click()
    await expect(page.get_by_role("heading", name=re.compile(r"^Simulation sim_"))).to_be_visible()
    for kind in ("fan", "histogram"):
        await expect(page.locator(f"img[data-kind={kind}]")).to_have_attribute(
            "src", re.compile(r"^blob:")
        )
    await page.wait_for_function(
        "() => [...document.querySelectorAll('img[data-kind]')]"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    await assert_fits_the_width(page)
    await page.screenshot(path=screenshots / "result-phone.png", full_page=True)
    for link, heading in [
        ("API keys", "API keys"),
        ("Saved", "Saved simulations"),
        ("Datasets", "Datasets"),
        ("Jobs", "Background jobs"),
        ("Usage", "Usage"),
        ("Security", "Security"),
    ]:
        await page.get_by_role("link", name=link, exact=True).click()
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await assert_fits_the_width(page)
        await assert_every_control_labelled(page)
        await page.screenshot(path=screenshots / f"{link.lower().replace(' ', '-')}-phone.png")
    assert_nothing_went_wrong(watched, server, await watched.csp_violations(page))


async def fail_sign_ins(page, email: str, refused_before_the_last: int):
    """Signs in with wrong passwords: each attempt but the last shows the plain refusal; returns
    the alert, holding what the last attempt answered."""
    await page.goto("/dashboard/#/signin")
    await page.get_by_label("Email").fill(email)
    problem = page.get_by_role("alert")
    for attempt in range(1, refused_before_the_last + 2):
        await page.get_by_label("Password").fill(f"Wrong{attempt}234")
        await page.keyboard.press("Enter")
        await expect(problem).not_to_be_empty()
        if attempt <= refused_before_the_last:
            await expect(problem).to_have_text("Incorrect email or password")
            await problem.evaluate("node => { node.textContent = ''; }")
    return problem


async def test_sign_in_explains_a_lockout_in_words(watched: Watched, server: str) -> None:
    email = await register_by_api(server)
    page = await watched.new_page()
    problem = await fail_sign_ins(page, email, refused_before_the_last=4)
    await expect(problem).to_contain_text("The account is locked after too many failed sign-ins.")
    await expect(problem).to_contain_text(re.compile(r"[Tt]ry again in \d+ (seconds|minutes)"))
    assert_nothing_went_wrong(watched, server, await watched.csp_violations(page))


async def test_sign_in_explains_a_rate_limit_in_words(browser, throttled_server: str) -> None:
    email = await register_by_api(throttled_server)
    async with watching(browser, throttled_server) as watched:
        page = await watched.new_page()
        problem = await fail_sign_ins(page, email, refused_before_the_last=3)  # 3 a minute
        await expect(problem).to_contain_text("Too many attempts from this address.")
        await expect(problem).to_contain_text(re.compile(r"[Tt]ry again in \d+ seconds"))
        csp = await watched.csp_violations(page)
        assert_nothing_went_wrong(watched, throttled_server, csp)


async def test_the_ten_key_limit_is_explained_in_words(watched: Watched, server: str) -> None:
    email = await register_by_api(server)
    async with httpx.AsyncClient(base_url=server) as client:
        signed_in = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        for number in range(10):
            key = {"name": f"Key {number}"}
            (await client.post("/api-keys/generate", json=key, headers=auth)).raise_for_status()
    page = await watched.new_page()
    await page.goto("/dashboard/#/signin")
    await sign_in(page, email)
    await press(page, "API keys", role="link")
    await expect(page.get_by_text("10 of at most 10 keys active")).to_be_visible()
    await expect(page.get_by_role("button", name="Generate key")).to_be_disabled()
    assert_nothing_went_wrong(watched, server, await watched.csp_violations(page))
