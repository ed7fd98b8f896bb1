"""Faults under load: the database stopped, then frozen, then Redis frozen, while clients keep
calling the service; statuses and latencies per phase, log bytes, call-log rows sent vs logged.

    python -m benchmarks.faults [--baseline REF] [--clients 8] [--workers 2] [--phase-seconds 10]

The service runs as production runs it (`python -m app`), with its default timeouts, on a
PostgreSQL and a Redis of the benchmark's own (free ports, removed afterwards: the shared servers
are never touched). Each client loops over `POST /api/v1/simulate` (spec example), `GET
/api/v1/api-key` and `POST /auth/login`, with its own account; a prober reads `/health` four times a
second. The phases: normal, db_stopped (`pg_ctl stop -m immediate`), db_restarted, db_frozen
(SIGSTOP on every PostgreSQL process), db_thawed, redis_frozen (SIGSTOP), redis_thawed. A request
counts in the phase it started in; one not answered within `--request-timeout` counts as
`timeout`. After the run the server gets SIGTERM (it writes the call logs it holds), then the
`/api/v1/*` requests that got an answer are compared with the rows in `api_call_logs`. With
`--baseline`, an older commit (exported with `git archive`) runs the same schedule first, on its
own database: before and after in one run.
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
from redis import Redis

from app.schemas.simulation import SPEC_EXAMPLE
from benchmarks.server import (
    PASSWORD,
    PROJECT_ROOT,
    add_server_arguments,
    export_commit,
    ms,
    percentile,
    running_server,
    user_with_api_key,
)
from tests.faults.services import ThrowawayPostgres, ThrowawayRedis

# Lifted so that only the faults refuse requests.
UNLIMITED = {
    "API_RATE_LIMIT": "1000000/minute",
    "SIMULATION_BUDGET_PATH_MONTHS": "1000000000000000",
    "BCRYPT_ROUNDS": "4",
}


class Schedule:
    """The phase now running; requests are attributed to the phase they start in."""

    def __init__(self) -> None:
        self.phase = "setup"
        self.done = False


class Tally:
    """Statuses and latencies per phase, plus the `/api/v1/*` requests answered."""

    def __init__(self) -> None:
        self.statuses: dict[str, Counter] = {}
        self.by_endpoint: dict[str, Counter] = {}
        self.latencies: dict[str, list[float]] = {}
        self.health: dict[str, Counter] = {}
        self.api_answered = 0
        self.pool_checked_out_after: float | None = None

    def add(self, phase: str, endpoint: str, outcome: str, seconds: float) -> None:
        self.statuses.setdefault(phase, Counter())[outcome] += 1
        self.by_endpoint.setdefault(phase, Counter())[f"{endpoint} {outcome}"] += 1
        self.latencies.setdefault(phase, []).append(seconds)


async def client_loop(
    base_url: str, email: str, key: str, schedule: Schedule, tally: Tally, wait_seconds: float
) -> None:
    requests: list[tuple[str, str, dict]] = [
        ("POST", "/api/v1/simulate", {"json": SPEC_EXAMPLE, "headers": {"X-API-Key": key}}),
        ("GET", "/api/v1/api-key", {"headers": {"X-API-Key": key}}),
        ("POST", "/auth/login", {"json": {"email": email, "password": PASSWORD}}),
    ]
    async with httpx.AsyncClient(base_url=base_url, timeout=wait_seconds) as client:
        while not schedule.done:
            for method, url, arguments in requests:
                phase, started = schedule.phase, time.perf_counter()
                try:
                    response = await client.request(method, url, **arguments)
                    outcome = str(response.status_code)
                    tally.api_answered += url.startswith("/api/v1/")
                except httpx.TimeoutException:
                    outcome = "timeout"
                except httpx.HTTPError:
                    outcome = "connection_error"
                tally.add(phase, f"{method} {url}", outcome, time.perf_counter() - started)


async def health_prober(base_url: str, schedule: Schedule, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while not schedule.done:
            phase = schedule.phase
            try:
                response = await client.get("/health")
                limiter = response.json().get("components", {}).get("rate_limiter", "-")
                outcome = f"{response.status_code} rate_limiter={limiter}"
            except (httpx.HTTPError, ValueError):
                outcome = "no answer"
            tally.health.setdefault(phase, Counter())[outcome] += 1
            await asyncio.sleep(0.25)


def phases(
    postgres: ThrowawayPostgres, redis: ThrowawayRedis, seconds: float
) -> list[tuple[str, Callable[[], None], float]]:
    """(name, what starts it, how long it lasts)."""
    recovery = max(seconds / 2, 5)
    return [
        ("normal", lambda: None, recovery),
        ("db_stopped", postgres.stop, seconds),
        ("db_restarted", postgres.start, recovery),
        ("db_frozen", postgres.freeze, seconds),
        ("db_thawed", postgres.thaw, recovery),
        ("redis_frozen", redis.freeze, seconds),
        ("redis_thawed", redis.thaw, recovery),
    ]


async def run_schedule(
    base_url: str,
    postgres: ThrowawayPostgres,
    redis: ThrowawayRedis,
    log_path: Path,
    args: argparse.Namespace,
) -> tuple[Tally, dict[str, int]]:
    """Load the server through every phase; return the tally and the log bytes per phase."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as setup:
        users = [await user_with_api_key(setup) for _ in range(args.clients)]
    schedule, tally = Schedule(), Tally()
    tasks = [
        asyncio.create_task(
            client_loop(base_url, email, key, schedule, tally, args.request_timeout)
        )
        for email, _, key in users
    ]
    tasks.append(asyncio.create_task(health_prober(base_url, schedule, tally)))
    log_bytes: dict[str, int] = {}
    for name, begin, seconds in phases(postgres, redis, args.phase_seconds):
        await asyncio.to_thread(begin)
        schedule.phase = name
        logged_before = await asyncio.to_thread(os.path.getsize, log_path)
        await asyncio.sleep(seconds)
        log_bytes[name] = await asyncio.to_thread(os.path.getsize, log_path) - logged_before
    schedule.done = True
    await asyncio.gather(*tasks)
    await asyncio.sleep(1)  # the last answers' connections go back to their pools
    tally.pool_checked_out_after = await pool_checked_out(base_url)
    return tally, log_bytes


