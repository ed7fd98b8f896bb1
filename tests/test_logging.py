"""Structured logs: JSON lines in production, readable lines in development, never a secret."""

import io
import json
import logging
import sys

import httpx

from app.logging_config import (
    JsonFormatter,
    ReadableFormatter,
    RepeatedFailureFilter,
    configure_logging,
    request_id_var,
)
from tests.api.test_api_keys import keys_of_new_user


def _format(formatter: logging.Formatter, **extra: object) -> str:
    configure_logging(json_lines=False)  # installs the record factory that adds request ids
    token = request_id_var.set("req-123")
    try:
        record = logging.getLogger("app.test").makeRecord(
            "app.test", logging.INFO, __file__, 1, "GET /health 200", (), None, extra=extra
        )
    finally:
        request_id_var.reset(token)
    return formatter.format(record)


def test_production_logs_are_json_lines_with_the_request_id_and_fields() -> None:
    line = _format(JsonFormatter(), status=200, duration_ms=1.5)
    entry = json.loads(line)
    assert entry["message"] == "GET /health 200"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "app.test"
    assert entry["request_id"] == "req-123"
    assert (entry["status"], entry["duration_ms"]) == (200, 1.5)
    assert "\n" not in line


def test_development_logs_are_readable_lines() -> None:
    line = _format(ReadableFormatter(), status=200)
    assert "GET /health 200" in line
    assert "status=200" in line and "request_id=req-123" in line


def test_readable_lines_cannot_be_forged_through_a_path() -> None:
    configure_logging(json_lines=False)
    record = logging.getLogger("app.access").makeRecord(
        "app.access",
        logging.INFO,
        __file__,
        1,
        "GET %s 404",
        ("/x\n2026 INFO forged",),
        None,
        extra={"path": "/x\n2026 INFO forged"},
    )
    line = ReadableFormatter().format(record)
    assert "\n" not in line
    assert "/x\\x0a2026 INFO forged" in line


def test_configure_logging_replaces_only_its_own_handler() -> None:
    root = logging.getLogger()
    foreign = logging.StreamHandler(io.StringIO())
    root.addHandler(foreign)
    try:
        configure_logging(json_lines=True)
        configure_logging(json_lines=True)
        ours = [h for h in root.handlers if h.get_name() == "app"]
        assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
        assert foreign in root.handlers
    finally:
        root.removeHandler(foreign)
        configure_logging(json_lines=False)


async def test_api_keys_never_reach_the_logs(client: httpx.AsyncClient, caplog) -> None:
    caplog.set_level("DEBUG")
    _, keys = await keys_of_new_user(client, 1)
    key = keys[0]["key"]
    await client.get("/api/v1/api-key", headers={"X-API-Key": key})
    await client.get("/api/v1/api-key?api_key=" + key, headers={"X-API-Key": key + "x"})
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    everything = "\n".join(f"{r.getMessage()} {vars(r)}" for r in server_records)
    assert "/api/v1/api-key" in everything
    assert key not in everything


def test_a_repeated_failure_logs_one_traceback_then_a_count_every_interval() -> None:
    now = [0.0]
    repeated = RepeatedFailureFilter(summary_seconds=10, clock=lambda: now[0])

    def failure(message: str = "database unavailable: %s") -> logging.LogRecord:
        try:
            raise ConnectionRefusedError("refused")
        except ConnectionRefusedError:
            return logging.getLogger("app.test").makeRecord(
                "app.test", logging.WARNING, __file__, 1, message, ("x",), sys.exc_info()
            )

    assert repeated.filter(failure()) is True  # the first: in full
    logged = []
    for _ in range(50):  # 50 more over 25 s
        now[0] += 0.5
        record = failure()
        if repeated.filter(record):
            logged.append(record)
    assert [r.exc_info for r in logged] == [None, None]  # two summaries, no traceback
    assert "repeated 20 times in the last 10 s" in logged[0].getMessage()
    assert repeated.filter(failure("another kind")) is True  # another kind: in full at once
    now[0] += 11  # quiet for longer than the interval: the episode is over
    again = failure()
    assert repeated.filter(again) is True and again.exc_info is not None
    assert "[10 more before this, not logged]" in again.getMessage()
    info = logging.getLogger("app.access").makeRecord(
        "app.access", logging.INFO, __file__, 1, "GET / 200", (), None
    )
    assert all(repeated.filter(info) for _ in range(5))  # the access log is never thinned
