"""Simulation slots: a per-account cap, a fair queue across accounts, bounded waits, and the
per-account compute budget."""

import asyncio
import threading

import numba
import pytest

from app.services.capacity import SimulationSlots
from app.services.errors import TooManyRequests, Unavailable
from app.services.monte_carlo import engine_threads
from app.services.rate_limit import RateLimiter


class Runs:
    """Blocking work that the test releases: records the order in which runs started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self._gates: dict[str, threading.Event] = {}

    def work(self, name: str) -> str:
        self.started.append(name)
        self._gates.setdefault(name, threading.Event()).wait(10)
        return name

    def finish(self, name: str) -> None:
        self._gates.setdefault(name, threading.Event()).set()

    async def until_started(self, count: int) -> None:
        # The runs start in worker threads: polling is simpler than a thread-safe event here.
        while len(self.started) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def submit(slots: SimulationSlots, runs: Runs, name: str, account: int) -> asyncio.Task:
    return asyncio.create_task(slots.run(runs.work, name, account=account, path_months=1))


async def test_one_account_cannot_take_every_slot() -> None:
    slots, runs = SimulationSlots(2, 5), Runs()
    mine = [submit(slots, runs, f"a{i}", account=1) for i in range(3)]
    await runs.until_started(1)
    await asyncio.sleep(0.05)
    assert runs.started == ["a0"]  # the other slot stays free for other accounts
    theirs = submit(slots, runs, "b0", account=2)
    await runs.until_started(2)
    assert runs.started == ["a0", "b0"]
    for name in ("a0", "a1", "a2", "b0"):
        runs.finish(name)
    assert await asyncio.gather(*mine, theirs) == ["a0", "a1", "a2", "b0"]
    assert slots.in_use == 0


async def test_a_freed_slot_goes_to_the_account_served_longest_ago() -> None:
    slots, runs = SimulationSlots(1, 5, per_account=1), Runs()
    tasks = [submit(slots, runs, f"a{i}", account=1) for i in range(3)]
    await runs.until_started(1)
    tasks += [submit(slots, runs, "b0", account=2), submit(slots, runs, "c0", account=3)]
    await asyncio.sleep(0.02)
    for started, name in enumerate(["a0", "b0", "c0", "a1"], start=2):
        runs.finish(name)
        await runs.until_started(started)
    runs.finish("a2")
    await asyncio.gather(*tasks)
    # a0 ran first; then b and c, queued later, went before a's second and third runs.
    assert runs.started == ["a0", "b0", "c0", "a1", "a2"]


async def test_a_caller_waits_at_most_the_queue_time_then_503_and_no_slot_leaks() -> None:
    slots, runs = SimulationSlots(1, 0.1), Runs()
    first = submit(slots, runs, "a0", account=1)
    await runs.until_started(1)
    with pytest.raises(Unavailable) as busy:
        await slots.run(runs.work, "b0", account=2, path_months=1)
    assert busy.value.retry_after_seconds >= 1
    cancelled = submit(slots, runs, "c0", account=3)
    await asyncio.sleep(0.02)
    cancelled.cancel()
    runs.finish("a0")
    await first
    runs.finish("d0")
    assert await slots.run(runs.work, "d0", account=4, path_months=1) == "d0"
    assert slots.in_use == 0 and runs.started == ["a0", "d0"]


async def test_the_compute_budget_refuses_with_429_and_retry_after_per_account() -> None:
    slots = SimulationSlots(2, 1, limiter=RateLimiter(), path_months_per_minute=1000)
    assert await slots.run(len, "x", account=1, path_months=600) == 1
    with pytest.raises(TooManyRequests) as over:
        await slots.run(len, "x", account=1, path_months=600)
    assert 1 <= over.value.retry_after_seconds <= 60
    assert await slots.run(len, "x", account=2, path_months=600) == 1  # another account
    # A run larger than the whole budget takes a full window rather than never running.
    assert await slots.run(len, "x", account=3, path_months=5000) == 1


async def test_a_lone_run_gets_every_engine_thread_and_concurrent_runs_share_them() -> None:
    cores = numba.config.NUMBA_NUM_THREADS
    slots, runs = SimulationSlots(2, 5), Runs()
    threads: dict[str, int] = {}

    def work(name: str) -> str:
        threads[name] = engine_threads(slots.in_use)
        return runs.work(name)

    alone = asyncio.create_task(slots.run(work, "alone", account=1, path_months=1))
    await runs.until_started(1)
    runs.finish("alone")
    await alone
    both = [
        asyncio.create_task(slots.run(work, name, account=account, path_months=1))
        for account, name in enumerate(("first", "second"))
    ]
    await runs.until_started(3)
    for name in ("first", "second"):
        runs.finish(name)
    await asyncio.gather(*both)
    assert threads["alone"] == cores
    assert threads["second"] == max(1, cores // 2)
    assert engine_threads(10 * cores) == 1
