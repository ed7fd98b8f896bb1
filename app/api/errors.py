"""The one place where exceptions become HTTP answers. Every error body is `{"detail": ...}`."""

import logging
import math

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from app import database
from app.middleware.rate_limit_headers import quota_headers
from app.services import errors
from app.services.rate_limit import RateLimitExceeded

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
    errors.NotAuthenticated: status.HTTP_401_UNAUTHORIZED,
    errors.Forbidden: status.HTTP_403_FORBIDDEN,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.UnsupportedMediaType: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    errors.Locked: status.HTTP_423_LOCKED,
    errors.TooManyRequests: status.HTTP_429_TOO_MANY_REQUESTS,
    errors.Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}

# Validation errors echo the offending input; never for these fields.
_SECRET_FIELDS = {
    "password",
    "current_password",
    "new_password",
    "refresh_token",
    "access_token",
    "challenge_token",
    "token",
    "code",
    "key",
    "api_key",
}
_ECHO_LIMIT = 200  # characters of an offending string value echoed back
MAX_ERRORS_LISTED = 50  # a body with 30,000 unknown keys must not get a 3 MB answer
# What FastAPI answers (400) when a body cannot be decoded at all, e.g. JSON nested too deep.
_UNPARSABLE_BODY = "There was an error parsing the body"
UNAVAILABLE = "Service temporarily unavailable"
DATABASE_RETRY_AFTER_SECONDS = 5


def _status_for(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return status.HTTP_400_BAD_REQUEST


async def _domain_error_handler(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.DomainError)
    code = _status_for(error)
    headers: dict[str, str] = {}
    if error.retry_after_seconds is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_seconds)))
    if isinstance(error, RateLimitExceeded):  # its own quota, whichever limit was reached
        headers |= quota_headers(error.quota)
    if code == status.HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    detail: object = error.message
    if isinstance(error, errors.InvalidInput):  # one shape for every 422: a list of field errors
        loc = list(error.loc) if isinstance(error, errors.InvalidField) else ["body"]
        detail = [{"type": "value_error", "loc": loc, "msg": error.message}]
    return JSONResponse({"detail": detail}, status_code=code, headers=headers)


def _text(value: str | bytes) -> str:
    """A string any JSON encoder accepts: bytes decoded, lone surrogates replaced, bounded."""
    if isinstance(value, bytes):
        value = value[: _ECHO_LIMIT * 4].decode("utf-8", errors="replace")
    return value.encode("utf-8", errors="replace").decode("utf-8")[:_ECHO_LIMIT]


def _scalar(value: object) -> object:
    """A JSON scalar for one value of a validation error; containers are not echoed."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        # JSON has no NaN or infinity: echo them back as the client spelled them.
        if math.isnan(value):
            return "NaN"
        return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str | bytes):
        return _text(value)
    return None if isinstance(value, dict | list | tuple) else _text(str(value))


def _client_error(error: dict) -> dict:
    """One entry of a 422, shaped as app.schemas.errors.FieldError (`msg` already names the
    constraint, so pydantic's free-form `ctx` is not passed on)."""
    loc = [part if isinstance(part, int) else _text(str(part)) for part in error.get("loc", ())]
    rendered: dict[str, object] = {
        "type": error.get("type", "value_error"),
        "loc": loc,
        "msg": _text(str(error.get("msg", ""))),
    }
    if "input" in error and not _SECRET_FIELDS.intersection(map(str, loc)):
        echoed = _scalar(error["input"])
        if echoed is not None or error["input"] is None:
            rendered["input"] = echoed
    return rendered


async def _validation_error_handler(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    body: dict[str, object] = {"detail": [_client_error(p) for p in problems[:MAX_ERRORS_LISTED]]}
    if len(problems) > MAX_ERRORS_LISTED:
        body["error_count"] = len(problems)  # the first MAX_ERRORS_LISTED are listed
    return JSONResponse(body, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _allowed_methods(app: FastAPI, path: str) -> str:
    """Every method some route answers at `path`: Starlette names only the first route's, and
    GET and DELETE of one path are two routes."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        if route.methods and compile_path(route.path_format)[0].match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


async def _http_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        allowed = _allowed_methods(request.app, request.url.path)
        return JSONResponse(
            {"detail": "Method Not Allowed"},
            status_code=error.status_code,
            headers={"Allow": allowed},
        )
    if error.status_code == status.HTTP_400_BAD_REQUEST and error.detail == _UNPARSABLE_BODY:
        unparsable = {"type": "json_invalid", "loc": ["body"], "msg": "The body is not valid JSON"}
        return JSONResponse(
            {"detail": [unparsable]}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    return await http_exception_handler(request, error)


async def _database_error_handler(_: Request, error: Exception) -> JSONResponse:
    """A database that is down, frozen or overloaded is a 503 to retry, never a 500."""
    if not database.is_unavailable(error):
        raise error
    logger.warning("database unavailable: %s", type(error).__name__, exc_info=error)
    return JSONResponse(
        {"detail": UNAVAILABLE},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain_error_handler)
    for kind in (DBAPIError, PoolTimeoutError, OSError):
        app.add_exception_handler(kind, _database_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(HTTPException, _http_error_handler)
