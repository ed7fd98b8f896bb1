"""Simulation jobs through the API with real job workers and a real Dask cluster: lifecycle and
progress, cancellation, the sync endpoint's bits, a killed worker, limits and other accounts."""

import asyncio
import signal
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.test_api_keys import keys_of_new_user
from tests.factories import bearer
from tests.jobs.conftest import (
    JobWorkers,
    assert_saved_as_simulate_answers,
    example,
    wait_for,
)


async def test_a_job_runs_reports_progress_and_saves_the_sync_endpoints_numbers(
    api, worker: JobWorkers
) -> None:
    client, headers, _ = api
    body = example(num_simulations=200_000)
    response = await client.post("/api/v1/jobs", json=body, headers=headers)
    assert response.status_code == 202, response.text
    created = response.json()
    assert response.headers["location"] == f"/api/v1/jobs/{created['job_id']}"
    assert created | {"job_id": None, "created_at": None} == {
        "job_id": None,
        "status": "queued",
        "progress": 0.0,
        "paths_total": 200_000,
        "paths_done": 0,
        "created_at": None,
        "started_at": None,
        "finished_at": None,
        "simulation_id": None,
        "error": None,
    }
    seen: list[dict] = []
    job = await wait_for(client, headers, created["job_id"], "succeeded", "failed", seen=seen)
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    assert job["paths_done"] == 200_000 and job["started_at"] and job["finished_at"]
    progress = [entry["progress"] for entry in seen]
    assert progress == sorted(progress) and all(0.0 <= p <= 1.0 for p in progress)
    assert any(entry["status"] == "running" and 0 < entry["progress"] < 1 for entry in seen)
    await assert_saved_as_simulate_answers(client, headers, job, body)
    listed = await client.get("/api/v1/jobs", headers=headers)
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["job_id"] == job["job_id"]


