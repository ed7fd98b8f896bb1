"""Prometheus metrics: every series the service exposes, and the small hooks that feed them.

Under `python -m app serve` each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode) and /metrics adds up every worker; gauges count the
workers that are alive. Without that variable (tests, a single `uvicorn`), values are in memory.
"""

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.exposition import choose_encoder
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Scope

from app.observability.metrics_dir import VARIABLE

# Requests answered before routing: unknown paths, bodies refused before they reached a route.
UNROUTED = "(unrouted)"
# Methods outside this set are one label value: clients cannot grow the series without bound.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

disable_created_metrics()  # the *_created series double the output and no dashboard reads them

HTTP_REQUESTS = Counter(
    "mc_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "mc_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, in seconds.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SIMULATIONS = Counter("mc_simulations", "Simulations computed by the engine.")
SIMULATION_DURATION = Histogram(
    "mc_simulation_duration_seconds",
    "Engine time of one simulation (paths and metrics), in seconds.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SIMULATION_PATHS = Counter("mc_simulation_paths", "Monte Carlo paths simulated.")
JOBS_CREATED = Counter("mc_jobs_created", "Simulation jobs queued (POST /jobs).")
JOBS_CANCELLED = Counter("mc_jobs_cancelled", "Simulation jobs cancelled through the API.")
SLOTS = Gauge(
    "mc_slots",
    "Runs of this work (simulation, chart rendering) that may go at once, summed over workers.",
    ["work"],
    multiprocess_mode="livesum",
)
SLOTS_IN_USE = Gauge(
    "mc_slots_in_use",
    "Runs of this work going now, summed over workers.",
    ["work"],
    multiprocess_mode="livesum",
)
SLOTS_BUSY = Counter(
    "mc_slots_busy",
    "Requests answered 503 because no slot of this work freed up in time.",
    ["work"],
)
CALL_LOG_PENDING = Gauge(
    "mc_call_log_pending_rows",
    "API call-log rows recorded and not yet written to the database.",
    multiprocess_mode="livesum",
)
CALL_LOG_FLUSH_FAILURES = Counter(
    "mc_call_log_flush_failures",
    "Call-log inserts that failed (rows kept when the database is unreachable).",
)
CALL_LOG_DROPPED = Counter(
    "mc_call_log_dropped_rows",
    "Call-log rows lost: refused by the database, backlog full, or unwritten at shutdown.",
    ["reason"],
)
LOGIN_FAILURES = Counter(
    "mc_login_failures",
    "Refused sign-ins: bad_credentials, locked (account locked out) or disabled.",
    ["reason"],
)
ACCOUNT_LOCKOUTS = Counter("mc_account_lockouts", "Accounts locked after repeated failures.")
DB_POOL_CHECKED_OUT = Gauge(
    "mc_db_pool_checked_out_connections",
    "Database connections in use (checked out of the pools), summed over workers.",
    multiprocess_mode="livesum",
)

_SECURITY_EVENT_COUNTERS = {
    "login_failed": LOGIN_FAILURES.labels("bad_credentials"),
    "login_refused_locked": LOGIN_FAILURES.labels("locked"),
    "login_refused_disabled": LOGIN_FAILURES.labels("disabled"),
    "account_locked": ACCOUNT_LOCKOUTS,
}


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count one answered request under its route's template (`/simulations/{simulation_id}`)."""
    route = scope.get("route")
    method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
    labels = (route.path if route is not None else UNROUTED, method, str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_REQUEST_DURATION.labels(*labels).observe(seconds)


def observe_simulation(*, seconds: float, paths: int) -> None:
    SIMULATIONS.inc()
    SIMULATION_DURATION.observe(seconds)
    SIMULATION_PATHS.inc(paths)


def observe_security_event(event_name: str) -> None:
    counter = _SECURITY_EVENT_COUNTERS.get(event_name)
    if counter is not None:
        counter.inc()


def observe_pool(engine: AsyncEngine) -> None:
    """Follow the engine's pool as connections go out and come back.

    The pool's own count, not one kept here: a connection that failed to open is checked in
    without having been checked out. At checkin the connection is still counted as out.
    """
    sync_engine = engine.sync_engine

    def checked_out(returning: int) -> None:
        DB_POOL_CHECKED_OUT.set(sync_engine.pool.checkedout() - returning)

    event.listen(sync_engine, "checkout", lambda *_: checked_out(0))
    event.listen(sync_engine, "checkin", lambda *_: checked_out(1))


def worker_stopped() -> None:
    """Drop this worker's gauges from the sums (its counters stay counted)."""
    if os.environ.get(VARIABLE):
        multiprocess.mark_process_dead(os.getpid())


def exposition(accept: str | None) -> tuple[bytes, str]:
    """Every worker's metrics in the format the scraper accepts (Prometheus text by default,
    OpenMetrics when asked), and its content type."""
    registry = REGISTRY
    if os.environ.get(VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type
