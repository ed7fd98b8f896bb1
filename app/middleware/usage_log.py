"""One call-log row per /api/v1 request that presents an API key, whatever its outcome.

The row is handed to the app's CallLogWriter after the response is sent; the writer inserts in
batches. The authenticating dependency leaves the key's identity in the request state; requests
refused before it ran (a body that is not JSON, too large, an unknown path) are resolved from the
presented key's hash when written, and dropped when no valid key matches.
"""

import time
from datetime import UTC, datetime

from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.security import sha256_hex
from app.services.usage import ApiCall, CallLogWriter

API_KEY_IDENTITY = "api_key_identity"  # request.state key: (api_key_id, user_id)
UNMATCHED_ENDPOINT = "(no such endpoint)"


class ApiUsageMiddleware:
    def __init__(self, app: ASGIApp, *, path_prefix: str = "/api/v1/") -> None:
        self.app = app
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        presented = (
            Headers(scope=scope).get("x-api-key")
            if scope["type"] == "http" and scope["path"].startswith(self.path_prefix)
            else None
        )
        if not presented:
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status_code = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            identity = scope.get("state", {}).get(API_KEY_IDENTITY)
            writer: CallLogWriter = scope["app"].state.call_log_writer
            writer.record(
                ApiCall(
                    # The route's template groups calls; unknown paths are one bucket, so
                    # arbitrary paths neither pollute the analytics nor reach the database.
                    endpoint=_route_template(scope),
                    method=scope["method"][:10],
                    status_code=status_code,
                    execution_time_ms=round((time.perf_counter() - started) * 1000, 3),
                    created_at=datetime.now(UTC),
                    api_key_id=identity[0] if identity else None,
                    user_id=identity[1] if identity else None,
                    presented_key_hash=None if identity else sha256_hex(presented),
                )
            )


def _route_template(scope: Scope) -> str:
    """The route template of the request; found by matching when a middleware answered before
    routing (a 413 for a declared Content-Length), so that row keeps its real endpoint."""
    route = scope.get("route")
    if route is not None:
        return route.path
    for candidate in iter_route_contexts(scope["app"].routes):
        if candidate.path and candidate.matches(scope)[0] is Match.FULL:
            return candidate.path
    return UNMATCHED_ENDPOINT
