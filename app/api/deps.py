"""Dependencies the routers share, as named types: `async def me(user: CurrentUser)`.

Every dependency is `async def`, even when it never awaits: FastAPI runs plain `def`
dependencies in a worker thread, a hop that would cost more than the work itself.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from pydantic import BeforeValidator

from app.api.rate_limit_docs import counts_rate_limit
from app.config import Settings
from app.database import SessionDep
from app.middleware.rate_limit_headers import RATE_LIMIT_QUOTA
from app.middleware.usage_log import API_KEY_IDENTITY
from app.models import ApiKey, User
from app.security import TokenClaims
from app.services import api_keys, sessions
from app.services.clients import ClientInfo
from app.services.errors import Forbidden, InvalidField, NotAuthenticated
from app.services.rate_limit import RateLimiter, RateLimitExceeded

bearer_token = OAuth2PasswordBearer(
    tokenUrl="/auth/token",
    auto_error=False,
    description="Log in with your email as username; the dashboard uses the same JWT.",
)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_client(request: Request) -> ClientInfo:
    user_agent = request.headers.get("user-agent")
    return ClientInfo(
        ip=request.client.host if request.client else None,
        user_agent=user_agent[:200] if user_agent else None,
    )


ClientDep = Annotated[ClientInfo, Depends(get_client)]


async def get_rate_limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


@dataclass(frozen=True)
class Authenticated:
    user: User
    claims: TokenClaims


async def get_authenticated(
    db: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(bearer_token)]
) -> Authenticated:
    if not token:
        raise NotAuthenticated("Not authenticated")
    user, claims = await sessions.authenticate_access_token(db, settings=settings, token=token)
    return Authenticated(user, claims)


AuthenticatedDep = Annotated[Authenticated, Depends(get_authenticated)]


async def get_current_user(authenticated: AuthenticatedDep) -> User:
    return authenticated.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def count_request(
    request: Request, limiter: RateLimiter, limit: str, *identifiers: str
) -> None:
    """Count this request against `limit`; its response will carry the RateLimit-* headers."""
    try:
        quota = await limiter.hit(limit, *identifiers)
    except RateLimitExceeded as exceeded:
        setattr(request.state, RATE_LIMIT_QUOTA, exceeded.quota)
        raise
    setattr(request.state, RATE_LIMIT_QUOTA, quota)


def limit_per_client_ip(setting: str, scope: str) -> object:
    """A dependency counting each request against the rate limit `setting` for the client's IP."""

    @counts_rate_limit
    async def check(
        request: Request, settings: SettingsDep, limiter: RateLimiterDep, client: ClientDep
    ) -> None:
        await count_request(request, limiter, getattr(settings, setting), scope, client.address)

    return Depends(check)


async def get_admin_user(user: CurrentUser) -> User:
    if user.role != "admin":
        raise Forbidden("Admin role required")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key from POST /api-keys/generate: `mk_live_...`.",
)


@counts_rate_limit
async def get_current_api_key(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    presented: Annotated[str | None, Security(api_key_header)],
) -> ApiKey:
    """The caller's valid API key (401 otherwise), counted against its rate limit.

    Refused keys count against the same limit per client IP, so guessing keys is throttled.
    """
    limiter: RateLimiter = request.app.state.rate_limiter
    try:
        key = await api_keys.authenticate_key(db, settings=settings, presented=presented or "")
    except NotAuthenticated:
        await count_request(
            request, limiter, settings.API_RATE_LIMIT, "refused-api-key", client.ip or "unknown"
        )
        raise
    setattr(request.state, API_KEY_IDENTITY, (key.id, key.user_id))
    await count_request(request, limiter, settings.API_RATE_LIMIT, "api-key", str(key.id))
    return key


CurrentApiKey = Annotated[ApiKey, Depends(get_current_api_key)]


@dataclass(frozen=True)
class Account:
    """Whose resources a route works on: the caller's user, and the API key when one was used."""

    user_id: int
    api_key_id: int | None = None


_ACCOUNT = "account"  # request.state key, set by the authentication of the router's variant


async def authenticate_with_api_key(request: Request, key: CurrentApiKey) -> None:
    """The /api/v1 variant of an account router: X-API-Key, rate-limited per key."""
    setattr(request.state, _ACCOUNT, Account(user_id=key.user_id, api_key_id=key.id))


@counts_rate_limit
async def authenticate_with_jwt(
    request: Request, user: CurrentUser, settings: SettingsDep, limiter: RateLimiterDep
) -> None:
    """The dashboard variant of an account router: a JWT, rate-limited per user."""
    await count_request(request, limiter, settings.API_RATE_LIMIT, "user", str(user.id))
    setattr(request.state, _ACCOUNT, Account(user_id=user.id))


async def get_current_account(request: Request) -> Account:
    account = getattr(request.state, _ACCOUNT, None)
    if account is None:  # a router included without one of the authentications above
        raise RuntimeError("account route reached without authentication")
    return account


CurrentAccount = Annotated[Account, Depends(get_current_account)]


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _window_bound(moment: datetime | None) -> datetime | None:
    """The moment in UTC, within 1970-9000: a window reaching past that has no more data."""
    if moment is None:
        return None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return min(max(moment, _EARLIEST), _LATEST)


def _iso_8601_only(value: object) -> object:
    # pydantic would read "1700000000" as seconds since 1970; a window is given as a date-time.
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(\.\d*)?\s*", value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]


async def usage_window(
    since: Annotated[
        IsoDateTime | None,
        Query(description="From (inclusive), ISO 8601; default: until - 30 days"),
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="To (exclusive), ISO 8601; default: now")
    ] = None,
) -> tuple[datetime, datetime]:
    """A time window from query parameters; times without a zone are UTC."""
    until = _window_bound(until) or datetime.now(UTC)
    since = _window_bound(since) or max(_EARLIEST, until - timedelta(days=30))
    if since >= until:
        raise InvalidField(("query", "since"), "since must be earlier than until")
    return since, until


UsageWindow = Annotated[tuple[datetime, datetime], Depends(usage_window)]
