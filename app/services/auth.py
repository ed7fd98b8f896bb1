"""Signing in: the lock and throttle first, then the password, then (for a 2FA account) a code
against a single-use challenge, then a session. Sessions and their tokens are in `sessions`,
the failure bookkeeping in `login_guard`, codes and challenges in `two_factor`."""

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import AuditEventType, User
from app.services import audit, emails, login_guard, sessions, two_factor
from app.services.audit import log_security_event
from app.services.clients import ClientInfo
from app.services.errors import NotAuthenticated
from app.services.hashing import verify_password
from app.services.rate_limit import RateLimiter
from app.services.sessions import IssuedTokens
from app.services.two_factor import Challenge

INVALID_LOGIN = "Incorrect email or password"
USE_TWO_STEP_LOGIN = (
    "This account uses two-factor authentication: sign in with POST /auth/login, then send "
    "the code to POST /auth/login/2fa"
)


async def login(
    db: AsyncSession,
    *,
    settings: Settings,
    limiter: RateLimiter,
    email: str,
    password: str,
    client: ClientInfo,
    two_step: bool = True,
) -> IssuedTokens | Challenge:
    """Check the password (blocked attempts refused first) and open a session; for a 2FA
    account, a challenge for the code instead (or, when the client cannot take a second step,
    `two_step=False`, a 401 saying where to sign in)."""
    await login_guard.refuse_if_blocked(
        db, settings=settings, limiter=limiter, email=email, client=client
    )
    user = await find_user(db, email=email)
    matches, upgraded_hash = await verify_password(
        settings, password, user.password_hash if user else None
    )
    if not matches:
        user_id = user.id if user else None
        await login_guard.count_failure(
            db, settings=settings, email=email, user_id=user_id, client=client
        )
        raise NotAuthenticated(INVALID_LOGIN)
    if user.status != "active":
        log_security_event("login_refused_disabled", client, user.id)
        raise NotAuthenticated(INVALID_LOGIN)

    if upgraded_hash is not None:
        # Sign-in bookkeeping is not a profile change: updated_at keeps its value.
        await db.execute(
            update(User)
            .where(User.id == user.id)
            .values(password_hash=upgraded_hash, updated_at=User.updated_at)
        )
    if await two_factor.is_enabled(db, user_id=user.id):
        if not two_step:
            await db.commit()
            raise NotAuthenticated(USE_TWO_STEP_LOGIN)
        challenge = await two_factor.open_challenge(db, user_id=user.id)
        await db.commit()
        return challenge
    return await complete_sign_in(db, settings=settings, user=user, client=client)


async def login_second_step(
    db: AsyncSession, *, settings: Settings, challenge_token: str, code: str, client: ClientInfo
) -> IssuedTokens:
    """Exchange a challenge and a TOTP or backup code for the account's tokens. A wrong code
    counts towards the address's lock; the challenge stays usable until it expires."""
    challenge, user = await two_factor.claim_challenge(db, token=challenge_token)
    await login_guard.refuse_if_locked(db, email=user.email, client=client)
    if not await two_factor.accept_code(db, settings=settings, user=user, code=code, client=client):
        await login_guard.count_failure(
            db, settings=settings, email=user.email, user_id=user.id, client=client
        )
        raise NotAuthenticated(two_factor.INVALID_CODE)
    challenge.used_at = datetime.now(UTC)
    return await complete_sign_in(db, settings=settings, user=user, client=client)


async def complete_sign_in(
    db: AsyncSession, *, settings: Settings, user: User, client: ClientInfo
) -> IssuedTokens:
    """Every factor checked: forget this address's failures, tell the owner about a new device,
    open the session."""
    await login_guard.clear_failures(db, email=user.email, client=client)
    if await sessions.is_new_device(db, user_id=user.id, client=client):
        await emails.new_device(db, settings, to=user.email, client=client, at=datetime.now(UTC))
    tokens = sessions.open_session(db, settings=settings, user_id=user.id, client=client)
    audit.record(
        db,
        AuditEventType.LOGIN_SUCCEEDED,
        client=client,
        user_id=user.id,
        object_type="session",
        object_id=tokens.session_id,
    )
    await db.commit()
    return tokens


async def find_user(db: AsyncSession, *, email: str) -> User | None:
    # A NUL cannot be in any account's address, and PostgreSQL text refuses it.
    if "\x00" in email:
        return None
    return await db.scalar(select(User).where(User.email == email))
