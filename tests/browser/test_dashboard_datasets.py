"""The Datasets page and the run form's return models in headless Chromium: upload a CSV file,
see a refusal in words, run a block bootstrap on the dataset, delete it."""

import re

import httpx
import numpy as np
from playwright.async_api import expect

from tests.browser.conftest import Watched
from tests.browser.test_dashboard import (
    assert_every_control_labelled,
    assert_nothing_went_wrong,
    register_by_api,
    sign_in,
)
from tests.dataset_files import csv_of, random_returns

TICKERS = ["SPY", "AGG", "GLD"]


def _csv_file(name: str, content: str) -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": content.encode()}


async def test_upload_a_dataset_and_run_a_bootstrap_on_it(
    watched: Watched, server: str, screenshots
) -> None:
    page = await watched.new_page()
    email = await register_by_api(server)
    await page.goto("/dashboard/#/signin")
    await sign_in(page, email)

    await page.get_by_role("link", name="Datasets", exact=True).click()
    await expect(page.get_by_role("heading", name="Datasets", exact=True)).to_be_visible()
    await expect(page.get_by_text("No datasets yet")).to_be_visible()
    await assert_every_control_labelled(page)

    # A file with a gap is refused, naming its line and column.
    broken = "date,SPY\n2015-01,0.01\n2015-03,0.02\n"
    await page.get_by_label("Dataset name").fill("Broken")
    await page.get_by_label("The file holds").select_option("returns")
    await page.get_by_label("CSV file").set_input_files(_csv_file("broken.csv", broken))
    await page.get_by_role("button", name="Upload dataset").click()
    await expect(page.get_by_role("alert")).to_contain_text("line 3, column 'date'")
    await expect(page.get_by_role("alert")).to_contain_text("2015-02 is missing")

    table = random_returns(60, 3, seed=21)
    await page.get_by_label("Dataset name").fill("Three funds")
    await page.get_by_label("The file holds").select_option("returns")
    await page.get_by_label("CSV file").set_input_files(
        _csv_file("three.csv", csv_of(TICKERS, table))
    )
    await page.get_by_role("button", name="Upload dataset").click()
    row = page.locator("#datasets tr", has_text="Three funds")
    await expect(row).to_contain_text("SPY, AGG, GLD")
    await expect(row).to_contain_text("2015-01 to 2019-12")
    await expect(row).to_contain_text("60 months")
    await expect(page.locator("form .error")).to_be_empty()  # the refusal is gone
    await page.screenshot(path=screenshots / "datasets.png", full_page=True)
    await assert_every_control_labelled(page)
    dataset_id = re.search(r"ds_[0-9a-f]{12}", await row.text_content()).group(0)

    # The run form: a block bootstrap on that dataset, with its tickers.
    await page.get_by_role("link", name="Run", exact=True).click()
    await expect(page.get_by_role("heading", name="Run a simulation")).to_be_visible()
    await expect(page.get_by_label("Degrees of freedom")).to_be_hidden()
    await page.get_by_label("Return model").select_option("student_t")
    await expect(page.get_by_label("Degrees of freedom")).to_have_value("5")
    await page.get_by_label("Return model").select_option("bootstrap")
    await expect(page.get_by_label("Degrees of freedom")).to_be_hidden()
    await page.get_by_label("Block length (months)").fill("12")
    await expect(page.get_by_label("Dataset", exact=True)).to_be_hidden()
    await page.get_by_label("Data source").select_option("dataset")
    await page.get_by_label("Dataset", exact=True).select_option(dataset_id)
    await page.get_by_role("button", name="Use the dataset's tickers").click()
    await expect(page.get_by_label("Ticker")).to_have_count(3)
    await expect(page.get_by_label("Ticker").nth(2)).to_have_value("GLD")
    await expect(page.get_by_role("status").filter(has_text="Weights sum to")).to_have_text(
        "Weights sum to 100%"
    )
    await page.get_by_label("Simulated paths").fill("2000")
    await page.get_by_label("Seed (optional)").fill("5")
    await assert_every_control_labelled(page)
    await page.screenshot(path=screenshots / "run-bootstrap.png", full_page=True)
    await page.get_by_role("button", name="Run simulation").click()
    await expect(page.get_by_role("heading", name=re.compile(r"^Simulation sim_"))).to_be_visible()
    await expect(page.locator("#return-model")).to_have_text(
        f"Returns: block bootstrap (12-month blocks) of dataset {dataset_id} "
        "(2015-01 to 2019-12, 60 months)."
    )
    await page.wait_for_function(
        "() => [...document.querySelectorAll('img[data-kind]')]"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    simulation_id = page.url.rsplit("/", 1)[-1]

    # What was run is what the form said: the saved inputs, and months replayed whole.
    async with httpx.AsyncClient(base_url=server) as client:
        tokens = (
            await client.post("/auth/login", json={"email": email, "password": "SecurePass123"})
        ).json()
        saved = (
            await client.get(
                f"/simulations/{simulation_id}",
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
        ).json()
    parameters = saved["inputs"]["parameters"]
    assert parameters["return_model"] == {"type": "bootstrap", "block_months": 12}
    assert (parameters["data_source"], parameters["dataset_id"]) == ("dataset", dataset_id)
    assert (parameters["num_simulations"], parameters["seed"]) == (2000, 5)
    weights = np.array([a["weight"] for a in saved["inputs"]["assets"]])
    assert [a["ticker"] for a in saved["inputs"]["assets"]] == TICKERS
    assert abs(weights.sum() - 1) < 1e-6
    paths = np.array(saved["results"]["sample_paths"])
    contribution = parameters["monthly_contribution"]  # added at each month's start
    months = paths[:, 1:] / (paths[:, :-1] + contribution) - 1.0
    history = table @ weights
    assert np.abs(months[..., None] - history).min(axis=-1).max() < 1e-6

    # Delete it, from its confirmation.
    await page.get_by_role("link", name="Datasets", exact=True).click()
    await page.get_by_role("button", name="Delete Three funds").click()
    await page.get_by_role("button", name="Delete dataset").click()
    await expect(page.get_by_text("No datasets yet")).to_be_visible()
    assert_nothing_went_wrong(watched, server, await watched.csp_violations(page))
