from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import (
    AuthenticatedDep,
    ClientDep,
    CurrentUser,
    RateLimiterDep,
    SettingsDep,
    limit_per_client_ip,
)
from app.database import SessionDep
from app.schemas.auth import LoginRequest, LogoutResponse, RefreshRequest, TokenResponse
from app.schemas.user import UserRegister, UserResponse, normalize_email
from app.services import accounts, auth, sessions
from app.services.sessions import IssuedTokens

router = APIRouter(prefix="/auth", tags=["auth"])

_LOGIN_LIMIT = limit_per_client_ip("LOGIN_RATE_LIMIT", "login")
_ERRORS = {
    401: {"description": "Wrong credentials, or an invalid, expired or revoked token"},
    423: {"description": "Too many failed sign-ins from your address (see Retry-After)"},
    429: {"description": "Rate limit of your address or of the account (see Retry-After)"},
}


def _token_response(tokens: IssuedTokens) -> TokenResponse:
    return TokenResponse(
        access_token=tokens.access_token,
        expires_in=tokens.access_expires_in,
        refresh_token=tokens.refresh_token,
        refresh_expires_in=tokens.refresh_expires_in,
    )


@router.post(
    "/register",
    summary="Create an account",
    status_code=status.HTTP_201_CREATED,
    response_model=UserResponse,
    dependencies=[limit_per_client_ip("AUTH_RATE_LIMIT", "register")],
    responses={409: {"description": "Email already registered"}, 429: _ERRORS[429]},
)
async def register(
    body: UserRegister, db: SessionDep, settings: SettingsDep, client: ClientDep
) -> UserResponse:
    """Create an account. Passwords: 8+ characters, upper- and lower-case letters and a digit."""
    user = await accounts.register_user(
        db,
        settings=settings,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        company=body.company,
        client=client,
    )
    return UserResponse.model_validate(user)


@router.post(
    "/login",
    summary="Log in (JSON)",
    response_model=TokenResponse,
    dependencies=[_LOGIN_LIMIT],
    responses=_ERRORS,
)
async def login(
    body: LoginRequest,
    db: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientDep,
) -> TokenResponse:
    """Exchange email and password for an access token (JWT) and a refresh token."""
    tokens = await auth.login(
        db,
        settings=settings,
        limiter=limiter,
        email=body.email,
        password=body.password,
        client=client,
    )
    return _token_response(tokens)


@router.post(
    "/token",
    summary="Log in (OAuth2 form: Swagger's Authorize)",
    response_model=TokenResponse,
    dependencies=[_LOGIN_LIMIT],
    responses=_ERRORS,
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientDep,
) -> TokenResponse:
    """The OAuth2 password flow (username = email): what Swagger UI's Authorize button calls."""
    tokens = await auth.login(
        db,
        settings=settings,
        limiter=limiter,
        email=normalize_email(form.username),
        password=form.password,
        client=client,
    )
    return _token_response(tokens)


@router.post(
    "/refresh",
    summary="Rotate a refresh token",
    response_model=TokenResponse,
    dependencies=[_LOGIN_LIMIT],
    responses=_ERRORS,
)
async def refresh(
    body: RefreshRequest, db: SessionDep, settings: SettingsDep, client: ClientDep
) -> TokenResponse:
    """Rotate a refresh token. Presenting an already-used one ends the whole session."""
    tokens = await sessions.refresh_session(
        db, settings=settings, refresh_token=body.refresh_token, client=client
    )
    return _token_response(tokens)


@router.post(
    "/logout", summary="Log out", response_model=LogoutResponse, responses={401: _ERRORS[401]}
)
async def logout(
    authenticated: AuthenticatedDep, db: SessionDep, client: ClientDep
) -> LogoutResponse:
    """Revoke this login's access token and refresh tokens, in every worker at once."""
    await sessions.logout(db, user=authenticated.user, claims=authenticated.claims, client=client)
    return LogoutResponse()


@router.get(
    "/me", summary="Your profile", response_model=UserResponse, responses={401: _ERRORS[401]}
)
async def me(user: CurrentUser) -> UserResponse:
    """The profile of the logged-in user."""
    return UserResponse.model_validate(user)
