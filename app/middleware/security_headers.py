"""Security headers on every response.

Routes that need a looser Content-Security-Policy (the docs pages) set their own; this fills in
the strict default everywhere else. Redirects to this service (Starlette's trailing-slash ones)
are made relative: their absolute form would repeat whatever `Host` the client sent.
"""

from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeadersMiddleware:
    def __init__(
        self, app: ASGIApp, *, hsts: bool, cacheable_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.hsts = hsts
        self.cacheable_prefixes = cacheable_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(self.cacheable_prefixes)
        host = Headers(scope=scope).get("host", "").lower()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers.setdefault("Content-Security-Policy", API_CONTENT_SECURITY_POLICY)
                if not cacheable:
                    # Tokens, keys and results are per user: no cache may keep them, unless
                    # the route says how (chart images: private, with an ETag).
                    headers.setdefault("Cache-Control", "no-store")
                if self.hsts:
                    headers["Strict-Transport-Security"] = HSTS
                if "location" in headers:
                    headers["Location"] = _relative_to(host, headers["location"])
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _relative_to(host: str, location: str) -> str:
    """`location` without scheme and host when it points at `host` (the request's own)."""
    parts = urlsplit(location)
    if not parts.netloc or parts.netloc.lower() != host:
        return location
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
