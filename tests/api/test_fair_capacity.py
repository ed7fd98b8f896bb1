"""Fair capacity end to end: one account flooding the service with the largest runs allowed
leaves room for everyone else, and its compute budget answers 429 with Retry-After."""

import asyncio
import time

from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import example, simulate
from tests.conftest import ClientFactory


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * 0.95
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def test_one_account_saturating_leaves_the_others_fast_answers(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(
        SIMULATION_MAX_CONCURRENCY=2,
        SIMULATION_QUEUE_SECONDS=2,
        MAX_SIMULATION_STEPS=600_000_000,
    )
    _, (flooder,) = await keys_of_new_user(client, 1)
    _, (other,) = await keys_of_new_user(client, 1)
    largest = example(num_simulations=1_000_000, time_horizon_years=25, sample_paths=0)
    flooding = True
    flood_statuses: list[int] = []

    async def flood() -> None:
        while flooding:
            response = await simulate(client, {"X-API-Key": flooder["key"]}, largest)
            flood_statuses.append(response.status_code)

    floods = [asyncio.create_task(flood()) for _ in range(4)]
    await asyncio.sleep(0.5)  # the flood's runs hold their slots (each takes about a second)

    seconds = []
    for seed in range(10):
        started = time.perf_counter()
        response = await simulate(client, {"X-API-Key": other["key"]}, example(seed=seed))
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    flooding = False
    await asyncio.gather(*floods)
    assert p95(seconds) < 2.0, seconds
    assert 200 in flood_statuses and set(flood_statuses) <= {200, 503}


async def test_the_compute_budget_answers_429_per_account(client_factory: ClientFactory) -> None:
    # The spec example is 10,000 paths x 120 months = 1.2 million path-months.
    client = await client_factory(SIMULATION_BUDGET_PATH_MONTHS=2_400_000)
    _, (mine,) = await keys_of_new_user(client, 1)
    _, (theirs,) = await keys_of_new_user(client, 1)
    answers = [await simulate(client, {"X-API-Key": mine["key"]}, example()) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert "path-months" in answers[2].json()["detail"]
    other = await simulate(client, {"X-API-Key": theirs["key"]}, example())
    assert other.status_code == 200
