"""The spec's simulation request end to end, against a production-like server.

    python -m benchmarks.api [--requests 40] [--workers 4] [--url URL]

For 10,000 and 100,000 paths: p50/p95 latency one request at a time, and requests/s with
concurrent clients. Then one 1,000,000-path request, with /health polled while it runs.
"""

import argparse
import asyncio
import copy
import time

import httpx

from app.schemas.simulation import SPEC_EXAMPLE
from benchmarks.server import (
    add_server_arguments,
    ms,
    percentile,
    report,
    running_server,
    user_with_api_key,
)


def spec_example(paths: int) -> dict:
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["parameters"]["num_simulations"] = paths
    return body


async def _simulate(client: httpx.AsyncClient, headers: dict, body: dict) -> float:
    started = time.perf_counter()
    response = await client.post("/api/v1/simulate", json=body, headers=headers)
    response.raise_for_status()
    return time.perf_counter() - started


async def latency_and_throughput(
    client: httpx.AsyncClient, headers: dict, paths: int, requests: int, concurrency: int
) -> dict:
    body = spec_example(paths)
    for _ in range(3):
        await _simulate(client, headers, body)
    sequential = [await _simulate(client, headers, body) for _ in range(requests)]

    slots = asyncio.Semaphore(concurrency)

    async def limited() -> None:
        async with slots:
            await _simulate(client, headers, body)

    started = time.perf_counter()
    await asyncio.gather(*[limited() for _ in range(requests)])
    elapsed = time.perf_counter() - started
    return {
        f"paths_{paths}_p50_ms": ms(percentile(sequential, 50)),
        f"paths_{paths}_p95_ms": ms(percentile(sequential, 95)),
        f"paths_{paths}_requests_per_s": round(requests / elapsed, 2),
    }


async def million_paths_with_health(client: httpx.AsyncClient, headers: dict) -> dict:
    body = spec_example(1_000_000)
    await _simulate(client, headers, spec_example(1_000))
    health_seconds: list[float] = []
    task = asyncio.create_task(_simulate(client, headers, body))
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as poller:
        while not task.done():
            started = time.perf_counter()
            (await poller.get("/health")).raise_for_status()
            health_seconds.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
    return {
        "paths_1000000_s": round(await task, 3),
        "health_during_p50_ms": ms(percentile(health_seconds, 50)),
        "health_during_max_ms": ms(max(health_seconds)),
        "health_samples": len(health_seconds),
    }


async def measure(base_url: str, requests: int, concurrency: int) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        _, _, key = await user_with_api_key(client)
        headers = {"X-API-Key": key}
        figures: dict = {}
        for paths in (10_000, 100_000):
            figures |= await latency_and_throughput(client, headers, paths, requests, concurrency)
        figures |= await million_paths_with_health(client, headers)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with running_server(args) as base_url:
        figures = asyncio.run(measure(base_url, args.requests, args.concurrency))
    report("api: POST /api/v1/simulate, the spec's example", {"workers": args.workers, **figures})


if __name__ == "__main__":
    main()
