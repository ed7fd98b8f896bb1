"""Capacity: requests/s of the spec's example under 16 concurrent clients, against this checkout
and, alternating in the same run, against an older commit.

    python -m benchmarks.capacity [--baseline REF] [--rounds 2] [--seconds 10] [--clients 16]
                                  [--workers 4] [--accounts 16]

Each client holds one keep-alive connection and sends `POST /api/v1/simulate` (the spec's example,
10,000 paths) as fast as answers come back. The load generator writes pre-built request bytes on
raw sockets and reads answers by Content-Length, so that it spends far less CPU per request than
the server (it runs on the same cores). Clients are spread over `--accounts` accounts (default:
one each, as 16 users would be). With `--baseline`, the older commit is exported (`git archive`)
to a folder kept between runs, each variant gets its own database, and the rounds alternate
baseline, current, baseline, current...: the ratio compares the two under the same noise. The
server's CPU time per answer (its process and workers) is the figure least moved by other load
on the machine; PostgreSQL's (the backends of the variant's database) is given beside it, since
it runs on the same cores.
"""

import argparse
import asyncio
import contextlib
import json
import statistics
import time

import httpx
import psutil

from app.schemas.simulation import SPEC_EXAMPLE
from benchmarks.server import (
    LOCAL_POSTGRES,
    PROJECT_ROOT,
    add_server_arguments,
    export_commit,
    ms,
    percentile,
    report,
    running_server,
    user_with_api_key,
)

# Lifted so that the benchmark measures the service, not its per-account limits.
UNLIMITED = {
    "API_RATE_LIMIT": "1000000/minute",
    "SIMULATION_BUDGET_PATH_MONTHS": "1000000000000000",
}


def simulate_request(host: str, port: int, key: str) -> bytes:
    body = json.dumps(SPEC_EXAMPLE).encode()
    head = (
        f"POST /api/v1/simulate HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"X-API-Key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """(status, body bytes) of one HTTP/1.1 response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    length = int(next(v for k, v in headers.items() if k.lower() == "content-length"))
    await reader.readexactly(length)
    return status, length


async def load(
    host: str, port: int, requests: list[bytes], seconds: float
) -> tuple[list[float], dict[int, int], int, float]:
    """Each request in `requests` is one client's, sent in a loop for `seconds`."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sizes: list[int] = []
    deadline = time.perf_counter() + seconds

    async def client(request: bytes) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                status, size = await read_response(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                sizes.append(size)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*[client(request) for request in requests])
    elapsed = time.perf_counter() - started
    return latencies, statuses, max(sizes, default=0), elapsed


def server_cpu_seconds(port: int) -> float:
    """CPU seconds used so far by the server listening on `port` and every process of its
    session (its uvicorn workers): unlike requests/s, barely moved by other load on the cores."""
    leaders = [
        process
        for process in psutil.process_iter(["cmdline"])
        if "app" in (process.info["cmdline"] or []) and str(port) in (process.info["cmdline"] or [])
    ]
    total = 0.0
    for leader in leaders:
        for process in [leader, *leader.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
    return total


def postgres_cpu_seconds(database: str | None) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to `database` (its rows are
    written and read on the same cores as the server); 0 when not known (`--url`)."""
    if database is None:
        return 0.0
    total = 0.0
    for process in psutil.process_iter(["cmdline"]):
        words = " ".join(process.info["cmdline"] or []).split()
        if words[:1] == ["postgres:"] and database in words:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
    return total


async def measure_round(
    base_url: str, clients: int, accounts: int, seconds: float, database: str | None = None
) -> dict:
    url = httpx.URL(base_url)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as setup:
        keys = [(await user_with_api_key(setup))[2] for _ in range(accounts)]
    requests = [simulate_request(url.host, url.port, keys[i % accounts]) for i in range(clients)]
    await load(url.host, url.port, requests, min(3.0, seconds))  # warm pools and connections
    cpu_before, postgres_before = server_cpu_seconds(url.port), postgres_cpu_seconds(database)
    latencies, statuses, size, elapsed = await load(url.host, url.port, requests, seconds)
    cpu_used = server_cpu_seconds(url.port) - cpu_before
    postgres_used = postgres_cpu_seconds(database) - postgres_before
    answered = max(sum(statuses.values()), 1)
    return {
        "requests_per_s": round(statuses.get(200, 0) / elapsed, 1),
        "server_cpu_ms_per_request": round(1000 * cpu_used / answered, 2),
        "postgres_cpu_ms_per_request": round(1000 * postgres_used / answered, 2),
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)),
        "non_200": sum(n for status, n in statuses.items() if status != 200),
        "response_bytes": size,
    }


def summarize(rounds: list[dict]) -> dict:
    return {
        "requests_per_s": statistics.median(r["requests_per_s"] for r in rounds),
        "requests_per_s_rounds": [r["requests_per_s"] for r in rounds],
        "server_cpu_ms_per_request": statistics.median(
            r["server_cpu_ms_per_request"] for r in rounds
        ),
        "postgres_cpu_ms_per_request": statistics.median(
            r["postgres_cpu_ms_per_request"] for r in rounds
        ),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p95_ms": statistics.median(r["p95_ms"] for r in rounds),
        "non_200": sum(r["non_200"] for r in rounds),
        "response_bytes": rounds[-1]["response_bytes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser)
    parser.add_argument("--baseline", help="a commit to compare with, e.g. main or a hash")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=16)
    parser.add_argument(
        "--database-url", default=LOCAL_POSTGRES.rpartition("/")[0] + "/mc_capacity"
    )
    args = parser.parse_args()

    variants = {"current": PROJECT_ROOT}
    if args.baseline:
        variants = {"baseline": export_commit(args.baseline), **variants}
    results: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, root in variants.items():
            database_url = f"{args.database_url}_{name}"
            with running_server(
                args, project_root=root, database_url=database_url, **UNLIMITED
            ) as base_url:
                figures = asyncio.run(
                    measure_round(
                        base_url,
                        args.clients,
                        args.accounts,
                        args.seconds,
                        database=None if args.url else database_url.rpartition("/")[2],
                    )
                )
            print(f"  {name}: {figures}")
            results[name].append(figures)

    figures: dict = {"workers": args.workers, "clients": args.clients, "accounts": args.accounts}
    for name, rounds in results.items():
        figures |= {f"{name}_{k}": v for k, v in summarize(rounds).items()}
    if args.baseline:
        figures["baseline"] = args.baseline
        figures["speedup"] = round(
            figures["current_requests_per_s"] / max(figures["baseline_requests_per_s"], 1e-9), 2
        )
        figures["cpu_per_request_ratio"] = round(
            figures["current_server_cpu_ms_per_request"]
            / max(figures["baseline_server_cpu_ms_per_request"], 1e-9),
            2,
        )
        both = {
            name: figures[f"{name}_server_cpu_ms_per_request"]
            + figures[f"{name}_postgres_cpu_ms_per_request"]
            for name in variants
        }
        figures["server_and_postgres_cpu_per_request_ratio"] = round(
            both["current"] / max(both["baseline"], 1e-9), 2
        )
    report("capacity: POST /api/v1/simulate (spec example), concurrent clients", figures)


if __name__ == "__main__":
    main()
