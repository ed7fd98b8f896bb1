from fastapi import APIRouter, status

from app.api.deps import AuthenticatedDep, ClientDep, SettingsDep, limit_per_client_ip
from app.api.responses import error_responses
from app.database import SessionDep
from app.schemas.password import (
    PasswordChange,
    PasswordChanged,
    PasswordForgotten,
    PasswordReset,
    PasswordResetDone,
    ResetRequested,
)
from app.services import passwords

router = APIRouter(prefix="/auth/password", tags=["auth"])

_RATE_LIMITED = "Rate limit of your address (see Retry-After)"


@router.post(
    "",
    summary="Change your password",
    response_model=PasswordChanged,
    dependencies=[limit_per_client_ip("LOGIN_RATE_LIMIT", "login")],
    responses=error_responses(
        401,
        413,
        422,
        423,
        429,
        503,
        s422="Wrong current password, or a broken rule of the new one",
        s423="Too many wrong passwords from your address (see Retry-After)",
        s429=_RATE_LIMITED,
    ),
)
async def change_password(
    body: PasswordChange,
    authenticated: AuthenticatedDep,
    db: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> PasswordChanged:
    """Set a new password, giving the current one. Every other device is signed out; this
    session stays."""
    revoked = await passwords.change_password(
        db,
        settings=settings,
        user=authenticated.user,
        session_id=authenticated.claims.session_id,
        current_password=body.current_password,
        new_password=body.new_password,
        client=client,
    )
    return PasswordChanged(other_sessions_revoked=revoked)


@router.post(
    "/forgot",
    summary="Email a password-reset link",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ResetRequested,
    dependencies=[limit_per_client_ip("AUTH_RATE_LIMIT", "password-reset")],
    responses=error_responses(413, 422, 429, 503, s429=_RATE_LIMITED),
)
async def forgot_password(
    body: PasswordForgotten, db: SessionDep, settings: SettingsDep, client: ClientDep
) -> ResetRequested:
    """Always 202 with this same answer, whether an account uses the email or not. If one does,
    its owner gets a link valid 30 minutes."""
    await passwords.request_reset(db, settings=settings, email=body.email, client=client)
    return ResetRequested()


@router.post(
    "/reset",
    summary="Set a new password with a reset link",
    response_model=PasswordResetDone,
    dependencies=[limit_per_client_ip("AUTH_RATE_LIMIT", "password-reset")],
    responses=error_responses(
        413,
        422,
        429,
        503,
        s422="A rule of the new password is broken, or the token is bad",
        s429=_RATE_LIMITED,
    ),
)
async def reset_password(
    body: PasswordReset, db: SessionDep, settings: SettingsDep, client: ClientDep
) -> PasswordResetDone:
    """Choose a new password with the token of a reset link (once, within 30 minutes). Every
    session of the account ends."""
    await passwords.reset_password(
        db, settings=settings, token=body.token, new_password=body.new_password, client=client
    )
    return PasswordResetDone()
