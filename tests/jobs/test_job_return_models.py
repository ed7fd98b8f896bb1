"""A job saves the synchronous endpoint's numbers, bit for bit, for every return model."""

import pytest

from tests.jobs.conftest import JobWorkers
from tests.jobs.test_job_api import api, example, saved_results, wait_for, worker  # noqa: F401

MODELS = [{"type": "student_t", "degrees_of_freedom": 4}]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model["type"])
async def test_a_job_gives_simulates_bits_for_the_model(api, worker: JobWorkers, model) -> None:  # noqa: F811
    client, headers, _ = api
    body = example(num_simulations=25_000, return_model=model)
    response = await client.post("/api/v1/jobs", json=body, headers=headers)
    assert response.status_code == 202, response.text
    job = await wait_for(client, headers, response.json()["job_id"], "succeeded", "failed")
    assert job["status"] == "succeeded", job
    saved = await saved_results(client, headers, job)
    direct = await client.post("/api/v1/simulate", json=body, headers=headers)
    assert direct.status_code == 200
    assert saved["results"] == direct.json()["results"]
    assert saved["inputs"] == direct.json()["inputs"]
    assert saved["inputs"]["parameters"]["return_model"] == model
