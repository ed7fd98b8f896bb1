"""Simulation jobs of an account: run a simulation in the background, follow it, cancel it.

Mounted twice by `include_account_router` (API key under /api/v1, JWT for the dashboard).
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from app.api.deps import CurrentAccount, SettingsDep
from app.api.idempotency import STILL_RUNNING as IDEMPOTENT_STILL_RUNNING
from app.api.idempotency import IdempotencyKeyHeader, replayed_with, run_idempotently
from app.api.responses import error_responses
from app.database import SessionDep
from app.schemas.job import JobPage, JobResponse
from app.schemas.simulation import SimulationRequest
from app.services import jobs
from app.services.idempotency import Claim
from app.services.job_queue import JobQueue

router = APIRouter(tags=["jobs"])

JobId = Annotated[
    str,
    Path(
        pattern=r"^job_[0-9a-f]{12}$",
        description="A job id: `job_` + 12 hex digits.",
        examples=["job_a3b4c5d6e7f8"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
_NOT_FOUND = {"s404": "No such job of yours"}
_UNAVAILABLE = {"s503": "The database or the job queue cannot answer (see Retry-After)"}


async def get_queue(request: Request) -> JobQueue:
    return request.app.state.job_queue


QueueDep = Annotated[JobQueue, Depends(get_queue)]


@router.post(
    "/jobs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobResponse,
    summary="Start a simulation job",
    responses={
        **replayed_with(202),
        **error_responses(
            401,
            409,
            413,
            422,
            429,
            503,
            s409=IDEMPOTENT_STILL_RUNNING,
            s422="Invalid request: as for simulate, with the job limits; or an "
            "Idempotency-Key already used with another body",
            s429="Rate limit, or MAX_ACTIVE_JOBS_PER_USER jobs already queued or running",
            **_UNAVAILABLE,
        ),
    },
)
async def create_job(
    body: SimulationRequest,
    account: CurrentAccount,
    db: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Run the simulate request in the background, on as many workers as there are.

    Up to MAX_JOB_SIMULATIONS paths (100,000,000). The saved results are bit for bit those of
    POST /api/v1/simulate with the same body and seed; without a seed one is drawn now. Follow
    the job at the `Location` returned. Send an `Idempotency-Key` to retry safely: a retry gets
    the first answer and starts no second job.
    """

    async def create(claim: Claim | None) -> Response:
        created = await jobs.create_job(
            db,
            settings=settings,
            queue=queue,
            request=body,
            user_id=account.user_id,
            api_key_id=account.api_key_id,
            claim=claim,
        )
        job_id = JobResponse.model_validate_json(created).job_id
        return Response(
            created,
            status_code=status.HTTP_202_ACCEPTED,
            media_type="application/json",
            headers={"Location": f"/api/v1/jobs/{job_id}"},
        )

    return await run_idempotently(
        db,
        settings=settings,
        user_id=account.user_id,
        key=idempotency_key,
        operation="create_job",
        request=body,
        run=create,
    )


@router.get(
    "/jobs",
    response_model=JobPage,
    summary="List your jobs",
    responses=error_responses(401, 422, 429, 503),
)
async def list_jobs(
    account: CurrentAccount, db: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> JobPage:
    """Your jobs, newest first."""
    items, total = await jobs.list_jobs(db, user_id=account.user_id, limit=limit, offset=offset)
    return JobPage(
        items=[JobResponse(**jobs.job_body(job)) for job in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/jobs/{job_id}",
    response_model=JobResponse,
    summary="Get a job",
    responses=error_responses(401, 404, 422, 429, 503, **_NOT_FOUND),
)
async def get_job(account: CurrentAccount, db: SessionDep, job_id: JobId) -> JobResponse:
    """Status and progress (in [0, 1], updated at least every 2 s while it runs)."""
    job = await jobs.get_job(db, user_id=account.user_id, job_id=job_id)
    return JobResponse(**jobs.job_body(job))


@router.delete(
    "/jobs/{job_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobResponse,
    summary="Cancel a job",
    responses=error_responses(
        401, 404, 409, 422, 429, 503, s409="The job has already finished", **_NOT_FOUND
    ),
)
async def cancel_job(
    account: CurrentAccount, db: SessionDep, queue: QueueDep, job_id: JobId
) -> JobResponse:
    """Cancel a queued or running job: it is `cancelled` and its compute stops within 2 s."""
    job = await jobs.cancel_job(db, queue=queue, user_id=account.user_id, job_id=job_id)
    return JobResponse(**jobs.job_body(job))
