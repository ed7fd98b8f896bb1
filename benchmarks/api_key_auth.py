"""Requests/s and latency of an endpoint that only authenticates the API key: GET /api/v1/api-key.

    python -m benchmarks.api_key_auth [--seconds 10] [--concurrency 16] [--workers 4] [--url URL]

Each request looks the key's hash up through its unique index, checks status, expiry and owner,
counts it against the key's rate limit and queues its call-log row: the whole X-API-Key path.
"""

import argparse
import asyncio
import time

import httpx

from benchmarks.server import (
    add_server_arguments,
    ms,
    percentile,
    report,
    running_server,
    user_with_api_key,
)


async def measure(base_url: str, seconds: float, concurrency: int) -> dict:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        _, _, key = await user_with_api_key(client)
        headers = {"X-API-Key": key}
        for _ in range(50):  # warm the connections and the workers' pools
            (await client.get("/api/v1/api-key", headers=headers)).raise_for_status()

        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get("/api/v1/api-key", headers=headers)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        elapsed = time.perf_counter() - started

        sequential: list[float] = []
        for _ in range(200):
            began = time.perf_counter()
            (await client.get("/api/v1/api-key", headers=headers)).raise_for_status()
            sequential.append(time.perf_counter() - began)
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "unloaded_p50_ms": ms(percentile(sequential, 50)),
        "unloaded_p99_ms": ms(percentile(sequential, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with running_server(args) as base_url:
        figures = asyncio.run(measure(base_url, args.seconds, args.concurrency))
    report("api_key_auth: GET /api/v1/api-key", {"workers": args.workers, **figures})


if __name__ == "__main__":
    main()
