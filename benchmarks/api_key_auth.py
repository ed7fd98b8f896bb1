"""Requests/s and latency of an endpoint that only authenticates the API key: GET /api/v1/api-key.

    python -m benchmarks.api_key_auth [--seconds 10] [--concurrency 16] [--workers 4] [--url URL]

Each request looks the key's hash up through its unique index, checks status, expiry and owner,
counts it against the key's rate limit and queues its call-log row: the whole X-API-Key path.
The load comes from a Python client and, when `wrk` is installed, from wrk too: the Python client
spends about as much CPU per request as the server, on the same cores. `key_validation_*` times
the validation alone (the service function on a real database session, no HTTP).
"""

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.config import get_settings, to_asyncpg_url
from app.services.api_keys import authenticate_key
from benchmarks.server import (
    add_server_arguments,
    ms,
    percentile,
    report,
    running_server,
    user_with_api_key,
)


async def measure(base_url: str, seconds: float, concurrency: int) -> tuple[dict, str]:
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
    }, key


def run_wrk(base_url: str, key: str, seconds: float, concurrency: int) -> dict:
    """wrk's requests/s and latency percentiles; empty when wrk is not installed."""
    if shutil.which("wrk") is None:
        return {}
    completed = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{int(seconds)}s",
            "--latency",
            "-H",
            f"X-API-Key: {key}",
            f"{base_url}/api/v1/api-key",
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    def milliseconds(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", completed.stdout).groups()
        return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)

    return {
        "wrk_requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", completed.stdout)[1]),
        "wrk_p50_ms": milliseconds("50%"),
        "wrk_p99_ms": milliseconds("99%"),
        "wrk_non_2xx": int(m[1]) if (m := re.search(r"Non-2xx.*?(\d+)", completed.stdout)) else 0,
    }


async def time_key_validation(key: str, rounds: int = 500) -> dict:
    """The validation alone: the service function on a real session (database of the server)."""
    database_url = os.environ.get("DATABASE_URL") or os.environ.get("BENCH_DATABASE_URL")
    if database_url is None:
        from benchmarks.server import LOCAL_POSTGRES

        database_url = LOCAL_POSTGRES
    engine = create_async_engine(to_asyncpg_url(database_url))
    settings = get_settings()
    seconds = []
    try:
        async with AsyncSession(engine) as db:
            for _ in range(rounds):
                started = time.perf_counter()
                await authenticate_key(db, settings=settings, presented=key)
                await db.rollback()
                seconds.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return {
        "key_validation_p50_ms": ms(percentile(seconds, 50)),
        "key_validation_p99_ms": ms(percentile(seconds, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with running_server(args) as base_url:
        figures, key = asyncio.run(measure(base_url, args.seconds, args.concurrency))
        figures |= run_wrk(base_url, key, args.seconds, args.concurrency)
        if not args.url:
            figures |= asyncio.run(time_key_validation(key))
    report("api_key_auth: GET /api/v1/api-key", {"workers": args.workers, **figures})


if __name__ == "__main__":
    main()
