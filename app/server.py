"""uvicorn, hardened against slow and hostile clients, and the options `python -m app` serves with.

uvicorn's httptools protocol, plus:
- a total header size limit: 431 past MAX_HEADER_BYTES, checked on the bytes as they arrive, so a
  half-sent 32 MB header costs at most the limit and one read, never 32 MB;
- a header-read timeout from the connection (or the request's first byte) to the end of its
  headers, and a body-read timeout from the end of the headers to the end of the body: 408, then
  the connection is closed, so idle or trickling connections (slowloris) cannot pile up;
- a connection cap per worker: connections past MAX_CONNECTIONS_PER_WORKER get a JSON 503 with
  Retry-After at once and are closed.
Every refusal is a small JSON `{"detail": ...}` answer with `Connection: close`.
"""

import asyncio
import json

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings, get_settings


class _HeadersTooLarge(Exception):
    pass


def _refusal(status: int, reason: bytes, detail: str, *extra: bytes) -> bytes:
    body = json.dumps({"detail": detail}).encode()
    head = [
        b"HTTP/1.1 %d %s" % (status, reason),
        b"content-type: application/json",
        b"content-length: %d" % len(body),
        b"connection: close",
        *extra,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """One connection. Limits are read from the settings once per worker process."""

    settings: Settings | None = None

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if GuardedHttpToolsProtocol.settings is None:
            GuardedHttpToolsProtocol.settings = get_settings()
        settings = GuardedHttpToolsProtocol.settings
        self.max_header_bytes = settings.MAX_HEADER_BYTES
        self.header_timeout = settings.HEADER_READ_TIMEOUT_SECONDS
        self.body_timeout = settings.BODY_READ_TIMEOUT_SECONDS
        self.max_connections = settings.MAX_CONNECTIONS_PER_WORKER
        self._reading_headers = True
        self._header_bytes_seen = 0
        self._read_deadline: asyncio.TimerHandle | None = None

    # --- connection --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.logger.warning("connection refused: %d connections open", len(self.connections))
            self._refuse(
                _refusal(
                    503,
                    b"Service Unavailable",
                    "Service temporarily unavailable",
                    b"retry-after: 1",
                )
            )
            return
        self._arm(self.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_headers:
            self._header_bytes_seen += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as error:
            if isinstance(error.__context__, _HeadersTooLarge):
                self._refuse_large_headers()
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        # Headers still incomplete after this read: what arrived so far is all header bytes.
        if self._reading_headers and self._header_bytes_seen > self.max_header_bytes:
            self._refuse_large_headers()

    # --- parser callbacks --------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._read_deadline is None:  # a keep-alive request: its headers are now due
            self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_header_bytes:
            raise _HeadersTooLarge
        self._reading_headers = False
        self._header_bytes_seen = 0
        self._disarm()
        self._arm(self.body_timeout, "body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_headers = True
        super().on_message_complete()

    # --- refusals ----------------------------------------------------------------------------

    def _refuse_large_headers(self) -> None:
        detail = f"Request headers exceed the limit of {self.max_header_bytes} bytes"
        self._refuse(_refusal(431, b"Request Header Fields Too Large", detail))

    def _refuse(self, response: bytes) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()

    def _arm(self, seconds: float, part: str) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(seconds, self._read_timed_out, part)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self, part: str) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        response_started = self.cycle is not None and self.cycle.response_started
        if part == "headers" and self._header_bytes_seen == 0 and self.cycle is None:
            self.transport.close()  # never said anything: nothing to answer
            return
        if response_started:
            self.transport.close()
            return
        self._refuse(_refusal(408, b"Request Timeout", f"Request {part} not received in time"))


def uvicorn_options(settings: Settings) -> dict[str, object]:
    """What `python -m app` passes to uvicorn.run, from the settings."""
    trusted_proxies = ",".join(settings.FORWARDED_ALLOW_IPS)
    return {
        "http": GuardedHttpToolsProtocol,
        # Without a trusted proxy, X-Forwarded-For is the client's word: ignored.
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": trusted_proxies or None,
        "timeout_graceful_shutdown": settings.SHUTDOWN_GRACE_SECONDS,
    }
