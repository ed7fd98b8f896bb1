"""Simulations of an account: run one, list, open and delete the saved ones.

Mounted twice by `include_account_router` (API key under /api/v1, JWT for the dashboard).
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from app.api.deps import CurrentAccount, SettingsDep
from app.api.idempotency import STILL_RUNNING as IDEMPOTENT_STILL_RUNNING
from app.api.idempotency import IdempotencyKeyHeader, replayed_with, run_idempotently
from app.api.responses import error_responses
from app.database import SessionDep
from app.schemas.simulation import SimulationRequest
from app.schemas.simulation_response import SimulationPage, SimulationResponse
from app.services import monte_carlo, saved_simulations
from app.services.capacity import SimulationSlots
from app.services.idempotency import Claim

router = APIRouter(tags=["simulations"])

SimulationId = Annotated[
    str,
    Path(
        pattern=r"^sim_[0-9a-f]{12}$",
        description="A simulation id: `sim_` + 12 hex digits.",
        examples=["sim_a3b4c5d6e7f8"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
_NOT_FOUND = {"s404": "No such simulation of yours"}


async def get_slots(request: Request) -> SimulationSlots:
    return request.app.state.simulation_slots


SlotsDep = Annotated[SimulationSlots, Depends(get_slots)]


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.post(
    "/simulate",
    response_model=SimulationResponse,
    summary="Run a Monte Carlo simulation",
    responses={
        **replayed_with(200),
        **error_responses(
            401,
            409,
            413,
            422,
            429,
            503,
            s409=IDEMPOTENT_STILL_RUNNING,
            s429="Rate limit or per-account compute budget reached (see Retry-After)",
            s503="All simulation slots busy, Bloomberg unavailable, or the database cannot answer",
        ),
    },
)
async def simulate(
    body: SimulationRequest,
    account: CurrentAccount,
    db: SessionDep,
    settings: SettingsDep,
    slots: SlotsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Run a Monte Carlo simulation of the portfolio and save it (the account keeps its newest
    SAVED_SIMULATIONS_PER_ACCOUNT runs: saving one prunes the oldest beyond the quota).

    Same `seed` and inputs give the same numbers, bit for bit; without a seed one is drawn and
    returned in `inputs.parameters.seed`. Send an `Idempotency-Key` to retry safely.
    """

    async def run(claim: Claim | None) -> Response:
        return _json(
            await monte_carlo.simulate_and_save(
                db,
                settings=settings,
                slots=slots,
                request=body,
                user_id=account.user_id,
                api_key_id=account.api_key_id,
                claim=claim,
            )
        )

    return await run_idempotently(
        db,
        settings=settings,
        user_id=account.user_id,
        key=idempotency_key,
        operation="simulate",
        request=body,
        run=run,
    )


@router.get(
    "/simulations",
    response_model=SimulationPage,
    summary="List your simulations",
    responses=error_responses(401, 422, 429, 503),
)
async def list_simulations(
    account: CurrentAccount, db: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> SimulationPage:
    """Your saved simulations, newest first (summaries; open one for its chart data)."""
    items, total = await saved_simulations.list_simulations(
        db, user_id=account.user_id, limit=limit, offset=offset
    )
    return SimulationPage(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/simulations/{simulation_id}",
    response_model=SimulationResponse,
    summary="Get a simulation",
    responses=error_responses(401, 404, 422, 429, 503, **_NOT_FOUND),
)
async def get_simulation(
    account: CurrentAccount, db: SessionDep, simulation_id: SimulationId
) -> Response:
    """One saved simulation, exactly the bytes its POST answered."""
    return _json(
        await saved_simulations.saved_response(
            db, user_id=account.user_id, simulation_id=simulation_id
        )
    )


@router.delete(
    "/simulations/{simulation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a simulation",
    responses=error_responses(401, 404, 422, 429, 503, **_NOT_FOUND),
)
async def delete_simulation(
    account: CurrentAccount, db: SessionDep, simulation_id: SimulationId
) -> None:
    """Delete one of your saved simulations, its charts with it; it is gone at once."""
    await saved_simulations.delete_simulation(
        db, user_id=account.user_id, simulation_id=simulation_id
    )
