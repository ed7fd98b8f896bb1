from fastapi import APIRouter

from app.api.deps import ClientDep, CurrentUser, SettingsDep, limit_per_client_ip
from app.api.responses import error_responses
from app.database import SessionDep
from app.schemas.two_factor import (
    BackupCodes,
    TwoFactorDisable,
    TwoFactorDisabled,
    TwoFactorEnable,
    TwoFactorSetup,
    TwoFactorStatus,
)
from app.services import two_factor

router = APIRouter(prefix="/auth/2fa", tags=["auth"])

_CREDENTIAL_CHECKS = limit_per_client_ip("LOGIN_RATE_LIMIT", "login")
_WRONG_STATE = "Not in a state for this (not set up, already on, or off)"
_CHECKED = error_responses(
    401,
    409,
    413,
    422,
    423,
    429,
    503,
    s409=_WRONG_STATE,
    s422="Wrong code or password",
    s423="Too many wrong codes or passwords from your address (see Retry-After)",
    s429="Rate limit of your address (see Retry-After)",
)


@router.get(
    "",
    summary="Two-factor authentication: on or off",
    response_model=TwoFactorStatus,
    responses=error_responses(401, 503),
)
async def two_factor_status(user: CurrentUser, db: SessionDep) -> TwoFactorStatus:
    """Whether two-factor authentication is on, and how many backup codes are left."""
    enabled, left = await two_factor.status(db, user_id=user.id)
    return TwoFactorStatus(enabled=enabled, backup_codes_left=left)


@router.post(
    "/setup",
    summary="Start two-factor setup",
    response_model=TwoFactorSetup,
    responses=error_responses(401, 409, 503, s409=_WRONG_STATE),
)
async def setup_two_factor(
    user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> TwoFactorSetup:
    """A new TOTP secret, its otpauth URI and QR code (SVG) for an authenticator app. Nothing is
    on until POST /auth/2fa/enable gets a first code; setting up again replaces the secret."""
    enrollment = await two_factor.set_up(db, settings=settings, user=user)
    return TwoFactorSetup(
        secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri, qr_svg=enrollment.qr_svg
    )


@router.post(
    "/enable",
    summary="Turn two-factor authentication on",
    response_model=BackupCodes,
    dependencies=[_CREDENTIAL_CHECKS],
    responses=_CHECKED,
)
async def enable_two_factor(
    body: TwoFactorEnable,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> BackupCodes:
    """Turn it on with a first code from the app; answers 10 one-time backup codes, shown once."""
    codes = await two_factor.enable(db, settings=settings, user=user, code=body.code, client=client)
    return BackupCodes(backup_codes=codes)


@router.post(
    "/disable",
    summary="Turn two-factor authentication off",
    response_model=TwoFactorDisabled,
    dependencies=[_CREDENTIAL_CHECKS],
    responses=_CHECKED,
)
async def disable_two_factor(
    body: TwoFactorDisable,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> TwoFactorDisabled:
    """Turn it off, with your password and a code (from the app, or a backup code)."""
    await two_factor.disable(
        db, settings=settings, user=user, password=body.password, code=body.code, client=client
    )
    return TwoFactorDisabled()
