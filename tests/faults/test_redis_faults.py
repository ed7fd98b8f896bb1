"""A frozen or stopped Redis: rate-limited requests wait one short socket timeout at most, limits
are still enforced (per worker, in memory), /health stays 200 and says `degraded`, and the shared
counters come back by themselves."""

import asyncio
import time

import httpx

from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import AppClient, ClientFactory
from tests.faults.services import ThrowawayRedis

LIMIT = 6


async def timed_get(
    client: AppClient, url: str, headers: dict | None = None
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await asyncio.wait_for(client.get(url, headers=headers), timeout=10)
    return response, time.perf_counter() - started


async def test_a_frozen_redis_degrades_to_per_worker_limits_and_recovers(
    fault_client_factory: ClientFactory, own_redis: ThrowawayRedis
) -> None:
    client = await fault_client_factory(
        REDIS_URL=own_redis.url, API_RATE_LIMIT=f"{LIMIT}/minute", RATE_LIMIT_FALLBACK_SECONDS=1
    )
    _, keys = await keys_of_new_user(client, 1)
    headers = {"X-API-Key": keys[0]["key"]}
    shared, _ = await timed_get(client, "/api/v1/api-key", headers)
    assert shared.headers["RateLimit-Remaining"] == str(LIMIT - 1)

    own_redis.freeze()
    answers = [await timed_get(client, "/api/v1/api-key", headers) for _ in range(LIMIT + 2)]
    statuses = [response.status_code for response, _ in answers]
    # Counted afresh in this worker's memory: still a limit, not an open door.
    assert statuses == [200] * LIMIT + [429, 429], statuses
    assert answers[0][1] < 1.0  # one socket timeout (250 ms) for the request that found out
    assert max(seconds for _, seconds in answers[1:]) < 0.2  # then no waiting at all
    health, seconds = await timed_get(client, "/health")
    assert health.status_code == 200 and seconds < 1.0
    assert health.json()["components"]["rate_limiter"] == "degraded"
    assert health.json()["status"] == "healthy"

    own_redis.thaw()
    await asyncio.sleep(1.1)  # the breaker lets one request probe Redis again
    again, _ = await timed_get(client, "/api/v1/api-key", headers)
    assert again.status_code == 200
    # The shared count resumed (memory's is spent); Redis also ran, on thawing, the one command
    # that had timed out.
    assert again.headers["RateLimit-Remaining"] in (str(LIMIT - 2), str(LIMIT - 3))
    health, _ = await timed_get(client, "/health")
    assert health.json()["components"]["rate_limiter"] == "operational"


async def test_a_stopped_redis_is_degraded_not_down(
    fault_client_factory: ClientFactory, own_redis: ThrowawayRedis
) -> None:
    client = await fault_client_factory(REDIS_URL=own_redis.url, RATE_LIMIT_FALLBACK_SECONDS=1)
    own_redis.stop()
    health, seconds = await timed_get(client, "/health")
    assert health.status_code == 200 and seconds < 1.0
    assert health.json()["components"]["rate_limiter"] == "degraded"
    started = time.perf_counter()
    login = await client.post("/auth/login", json={"email": "a@example.com", "password": "x"})
    assert login.status_code == 401 and time.perf_counter() - started < 1.0
    assert "RateLimit-Remaining" in login.headers
    own_redis.start()
    await asyncio.sleep(1.1)
    health, _ = await timed_get(client, "/health")
    assert health.json()["components"]["rate_limiter"] == "operational"
