"""Passwords: change one (knowing it), or reset a forgotten one through an emailed link.

- A change checks the current password like a sign-in (wrong ones count towards the address's
  lock), then revokes every other session of the account; this one stays.
- "Forgot" only queues a task, the same for every email, existing or not: the answer, its body
  and its timing cannot tell them apart. The task, run by a task worker, issues the link to
  an active account (one per RESEND_SECONDS at most) and nothing to anyone else.
- A reset link's token is good once, for 30 minutes; using it revokes every session.
"""

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.fernet import InvalidToken
from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import AuditEventType, PasswordResetToken, User
from app.security import decrypt, encrypt, sha256_hex
from app.services import audit, emails, login_guard, sessions, task_queue
from app.services.auth import find_user
from app.services.clients import ClientInfo
from app.services.errors import InvalidField
from app.services.hashing import hash_password, verify_password
from app.services.task_queue import PermanentFailure

ISSUE_PASSWORD_RESET = "issue_password_reset"
RESET_TOKEN_MINUTES = 30
RESEND_SECONDS = 120  # a burst of "forgot" requests sends one email
INVALID_RESET_TOKEN = "This reset link is invalid, used or expired: ask for a new one"


async def change_password(
    db: AsyncSession,
    *,
    settings: Settings,
    user: User,
    session_id: uuid.UUID,
    current_password: str,
    new_password: str,
    client: ClientInfo,
) -> int:
    """Set a new password; returns how many other sessions were signed out."""
    await login_guard.refuse_if_locked(db, email=user.email, client=client)
    matches, _ = await verify_password(settings, current_password, user.password_hash)
    if not matches:
        await login_guard.count_failure(
            db, settings=settings, email=user.email, user_id=user.id, client=client
        )
        raise InvalidField(("body", "current_password"), "The current password is not correct")
    if new_password == current_password:
        raise InvalidField(("body", "new_password"), "The new password must differ from the old")
    revoked = await _set_password(
        db, settings=settings, user=user, password=new_password, keep_session=session_id
    )
    audit.record(
        db,
        AuditEventType.PASSWORD_CHANGED,
        client=client,
        user_id=user.id,
        details={"sessions_revoked": revoked},
    )
    await emails.password_changed(db, settings, to=user.email, reset=False, client=client)
    await db.commit()
    return revoked


async def request_reset(
    db: AsyncSession, *, settings: Settings, email: str, client: ClientInfo
) -> None:
    """Queue the reset of `email`'s password, whether or not such an account exists."""
    request = {"email": email, "ip": client.ip, "user_agent": client.user_agent}
    await task_queue.defer(
        db,
        settings=settings,
        task=ISSUE_PASSWORD_RESET,
        payload=encrypt(settings.data_encryption_keys(), json.dumps(request)),
    )
    await db.commit()


async def issue_reset_link(
    sessionmaker: async_sessionmaker, settings: Settings, *, payload: str
) -> None:
    """The task behind "forgot": a token and its emailed link, for an active account."""
    try:
        request = json.loads(decrypt(settings.data_encryption_keys(), payload))
    except InvalidToken as error:
        raise PermanentFailure("payload not readable with DATA_ENCRYPTION_KEY") from error
    async with sessionmaker() as db:
        await _issue_reset_link(db, settings, request)
        await db.commit()


async def _issue_reset_link(db: AsyncSession, settings: Settings, payload: dict) -> None:
    user = await find_user(db, email=payload["email"])
    if user is None or user.status != "active":
        return
    # Task workers run several of these at once: the account's row lock makes a burst of
    # "forgot" requests see each other's link, so it sends one.
    await db.execute(select(User.id).where(User.id == user.id).with_for_update())
    now = datetime.now(UTC)
    just_sent = await db.scalar(
        select(
            exists().where(
                PasswordResetToken.user_id == user.id,
                PasswordResetToken.created_at > now - timedelta(seconds=RESEND_SECONDS),
            )
        )
    )
    if just_sent:
        return
    token = secrets.token_urlsafe(32)
    db.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=sha256_hex(token),
            expires_at=now + timedelta(minutes=RESET_TOKEN_MINUTES),
        )
    )
    link = settings.PASSWORD_RESET_URL.replace("{token}", token)
    await emails.password_reset_link(
        db, settings, to=user.email, link=link, minutes=RESET_TOKEN_MINUTES
    )
    requester = ClientInfo(ip=payload.get("ip"), user_agent=payload.get("user_agent"))
    audit.record(db, AuditEventType.PASSWORD_RESET_REQUESTED, client=requester, user_id=user.id)


async def reset_password(
    db: AsyncSession, *, settings: Settings, token: str, new_password: str, client: ClientInfo
) -> None:
    """Set a new password with a reset link's token; every session of the account ends."""
    stored = await db.scalar(
        select(PasswordResetToken)
        .where(PasswordResetToken.token_hash == sha256_hex(token))
        .with_for_update()
    )
    if stored is None or stored.used_at is not None or stored.expires_at <= datetime.now(UTC):
        raise InvalidField(("body", "token"), INVALID_RESET_TOKEN)
    user = await db.get(User, stored.user_id, with_for_update=True)
    if user is None or user.status != "active":
        raise InvalidField(("body", "token"), INVALID_RESET_TOKEN)
    revoked = await _set_password(
        db, settings=settings, user=user, password=new_password, keep_session=None
    )
    await login_guard.forget_account_failures(db, email=user.email)
    audit.record(
        db,
        AuditEventType.PASSWORD_RESET,
        client=client,
        user_id=user.id,
        details={"sessions_revoked": revoked},
    )
    await emails.password_changed(db, settings, to=user.email, reset=True, client=client)
    await db.commit()


async def _set_password(
    db: AsyncSession,
    *,
    settings: Settings,
    user: User,
    password: str,
    keep_session: uuid.UUID | None,
) -> int:
    """The new hash; every reset link of the account used up; sessions but `keep` revoked."""
    user.password_hash = await hash_password(settings, password)
    await db.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
    )
    reason = "password_changed" if keep_session is not None else "password_reset"
    return await sessions.revoke_sessions(db, user_id=user.id, reason=reason, keep=keep_session)


async def forget_expired_tokens(db: AsyncSession) -> int:
    cutoff = datetime.now(UTC) - timedelta(days=1)
    result = await db.execute(
        delete(PasswordResetToken).where(PasswordResetToken.expires_at < cutoff)
    )
    await db.commit()
    return result.rowcount
