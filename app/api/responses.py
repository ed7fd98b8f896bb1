"""The error answers a route documents in the OpenAPI document, with their model and headers.

`responses=error_responses(401, 404, 429)` documents those statuses with the one error shape
(`{"detail": ...}`) and the headers that come with them (`Retry-After`, `WWW-Authenticate`).
"""

from typing import Any

from app.schemas.errors import ErrorResponse, ValidationErrorResponse

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "The authentication scheme expected: `Bearer`.",
        "schema": {"type": "string"},
    }
}

DEFAULT_DESCRIPTIONS = {
    401: "Missing, invalid, expired or revoked credentials",
    403: "Authenticated, but not allowed to do this",
    404: "No such resource of yours",
    409: "The request conflicts with the current state",
    413: "Request body larger than MAX_REQUEST_BYTES",
    415: "The body is not in a media type this route reads",
    422: "Invalid request: one entry per offending field",
    423: "Account locked after too many failed logins (see Retry-After)",
    429: "Rate limit reached (see Retry-After)",
    503: "Temporarily unavailable: the database, or a dependency, cannot answer (see Retry-After)",
}
_HEADERS = {401: _WWW_AUTHENTICATE, 423: RETRY_AFTER, 429: RETRY_AFTER, 503: RETRY_AFTER}


def error_responses(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses; `descriptions` override by `s404=...`."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in sorted(codes):
        answer: dict[str, Any] = {
            "model": ValidationErrorResponse if code == 422 else ErrorResponse,
            "description": descriptions.get(f"s{code}", DEFAULT_DESCRIPTIONS[code]),
        }
        if code in _HEADERS:
            answer["headers"] = _HEADERS[code]
        documented[code] = answer
    return documented
