"""Guessing passwords: a lock per (account, client address) and a slower throttle per account.

- LOCKOUT_THRESHOLD failed sign-ins to one account from one address, each within LOCKOUT_MINUTES
  of the previous one, lock that address out of that account for LOCKOUT_MINUTES. Another
  address, the owner's, still gets in: a stranger cannot lock anyone out.
- ACCOUNT_LOGIN_RATE_LIMIT counts sign-in attempts to one account from every address together,
  except from networks the account has signed in from before: many addresses guessing at once
  are slowed down, while the owner at home is not.

Both are keyed by the email tried, not by the account: an unknown email gets exactly the answers,
statuses and Retry-After of a known one, so neither tells which accounts exist.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import AuditEventType, LoginFailure
from app.security import sha256_hex
from app.services import audit, emails, sessions
from app.services.audit import log_security_event
from app.services.clients import ClientInfo
from app.services.errors import Locked
from app.services.rate_limit import RateLimiter


def account_key(email: str) -> str:
    return sha256_hex(email)


def _locked(locked_until: datetime) -> Locked:
    return Locked(
        "Sign-in locked after too many failed attempts from your address; try again later",
        retry_after_seconds=(locked_until - datetime.now(UTC)).total_seconds(),
    )


def _pair(email: str, client: ClientInfo) -> tuple:
    return LoginFailure.account_key == account_key(email), LoginFailure.client_ip == client.address


async def refuse_if_blocked(
    db: AsyncSession, *, settings: Settings, limiter: RateLimiter, email: str, client: ClientInfo
) -> None:
    """Refuse an attempt before any password is checked: 423 when this address is locked out of
    the account, 429 when the account's attempts from unfamiliar networks are over the limit."""
    await refuse_if_locked(db, email=email, client=client)
    if not await sessions.has_signed_in_from(db, email=email, network=client.network):
        await limiter.hit(settings.ACCOUNT_LOGIN_RATE_LIMIT, "login-account", account_key(email))


async def refuse_if_locked(db: AsyncSession, *, email: str, client: ClientInfo) -> None:
    """423 when this address is locked out of the account (for any check of its credentials)."""
    locked_until = await db.scalar(select(LoginFailure.locked_until).where(*_pair(email, client)))
    if locked_until is not None and locked_until > datetime.now(UTC):
        log_security_event("login_refused_locked", client)
        raise _locked(locked_until)


async def count_failure(
    db: AsyncSession, *, settings: Settings, email: str, user_id: int | None, client: ClientInfo
) -> None:
    """One more failure from this address, counted under a row lock; the one that reaches the
    threshold locks (423). Failures that end while the address is already locked neither count
    nor extend the lock."""
    await db.execute(
        insert(LoginFailure)
        .values(account_key=account_key(email), client_ip=client.address)
        .on_conflict_do_nothing()
    )
    failures = await db.scalar(select(LoginFailure).where(*_pair(email, client)).with_for_update())
    now = datetime.now(UTC)
    window = timedelta(minutes=settings.LOCKOUT_MINUTES)
    already_locked = failures.locked_until is not None and failures.locked_until > now
    newly_locked = False
    if not already_locked:
        recent = failures.last_failed_at is not None and now - failures.last_failed_at <= window
        failures.failures = (failures.failures if recent else 0) + 1
        failures.last_failed_at = now
        if failures.failures >= settings.LOCKOUT_THRESHOLD:
            failures.failures = 0
            failures.locked_until = now + window
            newly_locked = True
    locked_until = failures.locked_until
    audit.record(db, AuditEventType.LOGIN_FAILED, client=client, user_id=user_id)
    if newly_locked and user_id is not None:
        audit.record(db, AuditEventType.ACCOUNT_LOCKED, client=client, user_id=user_id)
        await emails.lockout(
            db,
            settings,
            to=email,
            client=client,
            failures=settings.LOCKOUT_THRESHOLD,
            minutes=settings.LOCKOUT_MINUTES,
        )
    await db.commit()
    if already_locked or newly_locked:
        raise _locked(locked_until)


async def clear_failures(db: AsyncSession, *, email: str, client: ClientInfo) -> None:
    """Forget this address's failures after a successful sign-in, unless a failure that ended
    meanwhile has locked it (then 423: the lock wins over a correct password)."""
    now = datetime.now(UTC)
    await db.execute(
        delete(LoginFailure).where(
            *_pair(email, client),
            or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until <= now),
        )
    )
    locked_until = await db.scalar(select(LoginFailure.locked_until).where(*_pair(email, client)))
    if locked_until is not None and locked_until > now:
        await db.rollback()
        log_security_event("login_refused_locked", client)
        raise _locked(locked_until)


async def forget_account_failures(db: AsyncSession, *, email: str) -> None:
    """The owner proved control of the account (a password reset): every lock on it ends."""
    await db.execute(delete(LoginFailure).where(LoginFailure.account_key == account_key(email)))


async def forget_stale_failures(db: AsyncSession, *, settings: Settings) -> int:
    """Delete the rows whose failures and lock are all over; returns how many."""
    cutoff = datetime.now(UTC) - timedelta(minutes=settings.LOCKOUT_MINUTES)
    result = await db.execute(
        delete(LoginFailure).where(
            or_(LoginFailure.last_failed_at.is_(None), LoginFailure.last_failed_at < cutoff),
            or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < cutoff),
        )
    )
    await db.commit()
    return result.rowcount
