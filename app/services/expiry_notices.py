"""Notices of API keys about to expire: one email per key, within 7 days of its expiry."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import ApiKey, User
from app.services import emails
from app.services.api_keys import key_preview

EXPIRY_NOTICE_DAYS = 7


async def queue_expiry_notices(db: AsyncSession, *, settings: Settings) -> int:
    """Queue an email for each active key expiring within 7 days; a key already noticed is
    skipped by its email id (`api-key-expiring-<id>`), whichever worker runs this and however
    often. Returns the keys looked at."""
    now = datetime.now(UTC)
    expiring = await db.execute(
        select(ApiKey, User.email)
        .join(User, User.id == ApiKey.user_id)
        .where(
            ApiKey.status == "active",
            ApiKey.expires_at > now,
            ApiKey.expires_at <= now + timedelta(days=EXPIRY_NOTICE_DAYS),
            User.status == "active",
        )
    )
    count = 0
    for key, email in expiring:
        await emails.api_key_expiring(
            db,
            settings,
            to=email,
            key_id=key.id,
            key_name=key.name,
            key_preview=key_preview(key, settings.API_KEY_PREFIX),
            expires_at=key.expires_at,
        )
        count += 1
    await db.commit()
    return count
