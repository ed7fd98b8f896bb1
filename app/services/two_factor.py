"""Two-factor authentication: TOTP (RFC 6238, pyotp) with one-time backup codes.

- Setup stores a new secret, encrypted with DATA_ENCRYPTION_KEY, and shows it (with an otpauth
  URI and its QR code) without enabling anything; a first correct code enables it and returns 10
  backup codes, shown once, stored as hashes.
- A code is accepted from one step before to one step after now (30 s steps), and only once: the
  step of the last accepted code is stored, and a code of that step or an earlier one is refused.
- A backup code works once. Every wrong code counts towards the address's lock like a wrong
  password (see `login_guard`).
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import AuditEventType, BackupCode, LoginChallenge, TwoFactor, User
from app.security import decrypt, encrypt, sha256_hex
from app.services import audit, emails, login_guard
from app.services.clients import ClientInfo
from app.services.errors import Conflict, InvalidField, NotAuthenticated
from app.services.hashing import verify_password

CHALLENGE_SECONDS = 300
BACKUP_CODE_COUNT = 10
CLOCK_DRIFT_STEPS = 1
# Crockford's base32 (no i, l, o, u): 12 characters carry 60 random bits, read aloud safely.
_BACKUP_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
INVALID_CHALLENGE = "Invalid or expired sign-in challenge: sign in again"
INVALID_CODE = "Invalid two-factor code"


@dataclass(frozen=True)
class Enrollment:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class Challenge:
    token: str
    expires_in: int


def _qr_svg(text: str) -> str:
    return qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage).to_string().decode()


def _backup_code() -> str:
    raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _backup_code_hash(code: str) -> str:
    return hashlib.sha256(code.lower().replace("-", "").replace(" ", "").encode()).hexdigest()


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step, within the allowed drift, whose code this is."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(datetime.fromtimestamp(now, UTC))
    for step in range(current - CLOCK_DRIFT_STEPS, current + CLOCK_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _looks_like_totp(code: str) -> bool:
    return len(code) == 6 and code.isdigit()


async def _row(db: AsyncSession, user_id: int) -> TwoFactor | None:
    return await db.get(TwoFactor, user_id)


async def is_enabled(db: AsyncSession, *, user_id: int) -> bool:
    row = await _row(db, user_id)
    return row is not None and row.enabled_at is not None


async def status(db: AsyncSession, *, user_id: int) -> tuple[bool, int]:
    """(on, unused backup codes)."""
    if not await is_enabled(db, user_id=user_id):
        return False, 0
    left = await db.scalar(
        select(func.count())
        .select_from(BackupCode)
        .where(BackupCode.user_id == user_id, BackupCode.used_at.is_(None))
    )
    return True, left or 0


async def set_up(db: AsyncSession, *, settings: Settings, user: User) -> Enrollment:
    """A new pending secret (replacing an earlier pending one); nothing is enabled yet."""
    row = await db.get(TwoFactor, user.id, with_for_update=True)
    if row is not None and row.enabled_at is not None:
        raise Conflict("Two-factor authentication is already on: turn it off first")
    secret = pyotp.random_base32()
    encrypted = encrypt(settings.data_encryption_keys(), secret)
    if row is None:
        db.add(TwoFactor(user_id=user.id, secret_encrypted=encrypted))
    else:
        row.secret_encrypted, row.last_used_step = encrypted, None
    await db.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=settings.APP_NAME)
    return Enrollment(
        secret=secret, otpauth_uri=uri, qr_svg=await anyio.to_thread.run_sync(_qr_svg, uri)
    )


async def enable(
    db: AsyncSession, *, settings: Settings, user: User, code: str, client: ClientInfo
) -> list[str]:
    """Turn 2FA on with a first code of the pending secret; returns the backup codes."""
    row = await db.get(TwoFactor, user.id, with_for_update=True)
    if row is None:
        raise Conflict("Set up two-factor authentication first (POST /auth/2fa/setup)")
    if row.enabled_at is not None:
        raise Conflict("Two-factor authentication is already on")
    await login_guard.refuse_if_locked(db, email=user.email, client=client)
    if not await _accept_totp(db, settings=settings, row=row, code=code):
        await _count_wrong_code(db, settings=settings, user=user, client=client)
    row.enabled_at = datetime.now(UTC)
    codes = [_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    await db.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    db.add_all(BackupCode(user_id=user.id, code_hash=_backup_code_hash(c)) for c in codes)
    audit.record(db, AuditEventType.TWO_FACTOR_ENABLED, client=client, user_id=user.id)
    await emails.two_factor_changed(db, settings, to=user.email, enabled=True, client=client)
    await db.commit()
    return codes


async def disable(
    db: AsyncSession,
    *,
    settings: Settings,
    user: User,
    password: str,
    code: str,
    client: ClientInfo,
) -> None:
    """Turn 2FA off, with the password and a code (TOTP or backup)."""
    if not await is_enabled(db, user_id=user.id):
        raise Conflict("Two-factor authentication is not on")
    await login_guard.refuse_if_locked(db, email=user.email, client=client)
    matches, _ = await verify_password(settings, password, user.password_hash)
    if not matches:
        await login_guard.count_failure(
            db, settings=settings, email=user.email, user_id=user.id, client=client
        )
        raise InvalidField(("body", "password"), "The password is not correct")
    if not await accept_code(db, settings=settings, user=user, code=code, client=client):
        await _count_wrong_code(db, settings=settings, user=user, client=client)
    await db.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    await db.execute(delete(TwoFactor).where(TwoFactor.user_id == user.id))
    audit.record(db, AuditEventType.TWO_FACTOR_DISABLED, client=client, user_id=user.id)
    await emails.two_factor_changed(db, settings, to=user.email, enabled=False, client=client)
    await db.commit()


async def _count_wrong_code(
    db: AsyncSession, *, settings: Settings, user: User, client: ClientInfo
) -> None:
    await login_guard.count_failure(
        db, settings=settings, email=user.email, user_id=user.id, client=client
    )
    raise InvalidField(("body", "code"), INVALID_CODE)


async def _accept_totp(db: AsyncSession, *, settings: Settings, row: TwoFactor, code: str) -> bool:
    secret = decrypt(settings.data_encryption_keys(), row.secret_encrypted)
    step = _matching_step(secret, code.strip(), time.time())
    if step is None:
        return False
    # One statement decides, so two requests with one code cannot both pass.
    accepted = await db.scalar(
        update(TwoFactor)
        .where(
            TwoFactor.user_id == row.user_id,
            or_(TwoFactor.last_used_step.is_(None), TwoFactor.last_used_step < step),
        )
        .values(last_used_step=step)
        .returning(TwoFactor.user_id)
        .execution_options(synchronize_session=False)
    )
    return accepted is not None


async def accept_code(
    db: AsyncSession, *, settings: Settings, user: User, code: str, client: ClientInfo
) -> bool:
    """Whether `code` is a fresh TOTP code or an unused backup code of the account (a backup
    code is used up by this); the caller commits."""
    row = await _row(db, user.id)
    if row is None or row.enabled_at is None:
        return False
    if _looks_like_totp(code.strip()):
        return await _accept_totp(db, settings=settings, row=row, code=code)
    used = await db.scalar(
        update(BackupCode)
        .where(
            BackupCode.user_id == user.id,
            BackupCode.code_hash == _backup_code_hash(code),
            BackupCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
        .returning(BackupCode.id)
    )
    if used is None:
        return False
    audit.record(
        db,
        AuditEventType.BACKUP_CODE_USED,
        client=client,
        user_id=user.id,
        object_type="backup_code",
        object_id=used,
    )
    return True


async def open_challenge(db: AsyncSession, *, user_id: int) -> Challenge:
    """The password was right: a single-use challenge for the second step; the caller commits."""
    token = secrets.token_urlsafe(32)
    db.add(
        LoginChallenge(
            token_hash=sha256_hex(token),
            user_id=user_id,
            expires_at=datetime.now(UTC) + timedelta(seconds=CHALLENGE_SECONDS),
        )
    )
    return Challenge(token=token, expires_in=CHALLENGE_SECONDS)


async def claim_challenge(db: AsyncSession, *, token: str) -> tuple[LoginChallenge, User]:
    """The live challenge behind `token`, locked until the caller commits, and its account."""
    challenge = await db.scalar(
        select(LoginChallenge)
        .where(LoginChallenge.token_hash == sha256_hex(token))
        .with_for_update()
    )
    if (
        challenge is None
        or challenge.used_at is not None
        or challenge.expires_at <= datetime.now(UTC)
    ):
        raise NotAuthenticated(INVALID_CHALLENGE)
    user = await db.get(User, challenge.user_id)
    if user is None or user.status != "active":
        raise NotAuthenticated(INVALID_CHALLENGE)
    return challenge, user


async def forget_expired_challenges(db: AsyncSession) -> int:
    cutoff = datetime.now(UTC) - timedelta(days=1)
    result = await db.execute(delete(LoginChallenge).where(LoginChallenge.expires_at < cutoff))
    await db.commit()
    return result.rowcount
