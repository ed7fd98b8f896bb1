"""Dependencies the routers share, as named types: `async def me(user: CurrentUser)`."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.config import Settings
from app.database import SessionDep
from app.models import User
from app.security import TokenClaims
from app.services import auth
from app.services.errors import NotAuthenticated
from app.services.rate_limit import RateLimiter

bearer_token = OAuth2PasswordBearer(
    tokenUrl="/auth/token",
    auto_error=False,
    description="Log in with your email as username; the dashboard uses the same JWT.",
)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_client(request: Request) -> auth.ClientInfo:
    user_agent = request.headers.get("user-agent")
    return auth.ClientInfo(
        ip=request.client.host if request.client else None,
        user_agent=user_agent[:200] if user_agent else None,
    )


ClientDep = Annotated[auth.ClientInfo, Depends(get_client)]


@dataclass(frozen=True)
class Authenticated:
    user: User
    claims: TokenClaims


async def get_authenticated(
    db: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(bearer_token)]
) -> Authenticated:
    if not token:
        raise NotAuthenticated("Not authenticated")
    user, claims = await auth.authenticate_access_token(db, settings=settings, token=token)
    return Authenticated(user, claims)


AuthenticatedDep = Annotated[Authenticated, Depends(get_authenticated)]


async def get_current_user(authenticated: AuthenticatedDep) -> User:
    return authenticated.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def limit_per_client_ip(setting: str, scope: str) -> object:
    """A dependency counting each request against the rate limit `setting` for the client's IP."""

    async def check(request: Request, settings: SettingsDep, client: ClientDep) -> None:
        limiter: RateLimiter = request.app.state.rate_limiter
        await limiter.hit(getattr(settings, setting), scope, client.ip or "unknown")

    return Depends(check)
