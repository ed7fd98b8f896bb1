"""Behaviour every endpoint shares: health, errors, request ids, headers, docs."""

import base64
import hashlib
import re

import httpx
from fastapi import Body

from app.main import create_app
from tests.conftest import ClientFactory


async def test_health_reports_a_real_database_query(client: httpx.AsyncClient) -> None:
    for path in ("/health", "/api/v1/health"):
        response = await client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "healthy"
        assert body["service"] == "Monte Carlo Simulation"
        assert body["version"] == "1.0.0"
        assert body["components"] == {
            "api": "operational",
            "database": "operational",
            "rate_limiter": "operational",
        }
        assert body["timestamp"]


async def test_health_is_503_unhealthy_when_the_database_is_unreachable(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(DATABASE_URL_ASYNC="postgresql+asyncpg://nobody@127.0.0.1:1/x")
    response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["components"]["database"] == "unavailable"


async def test_root_describes_the_service(client: httpx.AsyncClient) -> None:
    body = (await client.get("/")).json()
    assert body["name"] == "Monte Carlo Simulation"
    assert body["version"] == "1.0.0"
    assert body["docs"] == "/docs"


async def test_unknown_routes_are_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    generated = (await client.get("/health")).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    echoed = await client.get("/health", headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["X-Request-ID"] == "trace-42"
    unsafe = await client.get("/health", headers={"X-Request-ID": "bad id\r\nx"})
    assert unsafe.headers["X-Request-ID"] != "bad id\r\nx"


async def test_unhandled_errors_are_json_500_with_request_id_and_no_trace(
    client_factory: ClientFactory, settings_factory, caplog
) -> None:
    app = create_app(settings_factory())

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    client = await client_factory(app)
    response = await client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body == {"detail": "Internal server error", "request_id": body["request_id"]}
    assert response.headers["X-Request-ID"] == body["request_id"]
    assert "secret internals" not in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)


async def test_access_log_has_one_line_per_request(client: httpx.AsyncClient, caplog) -> None:
    caplog.set_level("INFO", logger="app.access")
    response = await client.get("/health", headers={"X-Request-ID": "log-check"})
    lines = [r for r in caplog.records if r.name == "app.access"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.path, line.status) == ("GET", "/health", response.status_code)
    assert line.request_id == "log-check"
    assert line.duration_ms >= 0


async def test_security_headers_are_on_every_response(client: httpx.AsyncClient) -> None:
    for path in ("/health", "/missing"):
        headers = (await client.get(path)).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in headers


async def test_production_adds_hsts(client_factory: ClientFactory) -> None:
    client = await client_factory(ENVIRONMENT="production")
    assert "max-age=" in (await client.get("/health")).headers["Strict-Transport-Security"]


async def test_cors_allows_configured_origins_only(client_factory: ClientFactory) -> None:
    client = await client_factory(CORS_ORIGINS=["http://localhost:3000"])
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await client.options(
        "/health", headers={"Origin": "http://localhost:3000", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    refused = await client.options("/health", headers={"Origin": "http://evil.test", **preflight})
    assert "access-control-allow-origin" not in refused.headers


async def test_oversized_bodies_get_413_before_being_read(
    client_factory: ClientFactory, settings_factory
) -> None:
    app = create_app(settings_factory(MAX_REQUEST_BYTES=2048))

    @app.post("/echo")
    async def echo(payload: dict = Body(...)) -> dict:
        return payload

    client = await client_factory(app)
    small = await client.post("/echo", json={"a": "b"})
    assert small.status_code == 200
    declared = await client.post("/echo", content=b"{" + b" " * 4096 + b"}")
    assert declared.status_code == 413
    assert "2048" in declared.json()["detail"]

    async def streamed_body():
        for _ in range(8):
            yield b" " * 1024

    chunked = await client.post(
        "/echo", content=streamed_body(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413


async def test_docs_pages_load_their_assets_from_the_service(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert sources
        for source in sources:
            assert source.startswith("/docs-assets/"), source
            asset = await client.get(source)
            assert asset.status_code == 200
            assert "no-store" not in asset.headers.get("Cache-Control", "")


async def test_docs_csp_allows_exactly_the_inline_start_script(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    csp = response.headers["Content-Security-Policy"]
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "script-src 'self' 'sha256-" in csp
    assert "unsafe-eval" not in csp


async def test_openapi_has_title_version_and_tag_descriptions(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["info"]["title"] == "Monte Carlo Simulation"
    assert schema["info"]["version"] == "1.0.0"
    assert all(tag.get("description") for tag in schema["tags"])


async def test_sql_parameters_never_reach_error_logs(client) -> None:
    # A failing statement's text is logged; its parameters (emails, hashes) must not be.
    assert client.app.state.database.engine.sync_engine.hide_parameters
