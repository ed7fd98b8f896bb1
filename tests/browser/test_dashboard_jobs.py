"""The Jobs page in headless Chromium: a run sent from the form as a background job, its progress,
its result, and a cancelled job. A real job worker (`python -m app worker`, which starts its own
Dask LocalCluster, as `make run` does) takes the jobs from the test database's queue."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from app.config import PROJECT_ROOT
from tests.browser.conftest import Watched
from tests.browser.test_dashboard import (
    assert_every_control_labelled,
    assert_nothing_went_wrong,
    register_by_api,
    sign_in,
)
from tests.conftest import TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET


@pytest.fixture(scope="module")
def job_worker(
    database_url: str, server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    data_dir = tmp_path_factory.mktemp("browser-job-worker")
    environment = {
        **os.environ,
        "DATABASE_URL_ASYNC": database_url,
        "DATA_DIR": str(data_dir),
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        "DATA_ENCRYPTION_KEY": TEST_DATA_ENCRYPTION_KEY,
        "LOG_LEVEL": "WARNING",
    }
    environment.pop("DASK_SCHEDULER_ADDRESS", None)
    log = Path(data_dir) / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def send_as_job(page: Page, paths: int) -> None:
    await page.get_by_role("link", name="Run", exact=True).click()
    await expect(page.get_by_role("heading", name="Run a simulation")).to_be_visible()
    await page.get_by_label("Simulated paths").fill(str(paths))
    await page.get_by_role("button", name="Run as a background job").click()
    await expect(page.get_by_role("heading", name="Background jobs")).to_be_visible()


async def test_run_a_background_job_follow_it_and_cancel_another(
    watched: Watched, server: str, job_worker: None, screenshots
) -> None:
    page = await watched.new_page()
    await page.goto("/dashboard/#/signin")
    await sign_in(page, await register_by_api(server))
    await page.get_by_role("link", name="Jobs", exact=True).click()
    await expect(page.get_by_text("No jobs yet")).to_be_visible()

    await send_as_job(page, 20_000)
    row = page.locator("tr[data-job]").first
    await expect(row).to_have_attribute("data-status", "succeeded", timeout=120_000)
    await expect(row.get_by_role("progressbar")).to_have_attribute("value", "100")
    await expect(row).to_contain_text("20,000 / 20,000")
    await assert_every_control_labelled(page)
    await page.screenshot(path=screenshots / "jobs.png", full_page=True)
    await row.get_by_role("link", name="Open the result").click()
    await expect(page.get_by_role("heading", name=re.compile(r"^Simulation sim_"))).to_be_visible()

    await send_as_job(page, 50_000_000)  # minutes of work: it is cancelled long before the end
    page.on("dialog", lambda dialog: dialog.accept())
    newest = page.locator("tr[data-job]").first
    await expect(newest).to_contain_text("/ 50,000,000")
    await newest.get_by_role("button", name=re.compile(r"^Cancel job job_")).click()
    await expect(newest).to_have_attribute("data-status", "cancelled")
    await expect(page.locator("tr[data-job]")).to_have_count(2)
    assert_nothing_went_wrong(watched, server, await watched.csp_violations(page))
