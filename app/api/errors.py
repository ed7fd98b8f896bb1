"""The one place where exceptions become HTTP answers. Every error body is `{"detail": ...}`."""

import math

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.services import errors

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
    errors.NotAuthenticated: status.HTTP_401_UNAUTHORIZED,
    errors.Forbidden: status.HTTP_403_FORBIDDEN,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.Locked: status.HTTP_423_LOCKED,
    errors.TooManyRequests: status.HTTP_429_TOO_MANY_REQUESTS,
    errors.Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}

# Validation errors echo the offending input; never for these fields.
_SECRET_FIELDS = {"password", "refresh_token", "access_token", "token", "key", "api_key"}


def _status_for(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return status.HTTP_400_BAD_REQUEST


def domain_error_response(error: errors.DomainError) -> JSONResponse:
    code = _status_for(error)
    headers: dict[str, str] = {}
    if error.retry_after_seconds is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_seconds)))
    if code == status.HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"detail": error.message}, status_code=code, headers=headers)


def _json_safe(value: object) -> object:
    """JSON has no NaN or infinity (echoed back as the client spelled them), nor exceptions."""
    if isinstance(value, BaseException):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _client_error(error: dict) -> dict:
    if _SECRET_FIELDS.intersection(str(part) for part in error.get("loc", ())):
        error = {key: value for key, value in error.items() if key != "input"}
    return _json_safe(error)


async def _domain_error_handler(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.DomainError)
    return domain_error_response(error)


async def _validation_error_handler(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse(
        {"detail": [_client_error(item) for item in error.errors()]},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
