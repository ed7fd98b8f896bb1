"""What the app's lifespan calls: metrics and traces for its database, and their end."""

from sqlalchemy.ext.asyncio import AsyncEngine

from app.observability import metrics, tracing


def observe_database(engine: AsyncEngine) -> None:
    """Count the engine's connections in use, and trace its statements when tracing is on."""
    metrics.observe_pool(engine)
    tracing.trace_database(engine)


def observability_stopped() -> None:
    """At the end of a worker's lifespan: send the last spans, drop its gauges from the sums."""
    tracing.flush_traces()
    metrics.worker_stopped()
