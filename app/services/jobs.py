"""Simulation jobs: create one (limits, queueing), read, list, cancel; and the lifecycle steps
the worker records (started, progress, succeeded, failed).

Status moves queued -> running -> succeeded | failed | cancelled and never leaves a final
status: every transition is an UPDATE ... WHERE status is still the one it leaves, so a
cancellation racing a success leaves exactly one of them. Progress only grows (GREATEST), also
when a retried run starts again from its first path.
"""

import secrets
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.engine.simulate import SEED_BOUND
from app.models import Simulation, User
from app.models.job import ACTIVE_STATUSES, SimulationJob
from app.observability import metrics
from app.schemas.job import JobResponse
from app.schemas.simulation import SimulationRequest
from app.services import datasets, idempotency, saved_simulations
from app.services.errors import Conflict, InvalidField, NotFound, TooManyRequests
from app.services.idempotency import Claim
from app.services.job_queue import JobQueue
from app.services.monte_carlo import applied_num_simulations

FINAL_STATUSES = ("succeeded", "failed", "cancelled")


def job_body(job: SimulationJob) -> dict:
    return {
        "job_id": job.id,
        "status": job.status,
        "progress": job.progress,
        "paths_total": job.paths_total,
        "paths_done": job.paths_done,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "simulation_id": job.simulation_id,
        "error": job.error,
    }


def _with_seed(request: SimulationRequest) -> dict:
    """The request as stored: a missing seed is drawn now, so every retry gives the same run."""
    body = request.model_dump(mode="json")
    if body["parameters"]["seed"] is None:
        body["parameters"]["seed"] = secrets.randbelow(SEED_BOUND)
    return body


async def create_job(
    db: AsyncSession,
    *,
    settings: Settings,
    queue: JobQueue,
    request: SimulationRequest,
    user_id: int,
    api_key_id: int | None,
    claim: Claim | None = None,
) -> bytes:
    """Validate the request like simulate (with the job limits), save the job, queue its run;
    return the 202 body (recorded on the idempotency claim, so a retry gets it again)."""
    if request.parameters.solve is not None:
        raise InvalidField(
            ("body", "parameters", "solve"),
            "jobs do not solve: a safe-withdrawal solve runs up to 25 simulations; ask "
            "POST /simulations with solve, or give the job the fixed_real annual_amount",
        )
    paths = applied_num_simulations(
        request,
        settings,
        max_paths=settings.MAX_JOB_SIMULATIONS,
        max_steps=settings.MAX_JOB_SIMULATION_STEPS,
    )
    # The dataset's rules answer now (422), not when the job runs.
    await datasets.history_for_request(db, user_id=user_id, request=request)
    # The account's row lock serialises its job creations, so the active-job cap holds.
    await db.execute(select(User.id).where(User.id == user_id).with_for_update())
    active = await db.scalar(
        select(func.count())
        .select_from(SimulationJob)
        .where(SimulationJob.user_id == user_id, SimulationJob.status.in_(ACTIVE_STATUSES))
    )
    if (active or 0) >= settings.MAX_ACTIVE_JOBS_PER_USER:
        raise TooManyRequests(
            f"You have {active} jobs queued or running (at most "
            f"{settings.MAX_ACTIVE_JOBS_PER_USER}); wait for one to finish or cancel one",
            retry_after_seconds=5,
        )
    job = SimulationJob(
        id="job_" + secrets.token_hex(6),
        user_id=user_id,
        api_key_id=api_key_id,
        status="queued",
        request=_with_seed(request),
        paths_total=paths,
        paths_done=0,
        progress=0.0,
        attempts=0,
    )
    db.add(job)
    await db.commit()
    try:
        job.queue_job_id = await queue.enqueue(job.id)
    except Exception:
        await _finish(db, job.id, "failed", error="The job could not be queued")
        raise
    body = JobResponse(**job_body(job)).model_dump_json().encode()
    if claim is not None:
        await idempotency.complete_with_body(
            db, claim, status_code=202, body=body, settings=settings
        )
    await db.commit()
    metrics.JOBS_CREATED.inc()
    return body


