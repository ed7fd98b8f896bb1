"""Idempotency keys (the IETF `Idempotency-Key` draft, as Stripe applies it) for POSTs that
create something: a run, a job, an API key.

Per account, a key names one request. The first use claims the key (a committed row, so every
worker sees it); the request's own transaction records the outcome with what it created, so a
run is never saved without it. A retry with the same key and the same request then gets the
stored response instead of a second run; with another request, 422; while the first is still
running, 409. Only successes are stored: a failed request releases its key, and a worker that
died mid-request leaves a claim that lapses after RUNNING_LEASE.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import IdempotencyKey, Simulation
from app.security import decrypt, encrypt
from app.services.compression import unpack
from app.services.errors import Conflict, InvalidField

logger = logging.getLogger(__name__)

KEY_LIFETIME = timedelta(hours=24)
RUNNING_LEASE = timedelta(minutes=2)  # far above the longest request (queue + engine + save)
PURGE_BATCH = 1000
HEADER = "Idempotency-Key"
REUSED = "This Idempotency-Key was used with a different request; use a new key for a new request"
STILL_RUNNING = "A request with this Idempotency-Key is still running; retry shortly"


@dataclass(frozen=True)
class Claim:
    """This request holds the key: it runs, then records its outcome with `complete_*`."""

    record_id: int


@dataclass(frozen=True)
class Replay:
    """The response the key's first request got."""

    status_code: int
    body: bytes


def request_hash(operation: str, canonical_request: str) -> str:
    return hashlib.sha256(f"{operation}\n{canonical_request}".encode()).hexdigest()


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def claim(
    db: AsyncSession, *, user_id: int, key: str, operation: str, request: str, settings: Settings
) -> Claim | Replay:
    """Claim `key` for this request (committed), or the stored response of its first use.

    Raises InvalidField (422) when the key was first used with another request, Conflict (409)
    while that request still runs.
    """
    now = datetime.now(UTC)
    fingerprint = request_hash(operation, request)
    fresh = {
        "operation": operation,
        "request_hash": fingerprint,
        "running_until": now + RUNNING_LEASE,
        "response_status": None,
        "response_body": None,
        "simulation_id": None,
        "created_at": now,
        "expires_at": now + KEY_LIFETIME,
    }
    inserted = await db.scalar(
        insert(IdempotencyKey)
        .values(user_id=user_id, key_hash=_key_hash(key), **fresh)
        .on_conflict_do_nothing(index_elements=["user_id", "key_hash"])
        .returning(IdempotencyKey.id)
    )
    if inserted is not None:
        await db.commit()
        return Claim(inserted)
    record = await db.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key_hash == _key_hash(key))
        .with_for_update()
    )
    if record is None:  # released by its request between our insert and this read
        await db.rollback()
        return await claim(
            db, user_id=user_id, key=key, operation=operation, request=request, settings=settings
        )
    lapsed = record.running_until is not None and record.running_until <= now
    if record.expires_at <= now or (lapsed and record.request_hash == fingerprint):
        for name, value in fresh.items():  # an expired key starts anew; a dead run is retaken
            setattr(record, name, value)
        await db.commit()
        return Claim(record.id)
    if record.request_hash != fingerprint:
        await db.rollback()
        raise InvalidField(("header", HEADER), REUSED)
    if record.running_until is not None:
        retry_after = (record.running_until - now).total_seconds()
        await db.rollback()
        raise Conflict(STILL_RUNNING, retry_after_seconds=min(retry_after, 5.0))
    replay = await _stored_response(db, record, settings)
    await db.rollback()
    return replay


async def _stored_response(db: AsyncSession, record: IdempotencyKey, settings: Settings) -> Replay:
    assert record.response_status is not None
    if record.simulation_id is not None:
        blob = await db.scalar(
            select(Simulation.response_body).where(Simulation.id == record.simulation_id)
        )
        assert blob is not None  # the record is deleted with its simulation
        return Replay(record.response_status, unpack(blob))
    assert record.response_body is not None
    body = decrypt(settings.data_encryption_keys(), record.response_body)
    return Replay(record.response_status, body.encode())


async def complete_with_simulation(
    db: AsyncSession, claim: Claim, *, status_code: int, simulation_id: str
) -> None:
    """Record, in the caller's transaction, that the request answered this saved simulation."""
    await db.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.record_id)
        .values(running_until=None, response_status=status_code, simulation_id=simulation_id)
    )


async def complete_with_body(
    db: AsyncSession, claim: Claim, *, status_code: int, body: bytes, settings: Settings
) -> None:
    """Record, in the caller's transaction, the response body (kept encrypted)."""
    await db.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.record_id)
        .values(
            running_until=None,
            response_status=status_code,
            response_body=encrypt(settings.data_encryption_keys(), body.decode()),
        )
    )


async def release(db: AsyncSession, claim: Claim) -> None:
    """Give the key back after a failed request, so that a retry runs it again. When even that
    fails (the database is down), the claim lapses after RUNNING_LEASE."""
    try:
        await db.rollback()
        await db.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.id == claim.record_id, IdempotencyKey.running_until.is_not(None)
            )
        )
        await db.commit()
    except Exception:
        logger.warning("could not release an idempotency key; it lapses on its own")


async def purge_expired(db: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete the keys past their 24 hours, in batches; return how many."""
    purged = 0
    while True:
        expired = (
            select(IdempotencyKey.id)
            .where(IdempotencyKey.expires_at < (now or datetime.now(UTC)))
            .limit(PURGE_BATCH)
        )
        result = await db.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(expired)))
        await db.commit()
        purged += result.rowcount or 0
        if (result.rowcount or 0) < PURGE_BATCH:
            return purged
