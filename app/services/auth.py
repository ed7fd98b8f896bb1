"""Accounts and authentication: registration, login with lockout, sessions, refresh, logout.

A login opens an `AuthSession`; its access and refresh tokens carry the session id, so revoking
the session (logout, or a refresh token presented twice) ends every token of that login at once,
in every worker, because the check is a database read.
"""

import hmac
import logging
import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import anyio
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import AuthSession, RefreshToken, User
from app.security import (
    InvalidToken,
    TokenClaims,
    TokenType,
    decode_token,
    encode_token,
    password_hasher,
    sha256_hex,
)
from app.services.errors import Conflict, Locked, NotAuthenticated

security_log = logging.getLogger("app.security")

INVALID_LOGIN = "Incorrect email or password"
INVALID_TOKEN = "Could not validate credentials"

# bcrypt is CPU-bound: more threads than cores only queue inside the OS instead of here.
_hashing_slots = anyio.CapacityLimiter(os.cpu_count() or 1)
T = TypeVar("T")


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    access_expires_in: int
    refresh_token: str
    refresh_expires_in: int


def log_security_event(event: str, client: ClientInfo, user_id: int | None = None) -> None:
    security_log.info(
        event,
        extra={
            "event": event,
            "user_id": user_id,
            "ip": client.ip,
            "user_agent": client.user_agent,
        },
    )


async def run_hashing(function: Callable[..., T], *args: object) -> T:
    """Run bcrypt work in a worker thread, never on the event loop."""
    return await anyio.to_thread.run_sync(function, *args, limiter=_hashing_slots)


async def register_user(
    db: AsyncSession,
    *,
    settings: Settings,
    email: str,
    password: str,
    full_name: str | None,
    company: str | None,
    client: ClientInfo,
) -> User:
    """Create an account. The unique index on email decides duplicates, races included."""
    hasher = password_hasher(settings.BCRYPT_ROUNDS)
    user = User(
        email=email,
        password_hash=await run_hashing(hasher.hash, password),
        full_name=full_name,
        company=company,
    )
    db.add(user)
    try:
        await db.commit()
    except IntegrityError as error:
        await db.rollback()
        raise Conflict("An account with this email already exists") from error
    log_security_event("user_registered", client, user.id)
    return user


async def login(
    db: AsyncSession, *, settings: Settings, email: str, password: str, client: ClientInfo
) -> IssuedTokens:
    """Check the password (locked accounts refused first) and open a session."""
    hasher = password_hasher(settings.BCRYPT_ROUNDS)
    # A NUL cannot be in any account's address, and PostgreSQL text refuses it.
    user = None if "\x00" in email else await db.scalar(select(User).where(User.email == email))
    if user is None:
        await run_hashing(hasher.verify_dummy, password)
        log_security_event("login_failed", client)
        raise NotAuthenticated(INVALID_LOGIN)

    now = datetime.now(UTC)
    if user.locked_until is not None and user.locked_until > now:
        log_security_event("login_refused_locked", client, user.id)
        raise _locked(user.locked_until - now)

    matches, upgraded_hash = await run_hashing(hasher.verify, password, user.password_hash)
    if not matches:
        await _count_failed_login(db, settings=settings, user_id=user.id, client=client)
        raise NotAuthenticated(INVALID_LOGIN)
    if user.status != "active":
        log_security_event("login_refused_disabled", client, user.id)
        raise NotAuthenticated(INVALID_LOGIN)

    # Reset the failure count only if no concurrent failure locked the account meanwhile.
    # Login bookkeeping is not a profile change: updated_at keeps its value.
    changes = {"failed_login_count": 0, "locked_until": None, "updated_at": User.updated_at}
    if upgraded_hash is not None:
        changes["password_hash"] = upgraded_hash
    unlocked = await db.scalar(
        update(User)
        .where(
            User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= func.now())
        )
        .values(**changes)
        .returning(User.id)
    )
    if unlocked is None:
        user_id = user.id  # read before the rollback expires the instance
        await db.rollback()
        locked_until = await db.scalar(select(User.locked_until).where(User.id == user_id))
        log_security_event("login_refused_locked", client, user_id)
        raise _locked(locked_until - datetime.now(UTC))
    session = AuthSession(id=uuid.uuid4(), user_id=user.id)
    db.add(session)
    tokens = _issue_tokens(db, settings=settings, user_id=user.id, session_id=session.id)
    await db.commit()
    log_security_event("login_succeeded", client, user.id)
    return tokens


def _locked(remaining: timedelta) -> Locked:
    return Locked(
        "Account temporarily locked after too many failed logins",
        retry_after_seconds=remaining.total_seconds(),
    )


async def _count_failed_login(
    db: AsyncSession, *, settings: Settings, user_id: int, client: ClientInfo
) -> None:
    """One more failure, counted atomically; the one that reaches the threshold locks.

    Failures that end while the account is already locked neither count nor extend the lock.
    """
    still_locked = User.locked_until > func.now()
    reaches_threshold = User.failed_login_count + 1 >= settings.LOCKOUT_THRESHOLD
    locked_until = await db.scalar(
        update(User)
        .where(User.id == user_id)
        .values(
            failed_login_count=case(
                (still_locked, User.failed_login_count),
                (reaches_threshold, 0),
                else_=User.failed_login_count + 1,
            ),
            locked_until=case(
                (still_locked, User.locked_until),
                (reaches_threshold, func.now() + timedelta(minutes=settings.LOCKOUT_MINUTES)),
                else_=User.locked_until,
            ),
            updated_at=User.updated_at,
        )
        .returning(User.locked_until)
    )
    await db.commit()
    log_security_event("login_failed", client, user_id)
    now = datetime.now(UTC)
    if locked_until is not None and locked_until > now:
        log_security_event("account_locked", client, user_id)
        raise _locked(locked_until - now)


