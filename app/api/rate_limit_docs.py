"""The RateLimit-* response headers in the OpenAPI document, on every response of each operation
whose dependencies count a rate limit (marked with `@counts_rate_limit`)."""

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

F = TypeVar("F", bound=Callable[..., Any])

_RATE_LIMITING: set[Callable[..., Any]] = set()

RATE_LIMIT_HEADER_DOCS = {
    "RateLimit-Limit": "Requests allowed in the current window",
    "RateLimit-Remaining": "Requests left in the current window",
    "RateLimit-Reset": "Seconds until the window has room again",
}
RETRY_AFTER_DOC = "Seconds to wait before retrying"


def counts_rate_limit(dependency: F) -> F:
    """Mark a dependency as counting a rate limit: its routes document the RateLimit-* headers."""
    _RATE_LIMITING.add(dependency)
    return dependency


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    yield dependant.call
    for dependency in dependant.dependencies:
        yield from _calls(dependency)


def _rate_limited_operations(app: FastAPI) -> Iterator[tuple[str, str]]:
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is not None and _RATE_LIMITING.intersection(_calls(dependant)):
            for method in route.methods or ():
                yield route.path_format, method.lower()


def _integer_header(description: str) -> dict:
    return {"description": description, "schema": {"type": "integer"}}


def document_rate_limit_headers(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for path, method in _rate_limited_operations(app):
            operation = schema["paths"].get(path, {}).get(method)
            for status, response in (operation or {}).get("responses", {}).items():
                headers = response.setdefault("headers", {})
                for name, description in RATE_LIMIT_HEADER_DOCS.items():
                    headers[name] = _integer_header(description)
                if status == "429":
                    headers["Retry-After"] = _integer_header(RETRY_AFTER_DOC)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
