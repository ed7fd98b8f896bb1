"""A retirement plan from the run form in headless Chromium: save through a cash flow, then
withdraw with guardrails; then the safe withdrawal amount solved for a fixed real withdrawal."""

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import Watched
from tests.browser.test_dashboard import (
    assert_every_control_labelled,
    assert_nothing_went_wrong,
    register_by_api,
    sign_in,
)


async def plan_basics(page: Page) -> None:
    await page.get_by_label("Initial investment").fill("500000")
    await page.get_by_label("Monthly contribution").fill("0")
    await page.get_by_label("Years", exact=True).fill("30")
    await page.get_by_label("Simulated paths").fill("2000")
    await page.get_by_label("Seed (optional)").fill("7")
    await page.get_by_label("Inflation rate").fill("0.02")


async def test_a_retirement_plan_with_guardrails_then_a_safe_withdrawal_solve(
    watched: Watched, server: str, screenshots
) -> None:
    page = await watched.new_page()
    await page.goto("/dashboard/#/signin")
    await sign_in(page, await register_by_api(server))

    await plan_basics(page)
    await page.get_by_role("button", name="Add a cash flow").click()
    flow = page.locator("#cash-flows fieldset").first
    await flow.get_by_label("Amount").fill("2000")
    await flow.get_by_label("End month (optional)").fill("120")
    await flow.get_by_label("Indexed to inflation").check()
    await flow.get_by_label("Label (optional)").fill("savings")
    await page.get_by_label("Annual fee").fill("0.005")
    await page.get_by_label("Withdrawal strategy").select_option("guardrails")
    await page.get_by_label("Withdrawals start in month").fill("121")
    await page.get_by_label("Initial rate").fill("0.05")
    await assert_every_control_labelled(page)
    await page.get_by_role("button", name="Run simulation").click()

    await expect(page.get_by_role("heading", name=re.compile(r"^Simulation sim_"))).to_be_visible()
    plan = page.locator("#plan")
    await expect(plan.locator("#success")).to_contain_text(re.compile(r"Success: [\d.]+% of paths"))
    await expect(plan.get_by_role("table", name="Withdrawn each year")).to_be_visible()
    await expect(plan.get_by_role("table", name="Total withdrawn per path")).to_be_visible()
    years = plan.get_by_role("table", name="Withdrawn each year").locator("tbody tr")
    await expect(years).to_have_count(30)
    # Nothing is withdrawn while saving: the first ten years' median withdrawal is 0.
    await expect(years.nth(0).locator("td").nth(1)).to_have_text("0")
    await expect(years.nth(10).locator("td").nth(1)).not_to_have_text("0")
    await page.screenshot(path=screenshots / "plan-result.png", full_page=True)

    await page.get_by_role("link", name="Run", exact=True).click()
    await plan_basics(page)
    await page.get_by_label("Withdrawal strategy").select_option("fixed_real")
    await page.get_by_label("Find the safe withdrawal amount").check()
    await expect(page.get_by_label("Annual withdrawal")).to_be_disabled()
    await page.get_by_label("Target success").fill("0.9")
    await page.get_by_role("button", name="Run simulation").click()
    await expect(page.get_by_role("heading", name=re.compile(r"^Simulation sim_"))).to_be_visible()
    safe = page.locator("#safe-withdrawal")
    await expect(safe).to_contain_text(re.compile(r"Safe withdrawal: [\d,]+ a year"))
    await expect(safe).to_contain_text("target 90%")
    assert_nothing_went_wrong(watched, server, await watched.csp_violations(page))