async def pool_checked_out(base_url: str) -> float | None:
    """Connections the workers still hold out of their pools, from `/metrics` (None without)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        answer = await client.get("/metrics")
    if answer.status_code != 200:
        return None
    for line in answer.text.splitlines():
        if line.startswith("mc_db_pool_checked_out_connections"):
            return float(line.split()[-1])
    return None


async def call_log_rows(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval("SELECT count(*) FROM api_call_logs")
    finally:
        await connection.close()


def phase_figures(tally: Tally, log_bytes: dict[str, int], log_text: str) -> dict:
    figures = {}
    for phase, statuses in tally.statuses.items():
        if phase == "setup":
            continue
        latencies = tally.latencies[phase]
        figures[phase] = {
            "requests": sum(statuses.values()),
            "statuses": dict(sorted(statuses.items())),
            "by_endpoint": dict(sorted(tally.by_endpoint[phase].items())),
            "p50_ms": ms(percentile(latencies, 50)),
            "p95_ms": ms(percentile(latencies, 95)),
            "max_ms": ms(max(latencies)),
            "health": dict(sorted(tally.health.get(phase, Counter()).items())),
            "log_bytes": log_bytes.get(phase, 0),
        }
    figures["log_tracebacks"] = log_text.count("Traceback (most recent call last)")
    return figures


def run_variant(
    name: str, root: Path, postgres: ThrowawayPostgres, redis: ThrowawayRedis, args
) -> dict:
    postgres.ensure_running()
    redis.ensure_running()
    Redis.from_url(redis.url).flushdb()
    database_url = postgres.url.rpartition("/")[0] + f"/faults_{name}"
    log_path = Path(args.log_dir) / f"faults-{name}.log"
    with running_server(
        args,
        project_root=root,
        database_url=database_url,
        log_path=log_path,
        REDIS_URL=redis.url,
        **UNLIMITED,
    ) as base_url:
        tally, log_bytes = asyncio.run(run_schedule(base_url, postgres, redis, log_path, args))
    # The server has exited on SIGTERM, having written the call logs it held.
    figures = phase_figures(tally, log_bytes, log_path.read_text(errors="replace"))
    rows = asyncio.run(call_log_rows(database_url))
    figures["call_logs"] = {
        "api_requests_answered": tally.api_answered,
        "rows_logged": rows,
        "rows_lost": max(tally.api_answered - rows, 0),
    }
    figures["log_bytes_total"] = log_path.stat().st_size
    figures["pool_checked_out_after_run"] = tally.pool_checked_out_after
    return figures


def print_table(name: str, figures: dict) -> None:
    print(f"== {name}")
    for phase, row in figures.items():
        if isinstance(row, dict) and "statuses" in row:
            print(
                f"  {phase:<13} n={row['requests']:<6} p50={row['p50_ms']:>9} ms "
                f"p95={row['p95_ms']:>9} ms max={row['max_ms']:>9} ms log={row['log_bytes']:>9} B "
                f"{row['statuses']} health={row['health']}"
            )
    print(
        f"  call logs: {figures['call_logs']}, tracebacks: {figures['log_tracebacks']}, "
        f"pool connections checked out after the run: {figures['pool_checked_out_after_run']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser, workers=2)
    parser.add_argument("--baseline", help="a commit to compare with, e.g. 48cb431")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--phase-seconds", type=float, default=10)
    parser.add_argument("--request-timeout", type=float, default=30)
    parser.add_argument(
        "--log-dir", default=tempfile.gettempdir(), help="where the servers' logs are written"
    )
    args = parser.parse_args()
    if args.url:
        parser.error("the fault run starts its own server (it owns the database it stops)")

    variants = {"current": PROJECT_ROOT}
    if args.baseline:
        variants = {"baseline": export_commit(args.baseline), **variants}
    postgres, redis = ThrowawayPostgres(), ThrowawayRedis()
    results: dict = {"workers": args.workers, "clients": args.clients}
    try:
        for name, root in variants.items():
            results[name] = run_variant(name, root, postgres, redis, args)
            print_table(name, results[name])
    finally:
        redis.stop()
        postgres.remove()
    if args.baseline:
        results["baseline_commit"] = args.baseline
    print(json.dumps(results))


if __name__ == "__main__":
    main()
