"""RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds) on every response of a
rate-limited route, from the quota its rate-limit dependency left in the request state."""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.services.rate_limit import Quota

RATE_LIMIT_QUOTA = "rate_limit_quota"  # request.state key: the Quota counted for this request
RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def quota_headers(quota: Quota) -> dict[str, str]:
    values = (quota.limit, quota.remaining, quota.reset_seconds)
    return dict(zip(RATE_LIMIT_HEADERS, map(str, values), strict=True))


class RateLimitHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota = scope.get("state", {}).get(RATE_LIMIT_QUOTA)
                if quota is not None:
                    headers = MutableHeaders(scope=message)
                    for name, value in quota_headers(quota).items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_quota)