def _issue_tokens(
    db: AsyncSession, *, settings: Settings, user_id: int, session_id: uuid.UUID
) -> IssuedTokens:
    secret = settings.jwt_secret()
    access_lifetime = timedelta(hours=settings.JWT_EXPIRATION_HOURS)
    refresh_lifetime = timedelta(days=settings.REFRESH_TOKEN_DAYS)
    access_token, _ = encode_token(
        secret=secret,
        user_id=user_id,
        token_type="access",
        session_id=session_id,
        lifetime=access_lifetime,
        algorithm=settings.JWT_ALGORITHM,
    )
    refresh_token, refresh_claims = encode_token(
        secret=secret,
        user_id=user_id,
        token_type="refresh",
        session_id=session_id,
        lifetime=refresh_lifetime,
        algorithm=settings.JWT_ALGORITHM,
    )
    db.add(
        RefreshToken(
            jti=refresh_claims.jti,
            session_id=session_id,
            token_hash=sha256_hex(refresh_token),
            expires_at=refresh_claims.expires_at,
        )
    )
    return IssuedTokens(
        access_token=access_token,
        access_expires_in=int(access_lifetime.total_seconds()),
        refresh_token=refresh_token,
        refresh_expires_in=int(refresh_lifetime.total_seconds()),
    )


def _verified_claims(settings: Settings, token: str, token_type: TokenType) -> TokenClaims:
    try:
        return decode_token(
            token,
            secret=settings.jwt_secret(),
            expected_type=token_type,
            algorithm=settings.JWT_ALGORITHM,
        )
    except InvalidToken as error:
        raise NotAuthenticated(INVALID_TOKEN) from error


async def refresh_session(
    db: AsyncSession, *, settings: Settings, refresh_token: str, client: ClientInfo
) -> IssuedTokens:
    """Exchange a refresh token for new tokens. A token used twice revokes its whole session."""
    claims = _verified_claims(settings, refresh_token, "refresh")

    # The row lock makes two concurrent uses of one token a reuse, not two rotations.
    stored = await db.scalar(
        select(RefreshToken).where(RefreshToken.jti == claims.jti).with_for_update()
    )
    if stored is None or not hmac.compare_digest(stored.token_hash, sha256_hex(refresh_token)):
        raise NotAuthenticated(INVALID_TOKEN)
    session = await db.get(AuthSession, stored.session_id, with_for_update=True)
    if session is None or session.revoked_at is not None:
        raise NotAuthenticated(INVALID_TOKEN)

    now = datetime.now(UTC)
    if stored.rotated_at is not None:
        session.revoked_at = now
        session.revoked_reason = "refresh_token_reuse"
        await db.commit()
        log_security_event("refresh_token_reused", client, session.user_id)
        raise NotAuthenticated(INVALID_TOKEN)

    user = await db.get(User, session.user_id)
    if user is None or user.status != "active":
        raise NotAuthenticated(INVALID_TOKEN)
    stored.rotated_at = now
    tokens = _issue_tokens(db, settings=settings, user_id=user.id, session_id=session.id)
    await db.commit()
    log_security_event("token_refreshed", client, user.id)
    return tokens


async def authenticate_access_token(
    db: AsyncSession, *, settings: Settings, token: str
) -> tuple[User, TokenClaims]:
    """The active user behind a valid, unrevoked access token."""
    claims = _verified_claims(settings, token, "access")
    user = await db.scalar(
        select(User)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(
            User.id == claims.subject,
            AuthSession.id == claims.session_id,
            AuthSession.revoked_at.is_(None),
        )
    )
    if user is None or user.status != "active":
        raise NotAuthenticated(INVALID_TOKEN)
    return user, claims


async def logout(db: AsyncSession, *, user: User, claims: TokenClaims, client: ClientInfo) -> None:
    """End the session: its access token and refresh tokens stop working everywhere at once."""
    await db.execute(
        update(AuthSession)
        .where(AuthSession.id == claims.session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_reason="logout")
    )
    await db.commit()
    log_security_event("logout", client, user.id)


async def make_admin(
    db: AsyncSession, *, settings: Settings, email: str, password: str | None
) -> tuple[User, str | None]:
    """Promote the account with this email to admin, or create it as an admin.

    Returns the user and, when an account was created without a given password, the generated
    one (shown once).
    """
    user = await db.scalar(select(User).where(User.email == email).with_for_update())
    generated = None
    if user is None:
        if password is None:
            generated = password = generate_password()
        hasher = password_hasher(settings.BCRYPT_ROUNDS)
        user = User(email=email, password_hash=await run_hashing(hasher.hash, password))
        db.add(user)
    user.role = "admin"
    await db.commit()
    return user, generated


def generate_password() -> str:
    """A random password that satisfies the password rules."""
    return "Aa1" + secrets.token_urlsafe(18)
