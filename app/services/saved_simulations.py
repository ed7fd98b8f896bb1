"""Saved simulations of an account: saved within its quota, listed, answered again byte for byte,
deleted, and purged after the retention period.

Quota: each account keeps at most SAVED_SIMULATIONS_PER_ACCOUNT runs and
SAVED_SIMULATION_BYTES_PER_ACCOUNT compressed bytes; saving a new run prunes the oldest beyond
either (never the new one), so scripts never fail on storage and storage stays bounded.
"""

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Simulation
from app.services import idempotency
from app.services.compression import unpack
from app.services.errors import NotFound
from app.services.idempotency import Claim

NOT_FOUND = "Simulation not found"
PURGE_BATCH = 1000
# pg_advisory_xact_lock(namespace, user_id): one account's saves take turns, so two at once
# cannot both see room under the quota. The namespace is an arbitrary constant of this module.
_SAVE_LOCK_NAMESPACE = 0x5A7E

_PRUNE = text(
    """
    DELETE FROM simulations WHERE id IN (
        SELECT id FROM (
            SELECT id,
                   row_number() OVER newest_first AS position,
                   sum(stored_bytes) OVER newest_first AS bytes_up_to_here
            FROM simulations WHERE user_id = :user_id
            WINDOW newest_first AS (ORDER BY created_at DESC, id DESC)
        ) ranked
        WHERE position > 1 AND (position > :max_count OR bytes_up_to_here > :max_bytes)
    )
    """
)


def new_simulation_id() -> str:
    return "sim_" + secrets.token_hex(6)


def owned(user_id: int, simulation_id: str) -> object:
    """The where-clause of one simulation of one account."""
    return (Simulation.id == simulation_id) & (Simulation.user_id == user_id)


async def save(
    db: AsyncSession, simulation: Simulation, *, settings: Settings, claim: Claim | None = None
) -> int:
    """Insert the run and prune the account's oldest beyond its quota, in one transaction
    (which also completes the request's idempotency claim); return how many were pruned. The
    caller chose `simulation.id` (it is inside the body)."""
    # The caller gets the results in this response whatever happens; not waiting for the
    # WAL flush halves the save. A database crash can lose the last moment's saved runs,
    # never corrupt them. (Call logs, used for billing, keep the synchronous commit.)
    # Both in one round trip: set_config(..., true) is SET LOCAL.
    await db.execute(
        select(
            func.set_config("synchronous_commit", "off", True),
            func.pg_advisory_xact_lock(_SAVE_LOCK_NAMESPACE, simulation.user_id),
        )
    )
    db.add(simulation)
    await db.flush()
    if claim is not None:
        await idempotency.complete_with_simulation(
            db, claim, status_code=200, simulation_id=simulation.id
        )
    pruned = await db.execute(
        _PRUNE,
        {
            "user_id": simulation.user_id,
            "max_count": settings.SAVED_SIMULATIONS_PER_ACCOUNT,
            "max_bytes": settings.SAVED_SIMULATION_BYTES_PER_ACCOUNT,
        },
    )
    await db.commit()
    return pruned.rowcount or 0


async def is_taken(db: AsyncSession, error: IntegrityError) -> bool:
    """True when the insert failed on the primary key (a collision of 48 random bits)."""
    await db.rollback()
    return "pk_simulations" in str(error.orig)


async def saved_response(db: AsyncSession, *, user_id: int, simulation_id: str) -> bytes:
    """The saved simulation's response body, exactly the bytes its POST answered."""
    blob = await db.scalar(select(Simulation.response_body).where(owned(user_id, simulation_id)))
    if blob is None:
        raise NotFound(NOT_FOUND)
    return unpack(blob)


async def delete_simulation(db: AsyncSession, *, user_id: int, simulation_id: str) -> None:
    deleted = await db.execute(delete(Simulation).where(owned(user_id, simulation_id)))
    await db.commit()
    if not deleted.rowcount:
        raise NotFound(NOT_FOUND)


async def list_simulations(
    db: AsyncSession, *, user_id: int, limit: int, offset: int
) -> tuple[list[dict], int]:
    """A page of the user's simulations, newest first, without their chart data."""
    total = await db.scalar(
        select(func.count()).select_from(Simulation).where(Simulation.user_id == user_id)
    )
    rows = await db.execute(
        select(
            Simulation.id,
            Simulation.created_at,
            Simulation.execution_time_seconds,
            Simulation.inputs,
            Simulation.summary["final_value_stats"]["mean"].label("mean"),
            Simulation.summary["probabilities"]["loss"].label("loss"),
        )
        .where(Simulation.user_id == user_id)
        .order_by(Simulation.created_at.desc(), Simulation.id)
        .limit(limit)
        .offset(offset)
    )
    items = [
        {
            "simulation_id": row.id,
            "created_at": row.created_at,
            "execution_time_seconds": row.execution_time_seconds,
            "tickers": [asset["ticker"] for asset in row.inputs["assets"]],
            "num_simulations": row.inputs["parameters"]["num_simulations"],
            "time_horizon_years": row.inputs["parameters"]["time_horizon_years"],
            "seed": row.inputs["parameters"]["seed"],
            "mean_final_value": row.mean,
            "probability_of_loss": row.loss,
        }
        for row in rows
    ]
    return items, total or 0


async def purge_expired(
    db: AsyncSession, *, retention_days: float, now: datetime | None = None
) -> int:
    """Delete every simulation older than the retention period (none when it is 0), in
    batches so no statement holds many row locks for long; return how many."""
    if retention_days <= 0:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    purged = 0
    while True:
        expired = select(Simulation.id).where(Simulation.created_at < cutoff).limit(PURGE_BATCH)
        result = await db.execute(delete(Simulation).where(Simulation.id.in_(expired)))
        await db.commit()
        purged += result.rowcount or 0
        if (result.rowcount or 0) < PURGE_BATCH:
            return purged
