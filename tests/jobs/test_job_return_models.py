"""A job saves the synchronous endpoint's numbers, bit for bit, for every return model."""

import pytest

from tests.dataset_files import csv_of, random_returns, upload
from tests.jobs.conftest import JobWorkers, example, job_as_simulate_answers

MODELS = [{"type": "student_t", "degrees_of_freedom": 4}]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model["type"])
async def test_a_job_gives_simulates_bits_for_the_model(api, worker: JobWorkers, model) -> None:
    client, headers, _ = api
    body = example(num_simulations=25_000, return_model=model)
    saved = await job_as_simulate_answers(client, headers, body)
    assert saved["inputs"]["parameters"]["return_model"] == model


async def test_a_job_bootstraps_a_dataset_as_simulate_does(api, worker: JobWorkers) -> None:
    client, headers, _ = api
    table = random_returns(60, 2, seed=4)
    uploaded = await upload(client, headers, csv_of(["NSEI Index", "GIND10YR Index"], table))
    assert uploaded.status_code == 201, uploaded.text
    body = example(
        num_simulations=25_000,
        data_source="dataset",
        dataset_id=uploaded.json()["dataset_id"],
        return_model={"type": "bootstrap", "block_months": 6},
    )
    saved = await job_as_simulate_answers(client, headers, body)
    assert saved["inputs"]["history"]["dataset_id"] == uploaded.json()["dataset_id"]


async def test_a_job_on_a_dataset_it_cannot_use_is_refused_at_once(api) -> None:
    client, headers, _ = api
    uploaded = await upload(client, headers, csv_of(["NSEI Index"], random_returns(30, 1)))
    body = example(data_source="dataset", dataset_id=uploaded.json()["dataset_id"])
    response = await client.post("/api/v1/jobs", json=body, headers=headers)
    assert response.status_code == 422
    assert "GIND10YR Index" in response.json()["detail"][0]["msg"]
    body["parameters"]["dataset_id"] = "ds_ffffffffffff"
    response = await client.post("/api/v1/jobs", json=body, headers=headers)
    assert response.status_code == 422 and "no dataset" in response.text
