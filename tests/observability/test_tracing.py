"""OpenTelemetry: a request's server span holds its SQL, Redis and engine spans; off when unset."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from app.config import PROJECT_ROOT
from app.observability import tracing
from app.schemas.simulation import SPEC_EXAMPLE
from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import ClientFactory

_provider = TracerProvider()
_exporter = InMemorySpanExporter()
_provider.add_span_processor(SimpleSpanProcessor(_exporter))


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Finished spans, kept in memory; tracing is off again for the tests that follow."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(_provider)  # once per process, as OpenTelemetry allows
    monkeypatch.setattr(tracing, "_provider", None)
    monkeypatch.setattr(tracing, "_tracer", None)
    _exporter.clear()
    yield _exporter
    for instrumentor in (RedisInstrumentor(), SQLAlchemyInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


async def test_a_simulation_is_one_trace_with_sql_redis_and_engine_spans(
    client_factory: ClientFactory, redis_url: str, spans: InMemorySpanExporter
) -> None:
    client = await client_factory(
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", REDIS_URL=redis_url
    )
    _, keys = await keys_of_new_user(client, 2)
    spans.clear()
    response = await client.post(
        "/api/v1/simulate", json=SPEC_EXAMPLE, headers={"X-API-Key": keys[0]["key"]}
    )
    assert response.status_code == 200, response.text

    finished = spans.get_finished_spans()
    by_id = {span.context.span_id: span for span in finished}
    (server,) = [span for span in finished if span.kind == SpanKind.SERVER]
    assert server.name == "POST /api/v1/simulate"
    assert server.attributes["http.route"] == "/api/v1/simulate"
    under_server = [span for span in finished if server in _ancestors(span, by_id)]
    sql = [span for span in under_server if span.attributes.get("db.system") == "postgresql"]
    assert {statement.name.split()[0] for statement in sql} >= {"SELECT", "INSERT"}
    assert any(span.attributes.get("db.system") == "redis" for span in under_server)
    (engine,) = [span for span in finished if span.name == "engine.simulate"]
    assert engine in under_server
    seconds = (engine.end_time - engine.start_time) / 1e9
    assert seconds >= response.json()["execution_time_seconds"]


def test_no_tracing_code_loads_when_no_endpoint_is_set() -> None:
    # FastAPI imports the OpenTelemetry API, and redis-py the SDK's metrics module, whenever
    # they are installed; neither does anything until a provider is set.
    probe = (
        "import sys\n"
        "from opentelemetry import trace\n"
        "from app.main import create_app\n"
        "create_app()\n"
        "kinds = ('opentelemetry.sdk.trace', 'opentelemetry.exporter', 'opentelemetry.instr')\n"
        "loaded = sorted(name for name in sys.modules if name.startswith(kinds))\n"
        "assert not loaded, loaded\n"
        "assert type(trace.get_tracer_provider()).__name__ == 'ProxyTracerProvider'\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        env={**env, "DATA_DIR": str(PROJECT_ROOT / ".data")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
