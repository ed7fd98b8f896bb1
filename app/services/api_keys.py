"""API keys: generate, list, count, revoke under the business rules; authenticate a presented key.

Rules (spec "Business Rules"): at most MAX_ACTIVE_API_KEYS active keys per user, at least
MIN_ACTIVE_API_KEYS left after a revoke, keys expire after API_KEY_EXPIRY_DAYS. Every change
locks the owner's row first, so concurrent requests of one user are applied one at a time.
"""

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import ApiKey, AuditEventType, User
from app.security import generate_api_key, sha256_hex
from app.services import audit
from app.services.clients import ClientInfo
from app.services.errors import Conflict, NotAuthenticated, NotFound

MIN_ACTIVE_API_KEYS = 2
LAST_USED_RESOLUTION = timedelta(minutes=1)
INVALID_API_KEY = "Invalid or expired API key"
_KEY_BODY = re.compile(r"^[A-Za-z0-9_-]{24,128}$")


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    plaintext: str  # shown once, in the response that creates it; never stored


def key_status(key: ApiKey, now: datetime) -> str:
    """`active`, `revoked`, or `expired` (derived from expires_at: no job flips it)."""
    if key.status == "active" and key.expires_at <= now:
        return "expired"
    return key.status


def key_preview(key: ApiKey, prefix: str) -> str:
    return f"{prefix}****...{key.key_last4}"


def days_until_expiry(key: ApiKey, now: datetime) -> int:
    return max(0, math.ceil((key.expires_at - now).total_seconds() / 86400))


def _active_now() -> ColumnElement[bool]:
    return (ApiKey.status == "active") & (ApiKey.expires_at > func.now())


async def _lock_owner(db: AsyncSession, user_id: int) -> None:
    await db.execute(select(User.id).where(User.id == user_id).with_for_update())


async def active_key_count(db: AsyncSession, *, user_id: int) -> int:
    count = await db.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, _active_now())
    )
    return count or 0


async def active_key_limits(db: AsyncSession, *, settings: Settings, user_id: int) -> dict:
    """The user's active keys against the limits, and what they may do next."""
    active = await active_key_count(db, user_id=user_id)
    return {
        "active_count": active,
        "max_active_keys": settings.MAX_ACTIVE_API_KEYS,
        "min_active_keys": MIN_ACTIVE_API_KEYS,
        "can_generate": active < settings.MAX_ACTIVE_API_KEYS,
        "can_revoke": active > MIN_ACTIVE_API_KEYS,
    }


async def create_key(
    db: AsyncSession,
    *,
    settings: Settings,
    user_id: int,
    name: str,
    client: ClientInfo,
    before_commit: Callable[[IssuedKey], Awaitable[None]] | None = None,
) -> IssuedKey:
    """A new key, unless the user already holds the maximum of active keys. `before_commit`
    runs inside the transaction that creates it (e.g. to record an idempotent response)."""
    await _lock_owner(db, user_id)
    if await active_key_count(db, user_id=user_id) >= settings.MAX_ACTIVE_API_KEYS:
        raise Conflict(
            f"Maximum of {settings.MAX_ACTIVE_API_KEYS} active API keys reached: "
            "revoke one before generating another"
        )
    plaintext = generate_api_key(settings.API_KEY_PREFIX)
    key = ApiKey(
        user_id=user_id,
        key_hash=sha256_hex(plaintext),
        key_last4=plaintext[-4:],
        name=name,
        status="active",
        expires_at=datetime.now(UTC) + timedelta(days=settings.API_KEY_EXPIRY_DAYS),
    )
    db.add(key)
    await db.flush()
    audit.record(
        db,
        AuditEventType.API_KEY_GENERATED,
        client=client,
        user_id=user_id,
        object_type="api_key",
        object_id=key.id,
    )
    issued = IssuedKey(record=key, plaintext=plaintext)
    if before_commit is not None:
        await before_commit(issued)
    await db.commit()
    return issued


async def list_keys(db: AsyncSession, *, user_id: int) -> list[ApiKey]:
    result = await db.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id.desc())
    )
    return list(result)


async def revoke_key(db: AsyncSession, *, user_id: int, key_id: int, client: ClientInfo) -> ApiKey:
    """Revoke one of the user's keys, unless that would leave fewer than two active keys."""
    await _lock_owner(db, user_id)
    key = await db.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id))
    if key is None:
        raise NotFound("API key not found")
    now = datetime.now(UTC)
    if key.status == "revoked":
        raise Conflict("API key is already revoked")
    if key_status(key, now) == "active":
        remaining = await active_key_count(db, user_id=user_id) - 1
        if remaining < MIN_ACTIVE_API_KEYS:
            raise Conflict(
                f"Cannot revoke: at least {MIN_ACTIVE_API_KEYS} active API keys must remain "
                "(prevents a complete lockout). Generate a new key first."
            )
    key.status = "revoked"
    key.revoked_at = now
    audit.record(
        db,
        AuditEventType.API_KEY_REVOKED,
        client=client,
        user_id=user_id,
        object_type="api_key",
        object_id=key.id,
    )
    await db.commit()
    return key


def looks_like_api_key(presented: str, prefix: str) -> bool:
    return presented.startswith(prefix) and bool(_KEY_BODY.match(presented[len(prefix) :]))


async def authenticate_key(db: AsyncSession, *, settings: Settings, presented: str) -> ApiKey:
    """The active, unexpired key of an active user matching `presented`; 401 otherwise."""
    if not looks_like_api_key(presented, settings.API_KEY_PREFIX):
        raise NotAuthenticated(INVALID_API_KEY)
    key = await db.scalar(
        select(ApiKey)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == sha256_hex(presented), _active_now(), User.status == "active")
    )
    if key is None:
        raise NotAuthenticated(INVALID_API_KEY)
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        # At most one write a minute per key keeps the hot path a single indexed read.
        await db.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .values(last_used_at=func.now())
            .execution_options(synchronize_session=False)
        )
        await db.commit()
    return key
