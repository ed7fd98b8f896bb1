"""Business errors raised by services. `app/api/errors.py` turns each kind into an HTTP answer.

Messages are written for the caller: they are returned as the response's `detail`.
"""


class DomainError(Exception):
    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds


class InvalidInput(DomainError):
    """The request is well-formed but its values cannot be used (e.g. a correlation matrix)."""


class InvalidField(InvalidInput):
    """One field of the request breaks a rule that depends on the service's settings."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class NotAuthenticated(DomainError):
    """Credentials are missing, wrong, expired or revoked."""


class Forbidden(DomainError):
    """Authenticated, but not allowed to do this."""


class NotFound(DomainError):
    """No such resource, or not one the caller may see."""


class Conflict(DomainError):
    """The request breaks a uniqueness or count rule."""


class UnsupportedMediaType(DomainError):
    """The body is not sent in a format the route reads."""


class Locked(DomainError):
    """The account is temporarily locked."""


class TooManyRequests(DomainError):
    """A rate limit was reached."""


class Unavailable(DomainError):
    """A dependency or capacity is unavailable right now; try again later."""
