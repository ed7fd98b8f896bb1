"""Refuse request bodies over a size limit with 413, before they are read in full."""

from collections.abc import Mapping

from fastapi import HTTPException, status
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimitMiddleware:
    """`max_bytes` for every path but those of `limits_by_path`: path -> (bytes, the setting
    named in the answer), e.g. uploads that may be larger than any JSON body."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        limits_by_path: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits_by_path = dict(limits_by_path or {})

    def _limit(self, path: str) -> tuple[int, str | None]:
        return self.limits_by_path.get(path, (self.max_bytes, None))

    @staticmethod
    def _too_large(max_bytes: int, setting: str | None) -> HTTPException:
        named = f" ({setting})" if setting else ""
        return HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"Request body exceeds the limit of {max_bytes} bytes{named}",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        max_bytes, setting = self._limit(scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            error = self._too_large(max_bytes, setting)
            response = JSONResponse({"detail": error.detail}, status_code=error.status_code)
            await response(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # FastAPI re-raises HTTPException from body reading, so this becomes a JSON 413.
                    raise self._too_large(max_bytes, setting)
            return message

        await self.app(scope, limited_receive, send)
