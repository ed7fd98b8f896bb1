"""Login sessions and their tokens: open, refresh, authenticate, list, end.

A login opens an `AuthSession`; its access and refresh tokens carry the session id, so revoking
the session (logout, or a refresh token presented twice) ends every token of that login at once,
in every worker, because the check is a database read.
"""

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import AuditEventType, AuthSession, RefreshToken, User
from app.security import (
    InvalidToken,
    TokenClaims,
    TokenType,
    decode_token,
    encode_token,
    sha256_hex,
)
from app.services import audit, refresh_grace
from app.services.audit import log_security_event
from app.services.clients import ClientInfo
from app.services.errors import NotAuthenticated, NotFound

INVALID_TOKEN = "Could not validate credentials"
# Using a session marks it at most once a minute: authentication stays a single read.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedTokens:
    session_id: uuid.UUID
    access_token: str
    access_expires_in: int
    refresh_token: str
    refresh_expires_in: int


def open_session(
    db: AsyncSession, *, settings: Settings, user_id: int, client: ClientInfo
) -> IssuedTokens:
    """A new session for this client and its first tokens; the caller commits."""
    session = AuthSession(
        id=uuid.uuid4(),
        user_id=user_id,
        client_ip=client.ip,
        client_network=client.network,
        user_agent=client.user_agent,
    )
    db.add(session)
    return _issue_tokens(db, settings=settings, session=session)


def _issue_tokens(db: AsyncSession, *, settings: Settings, session: AuthSession) -> IssuedTokens:
    user_id, session_id = session.user_id, session.id
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
    session.last_used_at = datetime.now(UTC)
    session.expires_at = refresh_claims.issued_at + max(access_lifetime, refresh_lifetime)
    db.add(
        RefreshToken(
            jti=refresh_claims.jti,
            session_id=session_id,
            token_hash=sha256_hex(refresh_token),
            expires_at=refresh_claims.expires_at,
        )
    )
    return IssuedTokens(
        session_id=session_id,
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
        if stored.successor_sealed and refresh_grace.within_grace(
            stored.rotated_at, now, settings.REFRESH_REUSE_GRACE_SECONDS
        ):
            # Another tab's refresh a moment ago: the same new pair.
            successor = refresh_grace.unseal(
                refresh_token, stored.successor_sealed, elapsed=now - stored.rotated_at
            )
            await db.rollback()
            return IssuedTokens(**successor)
        session.revoked_at = now
        session.revoked_reason = "refresh_token_reuse"
        audit.record(
            db,
            AuditEventType.REFRESH_TOKEN_REUSED,
            client=client,
            user_id=session.user_id,
            object_type="session",
            object_id=session.id,
        )
        await db.commit()
        raise NotAuthenticated(INVALID_TOKEN)

    user = await db.get(User, session.user_id)
    if user is None or user.status != "active":
        raise NotAuthenticated(INVALID_TOKEN)
    stored.rotated_at = now
    tokens = _issue_tokens(db, settings=settings, session=session)
    stored.successor_sealed = refresh_grace.seal(refresh_token, tokens)
    await db.commit()
    log_security_event("token_refreshed", client, user.id)
    return tokens


async def authenticate_access_token(
    db: AsyncSession, *, settings: Settings, token: str
) -> tuple[User, TokenClaims]:
    """The active user behind a valid, unrevoked access token."""
    claims = _verified_claims(settings, token, "access")
    found = (
        await db.execute(
            select(User, AuthSession.last_used_at)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                User.id == claims.subject,
                AuthSession.id == claims.session_id,
                AuthSession.revoked_at.is_(None),
            )
        )
    ).one_or_none()
    if found is None or found[0].status != "active":
        raise NotAuthenticated(INVALID_TOKEN)
    user, last_used_at = found
    if datetime.now(UTC) - last_used_at >= LAST_USED_RESOLUTION:
        await db.execute(
            update(AuthSession)
            .where(AuthSession.id == claims.session_id)
            .values(last_used_at=func.now())
        )
        await db.commit()
    return user, claims


def _active(user_id: int) -> tuple:
    return (
        AuthSession.user_id == user_id,
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > func.now(),
    )


async def list_sessions(db: AsyncSession, *, user_id: int) -> list[AuthSession]:
    """The account's live sessions, the most recently used first."""
    found = await db.scalars(
        select(AuthSession)
        .where(*_active(user_id))
        .order_by(AuthSession.last_used_at.desc(), AuthSession.created_at.desc())
    )
    return list(found)


async def revoke_sessions(
    db: AsyncSession, *, user_id: int, reason: str, keep: uuid.UUID | None = None
) -> int:
    """Revoke every live session of the account but `keep`; the caller commits."""
    kept = [] if keep is None else [AuthSession.id != keep]
    result = await db.execute(
        update(AuthSession)
        .where(*_active(user_id), *kept)
        .values(revoked_at=func.now(), revoked_reason=reason)
    )
    return result.rowcount


async def end_session(
    db: AsyncSession, *, user_id: int, session_id: uuid.UUID, client: ClientInfo
) -> None:
    """End one of the account's own live sessions (404 for any other): its tokens stop at once."""
    ended = await db.scalar(
        update(AuthSession)
        .where(AuthSession.id == session_id, *_active(user_id))
        .values(revoked_at=func.now(), revoked_reason="ended_by_user")
        .returning(AuthSession.id)
    )
    if ended is None:
        raise NotFound("Session not found")
    audit.record(
        db,
        AuditEventType.SESSION_ENDED,
        client=client,
        user_id=user_id,
        object_type="session",
        object_id=session_id,
    )
    await db.commit()


async def logout(db: AsyncSession, *, user: User, claims: TokenClaims, client: ClientInfo) -> None:
    """End the session: its access token and refresh tokens stop working everywhere at once."""
    await db.execute(
        update(AuthSession)
        .where(AuthSession.id == claims.session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_reason="logout")
    )
    audit.record(
        db,
        AuditEventType.LOGOUT,
        client=client,
        user_id=user.id,
        object_type="session",
        object_id=claims.session_id,
    )
    await db.commit()


async def is_new_device(db: AsyncSession, *, user_id: int, client: ClientInfo) -> bool:
    """Whether this user agent on this network never signed in to the account before (an
    account's very first sign-in is no news)."""
    earlier = (
        await db.execute(
            select(
                func.count(),
                func.count().filter(
                    AuthSession.user_agent.is_not_distinct_from(client.user_agent),
                    AuthSession.client_network.is_not_distinct_from(client.network),
                ),
            ).where(AuthSession.user_id == user_id)
        )
    ).one()
    return earlier[0] > 0 and earlier[1] == 0


async def has_signed_in_from(db: AsyncSession, *, email: str, network: str | None) -> bool:
    """Whether the account with this email (if any) ever signed in from this network."""
    if network is None or "\x00" in email:
        return False
    found = await db.scalar(
        select(AuthSession.id)
        .join(User, User.id == AuthSession.user_id)
        .where(User.email == email, AuthSession.client_network == network)
        .limit(1)
    )
    return found is not None
