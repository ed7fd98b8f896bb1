"""Logins under load while another client polls /health: bcrypt must stay off the event loop.

    python -m benchmarks.auth [--logins 48] [--concurrency 8] [--workers 4] [--url URL]

Prints logins/s, login latency, and the p50/p99/max latency of /health during the logins (it
must stay in milliseconds while every core hashes passwords).
"""

import argparse
import asyncio
import time

import httpx

from benchmarks.server import (
    PASSWORD,
    add_server_arguments,
    ms,
    percentile,
    report,
    running_server,
    user_with_api_key,
)


async def measure(base_url: str, logins: int, concurrency: int) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        email, _, _ = await user_with_api_key(client)
        health_seconds: list[float] = []
        login_seconds: list[float] = []
        logging_in = True

        async def poll_health() -> None:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as poller:
                while logging_in:
                    started = time.perf_counter()
                    (await poller.get("/health")).raise_for_status()
                    health_seconds.append(time.perf_counter() - started)
                    await asyncio.sleep(0.02)

        slots = asyncio.Semaphore(concurrency)

        async def one_login() -> None:
            async with slots:
                started = time.perf_counter()
                response = await client.post(
                    "/auth/login", json={"email": email, "password": PASSWORD}
                )
                response.raise_for_status()
                login_seconds.append(time.perf_counter() - started)

        poller = asyncio.create_task(poll_health())
        started = time.perf_counter()
        await asyncio.gather(*[one_login() for _ in range(logins)])
        elapsed = time.perf_counter() - started
        logging_in = False
        await poller
    return {
        "logins": logins,
        "concurrency": concurrency,
        "logins_per_s": round(logins / elapsed, 2),
        "login_p50_ms": ms(percentile(login_seconds, 50)),
        "login_p99_ms": ms(percentile(login_seconds, 99)),
        "health_samples": len(health_seconds),
        "health_p50_ms": ms(percentile(health_seconds, 50)),
        "health_p99_ms": ms(percentile(health_seconds, 99)),
        "health_max_ms": ms(max(health_seconds)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser)
    parser.add_argument("--logins", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with running_server(args, BCRYPT_ROUNDS="12") as base_url:
        figures = asyncio.run(measure(base_url, args.logins, args.concurrency))
    report(
        "auth: logins with bcrypt (12 rounds) while /health is polled",
        {"workers": args.workers, **figures},
    )


if __name__ == "__main__":
    main()
