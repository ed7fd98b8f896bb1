from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.browser_session import (
    NO_REFRESH_COOKIE,
    CookieMode,
    clear_session_cookies,
    keep_refresh_token_in_cookie,
    presented_refresh_cookie,
)
from app.api.deps import (
    ClientDep,
    CurrentUser,
    RateLimiterDep,
    SettingsDep,
    bearer_token,
    get_authenticated,
    limit_per_client_ip,
)
from app.api.responses import error_responses
from app.database import SessionDep
from app.schemas.auth import (
    LoginRequest,
    LogoutResponse,
    RefreshRequest,
    SecondStepLogin,
    TokenResponse,
    TwoFactorChallenge,
)
from app.schemas.user import UserRegister, UserResponse, normalize_email
from app.services import accounts, auth, sessions
from app.services.browser_sessions import logout_with_refresh_token
from app.services.errors import InvalidField, NotAuthenticated
from app.services.sessions import IssuedTokens
from app.services.two_factor import Challenge

router = APIRouter(prefix="/auth", tags=["auth"])

_LOGIN_LIMIT = limit_per_client_ip("LOGIN_RATE_LIMIT", "login")
_LOCKED = "Too many failed sign-ins from your address (see Retry-After)"
_THROTTLED = "Rate limit of your address or of the account (see Retry-After)"
_WRONG_CREDENTIALS = "Wrong credentials, or an invalid, expired or revoked token"
_LOGIN_ERRORS = error_responses(
    401,
    413,
    422,
    423,
    429,
    503,
    s401=_WRONG_CREDENTIALS,
    s423=_LOCKED,
    s429=_THROTTLED,
)
_SIGNED_IN_ERRORS = error_responses(401, 503)


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
    responses=error_responses(409, 413, 422, 429, 503, s409="Email already registered"),
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
    response_model=TokenResponse | TwoFactorChallenge,
    dependencies=[_LOGIN_LIMIT],
    responses=_LOGIN_ERRORS,
)
async def login(
    body: LoginRequest,
    db: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientDep,
    response: Response,
    cookie_mode: CookieMode,
) -> TokenResponse | TwoFactorChallenge:
    """Exchange email and password for an access token (JWT) and a refresh token. For an
    account with two-factor authentication: `two_factor_required` and a challenge for
    POST /auth/login/2fa instead, and no tokens yet.

    With `X-Session: cookie` (browsers) the refresh token is set as an HttpOnly cookie instead.
    """
    outcome = await auth.login(
        db,
        settings=settings,
        limiter=limiter,
        email=body.email,
        password=body.password,
        client=client,
    )
    if isinstance(outcome, Challenge):
        return TwoFactorChallenge(challenge_token=outcome.token, expires_in=outcome.expires_in)
    if cookie_mode:
        return keep_refresh_token_in_cookie(_token_response(outcome), response, settings)
    return _token_response(outcome)


@router.post(
    "/login/2fa",
    summary="Log in, second step: the two-factor code",
    response_model=TokenResponse,
    dependencies=[_LOGIN_LIMIT],
    responses=error_responses(
        401,
        413,
        422,
        423,
        429,
        503,
        s401="Wrong or replayed code, or a used or expired challenge",
        s423=_LOCKED,
        s429=_THROTTLED,
    ),
)
async def login_two_factor(
    body: SecondStepLogin,
    db: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    response: Response,
    cookie_mode: CookieMode,
) -> TokenResponse:
    """Exchange the challenge of POST /auth/login and a TOTP code (or a backup code) for the
    tokens. Each code works once; a challenge works once, for 5 minutes. `X-Session: cookie`
    works as on POST /auth/login."""
    tokens = await auth.login_second_step(
        db,
        settings=settings,
        challenge_token=body.challenge_token,
        code=body.code,
        client=client,
    )
    if cookie_mode:
        return keep_refresh_token_in_cookie(_token_response(tokens), response, settings)
    return _token_response(tokens)


@router.post(
    "/token",
    summary="Log in (OAuth2 form: Swagger's Authorize)",
    response_model=TokenResponse,
    dependencies=[_LOGIN_LIMIT],
    responses=_LOGIN_ERRORS,
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientDep,
) -> TokenResponse:
    """The OAuth2 password flow (username = email): what Swagger UI's Authorize button calls.
    It has no second step: a two-factor account gets a 401 pointing to POST /auth/login."""
    tokens = await auth.login(
        db,
        settings=settings,
        limiter=limiter,
        email=normalize_email(form.username),
        password=form.password,
        client=client,
        two_step=False,
    )
    assert isinstance(tokens, IssuedTokens)
    return _token_response(tokens)


@router.post(
    "/refresh",
    summary="Rotate a refresh token",
    response_model=TokenResponse,
    dependencies=[_LOGIN_LIMIT],
    responses=_LOGIN_ERRORS,
)
async def refresh(
    db: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    request: Request,
    response: Response,
    cookie_mode: CookieMode,
    body: Annotated[RefreshRequest | None, Body()] = None,
) -> TokenResponse:
    """Rotate a refresh token: the JSON body's, or with `X-Session: cookie` and `X-CSRF-Token`
    the `mc_refresh` cookie's. Presenting an already-used one ends the whole session, except
    within REFRESH_REUSE_GRACE_SECONDS of its rotation: then it gets that rotation's pair."""
    if body is not None:
        refresh_token = body.refresh_token
    elif cookie_mode:
        refresh_token = presented_refresh_cookie(request)
        if refresh_token is None:
            raise NotAuthenticated(NO_REFRESH_COOKIE)
    else:
        raise InvalidField(("body", "refresh_token"), "Field required")
    tokens = await sessions.refresh_session(
        db, settings=settings, refresh_token=refresh_token, client=client
    )
    if body is None:
        return keep_refresh_token_in_cookie(_token_response(tokens), response, settings, request)
    return _token_response(tokens)


@router.post(
    "/logout", summary="Log out", response_model=LogoutResponse, responses=_SIGNED_IN_ERRORS
)
async def logout(
    db: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    request: Request,
    response: Response,
    token: Annotated[str | None, Depends(bearer_token)],
) -> LogoutResponse:
    """Revoke this login's access token and refresh tokens, in every worker at once.

    Authenticated by the access token, or by the `mc_refresh` cookie with `X-CSRF-Token`; the
    cookies are cleared.
    """
    cookie_token = presented_refresh_cookie(request)
    if cookie_token:
        await logout_with_refresh_token(
            db, settings=settings, refresh_token=cookie_token, client=client
        )
    elif token:
        authenticated = await get_authenticated(db, settings, token)
        await sessions.logout(
            db, user=authenticated.user, claims=authenticated.claims, client=client
        )
    else:
        raise NotAuthenticated("Not authenticated")
    clear_session_cookies(response, settings)
    return LogoutResponse()


@router.get("/me", summary="Your profile", response_model=UserResponse, responses=_SIGNED_IN_ERRORS)
async def me(user: CurrentUser) -> UserResponse:
    """The profile of the logged-in user."""
    return UserResponse.model_validate(user)