async def get_job(db: AsyncSession, *, user_id: int, job_id: str) -> SimulationJob:
    job = await db.scalar(
        select(SimulationJob).where(SimulationJob.id == job_id, SimulationJob.user_id == user_id)
    )
    if job is None:
        raise NotFound("Job not found")
    return job


async def list_jobs(
    db: AsyncSession, *, user_id: int, limit: int, offset: int
) -> tuple[list[SimulationJob], int]:
    """A page of the account's jobs, newest first."""
    total = await db.scalar(
        select(func.count()).select_from(SimulationJob).where(SimulationJob.user_id == user_id)
    )
    rows = await db.scalars(
        select(SimulationJob)
        .where(SimulationJob.user_id == user_id)
        .order_by(SimulationJob.created_at.desc(), SimulationJob.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


async def cancel_job(
    db: AsyncSession, *, queue: JobQueue, user_id: int, job_id: str
) -> SimulationJob:
    """Cancel a queued or running job (409 once it has finished); the worker stops its run."""
    job = await get_job(db, user_id=user_id, job_id=job_id)
    if not await _finish(db, job.id, "cancelled", only_from=ACTIVE_STATUSES):
        await db.refresh(job)
        raise Conflict(f"Job already {job.status}")
    metrics.JOBS_CANCELLED.inc()
    if job.queue_job_id is not None:
        await queue.cancel(job.queue_job_id)
    await db.refresh(job)
    return job


async def _finish(
    db: AsyncSession,
    job_id: str,
    status: str,
    *,
    only_from: tuple[str, ...] = ACTIVE_STATUSES,
    error: str | None = None,
    simulation_id: str | None = None,
) -> bool:
    values: dict = {"status": status, "finished_at": datetime.now(UTC), "error": error}
    if simulation_id is not None:
        values |= {
            "simulation_id": simulation_id,
            "progress": 1.0,
            "paths_done": SimulationJob.paths_total,
        }
    result = await db.execute(
        update(SimulationJob)
        .where(SimulationJob.id == job_id, SimulationJob.status.in_(only_from))
        .values(**values)
    )
    await db.commit()
    return result.rowcount == 1


# The worker's side.


async def start_run(db: AsyncSession, *, job_id: str) -> SimulationJob | None:
    """Mark the job running (one more attempt); None when it is no longer to be run."""
    job = await db.scalar(
        update(SimulationJob)
        .where(SimulationJob.id == job_id, SimulationJob.status.in_(ACTIVE_STATUSES))
        .values(
            status="running",
            attempts=SimulationJob.attempts + 1,
            started_at=func.coalesce(SimulationJob.started_at, func.now()),
        )
        .returning(SimulationJob)
    )
    await db.commit()
    return job


async def record_progress(db: AsyncSession, *, job_id: str, paths_done: int, progress: float):
    """Progress of a running job; it never decreases, even on a retried run."""
    result = await db.execute(
        update(SimulationJob)
        .where(SimulationJob.id == job_id, SimulationJob.status == "running")
        .values(
            paths_done=func.greatest(SimulationJob.paths_done, paths_done),
            progress=func.greatest(SimulationJob.progress, min(max(progress, 0.0), 1.0)),
        )
    )
    await db.commit()
    return result.rowcount == 1


async def is_running(db: AsyncSession, *, job_id: str) -> bool:
    status = await db.scalar(select(SimulationJob.status).where(SimulationJob.id == job_id))
    return status == "running"


async def succeed(
    db: AsyncSession, *, settings: Settings, job_id: str, simulation: Simulation
) -> bool:
    """Save the run's simulation (within the account's quota) and mark the job succeeded;
    False, and nothing kept, when the job was cancelled meanwhile."""
    status = await db.scalar(
        select(SimulationJob.status).where(SimulationJob.id == job_id).with_for_update()
    )
    if status != "running":
        await db.rollback()
        return False
    await saved_simulations.save(db, simulation, settings=settings)
    if await _finish(db, job_id, "succeeded", simulation_id=simulation.id):
        return True
    # Cancelled between the save and now: the job shows no result, so none is kept.
    await saved_simulations.delete_simulation(
        db, user_id=simulation.user_id, simulation_id=simulation.id
    )
    return False


async def fail(db: AsyncSession, *, job_id: str, error: str) -> None:
    await _finish(db, job_id, "failed", error=error)
