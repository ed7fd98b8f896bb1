"""Simulation jobs of an account: run a simulation in the background, follow it, cancel it.

One router, built once per way of authenticating: API key under /api/v1, JWT for the dashboard.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from app.api.deps import CurrentApiKey, CurrentUser, SettingsDep
from app.database import SessionDep
from app.schemas.job import JobPage, JobResponse
from app.schemas.simulation import SimulationRequest
from app.services import jobs
from app.services.job_queue import JobQueue

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
Account = tuple[int, int | None]  # (user id, API key id or None)

_401 = {401: {"description": "Missing, invalid, revoked or expired credentials"}}
_404 = {404: {"description": "No such job of yours"}}
_503 = {503: {"description": "The database or the job queue cannot answer (see Retry-After)"}}


async def get_queue(request: Request) -> JobQueue:
    return request.app.state.job_queue


QueueDep = Annotated[JobQueue, Depends(get_queue)]


async def _account_of_key(key: CurrentApiKey) -> Account:
    return key.user_id, key.id


async def _account_of_user(user: CurrentUser) -> Account:
    return user.id, None


def _build(prefix: str, account: Callable[..., Awaitable[Account]], suffix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["jobs"])
    Caller = Annotated[Account, Depends(account)]

    @router.post(
        "",
        name="create_job" + suffix,
        operation_id="create_job" + suffix,
        status_code=status.HTTP_202_ACCEPTED,
        response_model=JobResponse,
        summary="Start a simulation job",
        responses={
            **_401,
            422: {"description": "Invalid request (as for simulate, with the job limits)"},
            429: {"description": "MAX_ACTIVE_JOBS_PER_USER jobs already queued or running"},
            **_503,
        },
    )
    async def create_job(
        body: SimulationRequest,
        caller: Caller,
        db: SessionDep,
        settings: SettingsDep,
        queue: QueueDep,
        response: Response,
    ) -> JobResponse:
        """Run the simulate request in the background, on as many workers as there are.

        Up to MAX_JOB_SIMULATIONS paths (100,000,000). The saved results are bit for bit those
        of POST /api/v1/simulate with the same body and seed; without a seed one is drawn now.
        Follow it at the `Location` returned.
        """
        user_id, api_key_id = caller
        job = await jobs.create_job(
            db, settings=settings, queue=queue, request=body, user_id=user_id, api_key_id=api_key_id
        )
        response.headers["Location"] = f"/api/v1/jobs/{job.id}"
        return JobResponse(**jobs.job_body(job))

    @router.get(
        "",
        name="list_jobs" + suffix,
        operation_id="list_jobs" + suffix,
        response_model=JobPage,
        summary="List your jobs",
        responses={**_401, **_503},
    )
    async def list_jobs(
        caller: Caller, db: SessionDep, limit: Limit = 20, offset: Offset = 0
    ) -> JobPage:
        """Your jobs, newest first."""
        items, total = await jobs.list_jobs(db, user_id=caller[0], limit=limit, offset=offset)
        return JobPage(
            items=[JobResponse(**jobs.job_body(job)) for job in items],
            total=total,
            limit=limit,
            offset=offset,
        )

    @router.get(
        "/{job_id}",
        name="get_job" + suffix,
        operation_id="get_job" + suffix,
        response_model=JobResponse,
        summary="Get a job",
        responses={**_401, **_404, **_503},
    )
    async def get_job(caller: Caller, db: SessionDep, job_id: JobId) -> JobResponse:
        """Status and progress (in [0, 1], updated at least every 2 s while it runs)."""
        return JobResponse(
            **jobs.job_body(await jobs.get_job(db, user_id=caller[0], job_id=job_id))
        )

    @router.delete(
        "/{job_id}",
        name="cancel_job" + suffix,
        operation_id="cancel_job" + suffix,
        status_code=status.HTTP_202_ACCEPTED,
        response_model=JobResponse,
        summary="Cancel a job",
        responses={
            **_401,
            **_404,
            409: {"description": "The job has already finished"},
            **_503,
        },
    )
    async def cancel_job(
        caller: Caller, db: SessionDep, queue: QueueDep, job_id: JobId
    ) -> JobResponse:
        """Cancel a queued or running job: it is `cancelled` and its compute stops within 2 s."""
        job = await jobs.cancel_job(db, queue=queue, user_id=caller[0], job_id=job_id)
        return JobResponse(**jobs.job_body(job))

    return router


router = _build("/api/v1/jobs", _account_of_key, "")
dashboard_router = _build("/jobs", _account_of_user, "_dashboard")
