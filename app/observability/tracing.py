"""OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: a server span per request,
with the SQL statements, Redis commands and the engine run as its children.

FastAPI makes the server spans itself (its native telemetry, which imports the OpenTelemetry
API in any case). When the endpoint is unset, neither the SDK, an exporter nor an
instrumentation is imported: those imports sit in functions that run only once tracing is on,
and `traced` costs one comparison.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from fastapi.telemetry import TelemetryConfig

from app.config import APP_VERSION, Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer
    from sqlalchemy.ext.asyncio import AsyncEngine

P = ParamSpec("P")
T = TypeVar("T")

SERVICE_NAME = "monte-carlo-saas"
# Set once tracing is configured: OpenTelemetry's provider is one per process.
_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def fastapi_telemetry(settings: Settings) -> TelemetryConfig:
    """FastAPI's own OpenTelemetry settings: a server span per request when a collector is set,
    and the Redis commands traced too. Metrics are Prometheus' and logs our own, never OTel's."""
    global _provider, _tracer
    off: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
    if not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return off
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    _provider = _installed_provider(settings.OTEL_EXPORTER_OTLP_ENDPOINT)
    _tracer = _provider.get_tracer("app.engine", APP_VERSION)
    redis = RedisInstrumentor()
    if not redis.is_instrumented_by_opentelemetry:
        redis.instrument(tracer_provider=_provider)
    return {**off, "tracing": True, "tracer_provider": _provider}


def trace_database(engine: AsyncEngine) -> None:
    """Trace the SQL statements of `engine` (the app's database, created in its lifespan)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    instrumentor = SQLAlchemyInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()  # one traced engine per process: the newest app's
    # Its declared range ends below SQLAlchemy 2.1, whose engine events it hooks are unchanged
    # (tests/observability/test_tracing.py checks the statements' spans).
    instrumentor.instrument(
        engine=engine.sync_engine, tracer_provider=_provider, skip_dep_check=True
    )


def flush_traces() -> None:
    if _provider is not None:
        _provider.force_flush()


def traced(name: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Run the function in a span called `name` when tracing is on (also in worker threads:
    they inherit the request's context)."""

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            if _tracer is None:
                return function(*args, **kwargs)
            with _tracer.start_as_current_span(name):
                return function(*args, **kwargs)

        return run

    return decorate


def _installed_provider(endpoint: str) -> TracerProvider:
    """The process's tracer provider: one already installed (by `opentelemetry-instrument`, or
    a test), else a new one that batches spans to `endpoint` over OTLP/HTTP."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", SERVICE_NAME),
            "service.version": APP_VERSION,
        }
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider
