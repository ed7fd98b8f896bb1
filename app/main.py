"""The app factory: wires settings, middleware, routers and the lifespan. Nothing else."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api import (
    admin,
    api_keys,
    audit,
    auth,
    charts,
    datasets,
    health,
    password,
    sessions,
    simulation,
    two_factor,
)
from app.api import jobs as jobs_api
from app.api import metrics as metrics_api
from app.api.dashboard import mount_dashboard
from app.api.datasets import dataset_upload_limits
from app.api.docs import DOCS_ASSETS_URL, mount_docs
from app.api.errors import register_error_handlers
from app.api.rate_limit_docs import document_rate_limit_headers
from app.api.routing import include_account_router, operation_id
from app.charts import warm_up as warm_up_charts
from app.config import APP_VERSION, Settings, get_settings
from app.database import Database
from app.engine import warm_up
from app.logging_config import configure_logging
from app.middleware.body_size import BodySizeLimitMiddleware
from app.middleware.rate_limit_headers import RATE_LIMIT_HEADERS, RateLimitHeadersMiddleware
from app.middleware.request_context import RequestContextMiddleware
from app.middleware.security_headers import SecurityHeadersMiddleware
from app.middleware.usage_log import ApiUsageMiddleware
from app.observability.lifecycle import observability_stopped, observe_database
from app.observability.tracing import fastapi_telemetry
from app.security import password_hasher
from app.services.capacity import SimulationSlots
from app.services.hashing import run_hashing
from app.services.job_queue import JobQueue
from app.services.periodic import BackgroundJobs
from app.services.rate_limit import RateLimiter
from app.services.usage import CallLogWriter

logger = logging.getLogger("app")

DESCRIPTION = """
Monte Carlo portfolio-risk simulation as a service.

* **Dashboard** endpoints (`/auth/*`, `/api-keys/*`) take a JWT: `Authorization: Bearer <token>`.
* **Programmatic** endpoints (`/api/v1/*`) take an API key: `X-API-Key: mk_live_...`.
  The dashboard reaches the same simulation routes without the `/api/v1` prefix, with a JWT
  (operation ids ending in `_dashboard`).

Every error answers `{"detail": ...}`; every response carries an `X-Request-ID`.
"""

TAGS = [
    {
        "name": "auth",
        "description": "Accounts and JWT sessions for the dashboard. Swagger's Authorize button "
        "logs in through `/auth/token` (username = email).",
    },
    {
        "name": "api-keys",
        "description": "API keys for scripts (JWT to manage them; at least 2 and at most 10 "
        "active, 30-day expiry), and your usage.",
    },
    {
        "name": "simulations",
        "description": "Monte Carlo simulations of a portfolio, saved per account (API key "
        "under /api/v1; the same routes with a JWT without the prefix, for the dashboard).",
    },
    {
        "name": "jobs",
        "description": "Simulations run in the background on the job workers and their Dask "
        "cluster (up to 100M paths): start, follow, cancel. API key under /api/v1, JWT without.",
    },
    {
        "name": "datasets",
        "description": "Your own monthly histories, uploaded as CSV, to simulate on with "
        '`data_source: "dataset"` (estimates, or the bootstrap). API key under /api/v1, JWT '
        "without.",
    },
    {
        "name": "admin",
        "description": "Usage analytics, the audit trail and account status across all users "
        "(admin role).",
    },
    {"name": "health", "description": "Service information and health checks for load balancers."},
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Starting the embedded PostgreSQL blocks for a moment: keep it off the event loop.
    database = await asyncio.to_thread(Database.from_settings, settings)
    app.state.database = database
    observe_database(database.engine)
    app.state.rate_limiter = RateLimiter(
        settings.REDIS_URL,
        socket_timeout_seconds=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        open_seconds=settings.RATE_LIMIT_FALLBACK_SECONDS,
    )
    call_log_writer = CallLogWriter(database.sessionmaker)
    call_log_writer.start()
    app.state.call_log_writer = call_log_writer
    background_jobs = BackgroundJobs(database, settings)
    background_jobs.start()
    app.state.task_worker = background_jobs.task_worker
    # The first login for an unknown email must take as long as any other.
    await run_hashing(password_hasher(settings.BCRYPT_ROUNDS).verify_dummy, "warm-up")
    # Load the compiled engine now, so the first request is as fast as the rest; refuse to
    # start when Numba has no thread-safe layer (concurrent simulations would abort the process).
    threading_layer = await asyncio.to_thread(warm_up)
    logger.info("engine ready", extra={"numba_threading_layer": threading_layer})
    app.state.simulation_slots = SimulationSlots(
        settings.SIMULATION_MAX_CONCURRENCY,
        settings.SIMULATION_QUEUE_SECONDS,
        per_account=settings.SIMULATION_SLOTS_PER_ACCOUNT,
        limiter=app.state.rate_limiter,
        path_months_per_minute=settings.SIMULATION_BUDGET_PATH_MONTHS,
    )
    await asyncio.to_thread(warm_up_charts)
    app.state.chart_slots = SimulationSlots(
        settings.CHART_MAX_CONCURRENCY,
        settings.CHART_QUEUE_SECONDS,
        work="chart rendering",
    )
    app.state.job_queue = JobQueue(settings)
    try:
        yield
    finally:
        await app.state.job_queue.close()
        await background_jobs.close()
        await call_log_writer.close()
        await database.dispose()
        observability_stopped()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(json_lines=settings.is_production, level=settings.LOG_LEVEL)

    app = FastAPI(
        title=settings.APP_NAME,
        version=APP_VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=fastapi_telemetry(settings),
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings

    register_error_handlers(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(sessions.router)
    app.include_router(password.router)
    app.include_router(two_factor.router)
    app.include_router(api_keys.router)
    app.include_router(api_keys.current_key_router)
    include_account_router(app, simulation.router)
    app.include_router(audit.router)
    include_account_router(app, charts.router)
    include_account_router(app, jobs_api.router)
    include_account_router(app, datasets.router)
    app.include_router(admin.router)
    app.include_router(audit.admin_router)
    app.include_router(metrics_api.router)
    mount_docs(app)
    mount_dashboard(app)
    document_rate_limit_headers(app)

    # Added innermost first: a request meets security headers, request context, usage log,
    # CORS, the body-size limit, then the rate-limit headers.
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.MAX_REQUEST_BYTES,
        limits_by_path=dataset_upload_limits(settings.MAX_DATASET_BYTES),
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.CORS_ORIGINS,
        allow_credentials="*" not in settings.CORS_ORIGINS,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID", "Retry-After", "Idempotent-Replayed", *RATE_LIMIT_HEADERS],
    )
    app.add_middleware(ApiUsageMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(
        SecurityHeadersMiddleware,
        hsts=settings.is_production,
        cacheable_prefixes=(DOCS_ASSETS_URL,),
    )
    return app


app = create_app()