async def test_progress_moves_at_least_every_two_seconds_while_a_job_runs(
    api, worker: JobWorkers
) -> None:
    client, headers, _ = api
    # 2M paths over 40 years: several seconds of shards, then the merge's rounds.
    body = example(num_simulations=2_000_000, time_horizon_years=40)
    job_id = (await client.post("/api/v1/jobs", json=body, headers=headers)).json()["job_id"]
    # Each poll: when it was sent, when its answer came, and what it said.
    observed: list[tuple[float, float, dict]] = []
    deadline = time.monotonic() + 180
    while not observed or observed[-1][2]["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, observed[-1]
        sent = time.monotonic()
        job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
        observed.append((sent, time.monotonic(), job))
        await asyncio.sleep(0.1)
    assert observed[-1][2]["status"] == "succeeded"
    first_running = next(i for i, (_, _, job) in enumerate(observed) if job["status"] == "running")
    polls = observed[first_running:]
    progress = [job["progress"] for _, _, job in polls if job["status"] == "running"]
    assert progress == sorted(progress) and progress[0] >= 0.0 and progress[-1] < 1.0
    # From the first sight of it running to its success, the progress never stands still
    # for more than 2 s. A value read by two polls stood still at least from the first one's
    # answer to the second one's sending (progress never goes back); a pause of this test's
    # own loop between two polls (no poll in it) proves nothing either way, so it is not counted.
    still, worst_value = 0.0, None
    run_start = 0
    for index in range(1, len(polls) + 1):
        if index < len(polls) and polls[index][2] == polls[run_start][2]:
            continue
        stood = polls[index - 1][0] - polls[run_start][1]
        if stood > still:
            still, worst_value = stood, polls[run_start][2]["progress"]
        run_start = index
    ran_for = polls[-1][1] - polls[0][1]
    assert ran_for > 4.0, f"ran {ran_for:.1f} s: too short to show anything"
    assert still <= 2.0, (
        f"progress {worst_value} stood still for {still:.2f} s in a {ran_for:.1f} s run"
    )
    assert len(set(progress)) >= ran_for / 2


async def test_cancelling_a_running_job_stops_its_compute(
    api, worker: JobWorkers, dask_client
) -> None:
    client, headers, token = api
    response = await client.post(
        "/jobs", json=example(num_simulations=3_000_000), headers=bearer(token)
    )
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 60
    while (job := (await client.get(f"/jobs/{job_id}", headers=bearer(token))).json())[
        "progress"
    ] == 0.0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    cancelled = await client.delete(f"/api/v1/jobs/{job_id}", headers=headers)
    acknowledged = time.time()
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"

    def tasks_of_job(dask_scheduler, prefix=job_id) -> tuple[int, float | None]:
        """The job's tasks on the scheduler, and when the last of them changed state (the
        scheduler's own clock: the test's polling, slow on a loaded machine, is not timed)."""
        left = sum(1 for key in dask_scheduler.tasks if str(key).startswith(prefix))
        log = dask_scheduler.transition_log
        moments = [t.timestamp for t in log if str(t.key).startswith(prefix)]
        return left, max(moments, default=None)

    deadline = time.monotonic() + 30  # generous for the waiting; the bound is the 2 s below
    while (state := dask_client.run_on_scheduler(tasks_of_job))[0]:
        assert time.monotonic() < deadline, "the job's tasks still run 30 s after cancelling"
        await asyncio.sleep(0.05)
    _, last_change = state
    assert last_change is not None
    assert last_change - acknowledged <= 2.0, "the job's tasks ran on 2 s after the 202"
    again = await client.delete(f"/api/v1/jobs/{job_id}", headers=headers)
    assert again.status_code == 409
    await asyncio.sleep(1.0)
    final = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert final["status"] == "cancelled" and final["simulation_id"] is None
    assert final["progress"] == job["progress"] or final["progress"] < 1.0


async def test_a_killed_job_worker_is_detected_and_its_job_retried_with_the_same_numbers(
    api, job_workers: JobWorkers, engine: AsyncEngine
) -> None:
    job_workers.stop_all()
    victim = job_workers.start()
    client, headers, _ = api
    body = example(num_simulations=1_000_000)
    job_id = (await client.post("/api/v1/jobs", json=body, headers=headers)).json()["job_id"]
    deadline = time.monotonic() + 60
    while (job := (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json())[
        "progress"
    ] == 0.0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    job_workers.start()  # the survivor: it finds the silent worker's run and retries it
    done = await wait_for(client, headers, job_id, "succeeded", "failed", within=90)
    assert done["status"] == "succeeded"
    assert done["progress"] == 1.0 >= job["progress"]
    async with engine.connect() as connection:
        attempts = await connection.scalar(
            text("SELECT attempts FROM simulation_jobs WHERE id = :id"), {"id": job_id}
        )
    assert attempts == 2
    await assert_saved_as_simulate_answers(client, headers, done, body)


async def test_limits_and_other_accounts(api, job_workers: JobWorkers) -> None:
    job_workers.stop_all()
    client, headers, token = api
    too_many = example(num_simulations=100_000_001)
    response = await client.post("/api/v1/jobs", json=too_many, headers=headers)
    assert response.status_code == 422 and "100,000,000" in response.text
    too_long = example(num_simulations=100_000_000, time_horizon_years=60)
    too_long["portfolio"] = {
        "assets": [
            {"ticker": f"ASSET{i}", "weight": 0.25, "asset_class": "equity"} for i in range(4)
        ]
    }
    response = await client.post("/api/v1/jobs", json=too_long, headers=headers)
    assert response.status_code == 422 and "250,000,000,000" in response.text
    invalid = example(num_simulations=0)
    assert (await client.post("/api/v1/jobs", json=invalid, headers=headers)).status_code == 422
    # No worker runs in this test: created jobs stay queued.
    big = example(num_simulations=2_000_000)  # more than simulate accepts
    assert (await client.post("/api/v1/simulate", json=big, headers=headers)).status_code == 422
    created = [await client.post("/api/v1/jobs", json=big, headers=headers) for _ in range(2)]
    assert [r.status_code for r in created] == [202, 202]
    refused = await client.post("/jobs", json=big, headers=bearer(token))
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    other_token, other_keys = await keys_of_new_user(client, 2)
    other = {"X-API-Key": other_keys[0]["key"]}
    job_id = created[0].json()["job_id"]
    assert (await client.get(f"/api/v1/jobs/{job_id}", headers=other)).status_code == 404
    assert (await client.delete(f"/api/v1/jobs/{job_id}", headers=other)).status_code == 404
    assert (await client.get(f"/jobs/{job_id}", headers=bearer(other_token))).status_code == 404
    assert (await client.get("/api/v1/jobs", headers=other)).json()["total"] == 0
    assert (await client.get("/api/v1/jobs/job_000000000000", headers=headers)).status_code == 404
    cancelled = await client.delete(f"/api/v1/jobs/{job_id}", headers=headers)
    assert cancelled.json()["status"] == "cancelled"
    again = await client.post("/api/v1/jobs", json=big, headers=headers)
    assert again.status_code == 202  # a cancelled job no longer counts
    page = (await client.get("/api/v1/jobs?limit=2", headers=headers)).json()
    assert page["total"] == 3 and [item["job_id"] for item in page["items"]] == [
        again.json()["job_id"],
        created[1].json()["job_id"],
    ]


async def test_job_creation_is_idempotent(api, job_workers: JobWorkers) -> None:
    job_workers.stop_all()  # the jobs stay queued
    client, headers, _ = api
    keyed = {**headers, "Idempotency-Key": "job-retry-1"}
    body = example(num_simulations=2_000_000)
    first = await client.post("/api/v1/jobs", json=body, headers=keyed)
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    again = await client.post("/api/v1/jobs", json=body, headers=keyed)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    other = await client.post("/api/v1/jobs", json=example(num_simulations=3), headers=keyed)
    assert other.status_code == 422
    listed = (await client.get("/api/v1/jobs", headers=headers)).json()
    assert listed["total"] == 1 and listed["items"][0]["job_id"] == first.json()["job_id"]
