"""Browser sessions: the refresh token in an HttpOnly cookie, with a double-submit CSRF token.

A request opts in with `X-Session: cookie` (the dashboard does; scripts keep the JSON flow):
login and refresh then set `mc_refresh` (HttpOnly, SameSite=Strict, Path=/auth, Secure in
production) and `mc_csrf` (readable by the page, SameSite=Strict), and answer without the refresh
token in the body. /auth/refresh and /auth/logout accept the cookie only with an `X-CSRF-Token`
header equal to the `mc_csrf` cookie, which another site can neither read nor set.
"""

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from app.config import Settings
from app.schemas.auth import TokenResponse
from app.services.errors import Forbidden

REFRESH_COOKIE = "mc_refresh"
CSRF_COOKIE = "mc_csrf"
REFRESH_COOKIE_PATH = "/auth"
COOKIE_MODE = "cookie"
NO_REFRESH_COOKIE = "Not signed in: no refresh cookie"
BAD_CSRF = "Missing or wrong X-CSRF-Token header (it must equal the mc_csrf cookie)"


async def wants_cookie(
    x_session: Annotated[
        str | None, Header(description="`cookie`: keep the refresh token in a cookie")
    ] = None,
) -> bool:
    return x_session == COOKIE_MODE


CookieMode = Annotated[bool, Depends(wants_cookie)]


def set_session_cookies(
    response: Response,
    settings: Settings,
    *,
    refresh_token: str,
    max_age: int,
    csrf_token: str | None = None,
) -> None:
    """The refresh cookie, and the CSRF cookie: new at login, kept as it is on a refresh (a
    tab that read it a moment before another tab's refresh must still send the right one)."""
    secure = settings.is_production
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=max_age,
        path=REFRESH_COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token or secrets.token_urlsafe(32),
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=False,
        samesite="strict",
    )


def keep_refresh_token_in_cookie(
    answer: TokenResponse, response: Response, settings: Settings, request: Request | None = None
) -> TokenResponse:
    """Move the answer's refresh token into the cookies: the page's script never sees it.
    With the `request` of a cookie refresh (its CSRF token already checked), that token stays."""
    set_session_cookies(
        response,
        settings,
        refresh_token=answer.refresh_token,
        max_age=answer.refresh_expires_in,
        csrf_token=request.cookies.get(CSRF_COOKIE) if request is not None else None,
    )
    return answer.model_copy(update={"refresh_token": None})


def clear_session_cookies(response: Response, settings: Settings) -> None:
    for name, path, httponly in (
        (REFRESH_COOKIE, REFRESH_COOKIE_PATH, True),
        (CSRF_COOKIE, "/", False),
    ):
        response.delete_cookie(
            name, path=path, secure=settings.is_production, httponly=httponly, samesite="strict"
        )


def presented_refresh_cookie(request: Request) -> str | None:
    """The refresh cookie, once the CSRF header proves the page itself sent the request."""
    refresh_token = request.cookies.get(REFRESH_COOKIE)
    if not refresh_token:
        return None
    expected = request.cookies.get(CSRF_COOKIE, "")
    presented = request.headers.get("x-csrf-token", "")
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise Forbidden(BAD_CSRF)
    return refresh_token
