from collections.abc import Awaitable, Callable
from typing import Annotated

import pydantic_core
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.api.deps import CurrentApiKey, CurrentUser, SettingsDep
from app.database import SessionDep
from app.schemas.simulation import SimulationPage, SimulationRequest, SimulationResponse
from app.services import monte_carlo
from app.services.capacity import SimulationSlots

router = APIRouter(prefix="/api/v1", tags=["simulation"])
dashboard_router = APIRouter(prefix="/simulations", tags=["simulation"])
dashboard_simulate_router = APIRouter(tags=["simulation"])

SimulationId = Annotated[str, Path(pattern=r"^sim_[0-9a-f]{12}$", examples=["sim_a3b4c5d6e7f8"])]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
_ERRORS = {
    401: {"description": "Missing, invalid, revoked or expired credentials"},
    404: {"description": "No such simulation of yours"},
}


async def get_slots(request: Request) -> SimulationSlots:
    return request.app.state.simulation_slots


SlotsDep = Annotated[SimulationSlots, Depends(get_slots)]


def _json(body: dict) -> Response:
    # Thousands of path values: serialized once, in Rust (response_model still documents it).
    return Response(pydantic_core.to_json(body), media_type="application/json")


async def _account_of_key(key: CurrentApiKey) -> tuple[int, int | None]:
    return key.user_id, key.id


async def _account_of_user(user: CurrentUser) -> tuple[int, int | None]:
    return user.id, None


def _add_simulate_route(
    target: APIRouter, account: Callable[..., Awaitable[tuple[int, int | None]]], name: str
) -> None:
    """POST /simulate for one way of authenticating: the API key's owner, or the JWT's user."""

    @target.post(
        "/simulate",
        name=name,
        response_model=SimulationResponse,
        summary="Run a Monte Carlo simulation",
        responses={
            401: _ERRORS[401],
            429: {"description": "Rate limit or compute budget reached (see Retry-After)"},
            503: {"description": "All simulation slots busy, or Bloomberg unavailable"},
        },
    )
    async def simulate(
        body: SimulationRequest,
        caller: Annotated[tuple[int, int | None], Depends(account)],
        db: SessionDep,
        settings: SettingsDep,
        slots: SlotsDep,
    ) -> Response:
        """Run a Monte Carlo simulation of the portfolio and save it.

        Same `seed` and inputs give the same numbers, bit for bit; without a seed one is drawn
        and returned in `inputs.parameters.seed`.
        """
        user_id, api_key_id = caller
        return _json(
            await monte_carlo.simulate_and_save(
                db,
                settings=settings,
                slots=slots,
                request=body,
                user_id=user_id,
                api_key_id=api_key_id,
            )
        )


_add_simulate_route(router, _account_of_key, "simulate")
_add_simulate_route(dashboard_simulate_router, _account_of_user, "simulate_for_dashboard")


async def _page(db: SessionDep, user_id: int, limit: int, offset: int) -> SimulationPage:
    items, total = await monte_carlo.list_simulations(
        db, user_id=user_id, limit=limit, offset=offset
    )
    return SimulationPage(items=items, total=total, limit=limit, offset=offset)


async def _detail(db: SessionDep, user_id: int, simulation_id: str) -> Response:
    simulation = await monte_carlo.get_simulation(db, user_id=user_id, simulation_id=simulation_id)
    return _json(monte_carlo.response_body(simulation))


@router.get(
    "/simulations",
    response_model=SimulationPage,
    responses={401: _ERRORS[401]},
    summary="List your simulations",
)
async def list_with_key(
    key: CurrentApiKey, db: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> SimulationPage:
    """Your saved simulations, newest first (summaries; open one for its paths)."""
    return await _page(db, key.user_id, limit, offset)


@router.get(
    "/simulations/{simulation_id}",
    response_model=SimulationResponse,
    responses=_ERRORS,
    summary="Get a simulation",
)
async def detail_with_key(
    key: CurrentApiKey, db: SessionDep, simulation_id: SimulationId
) -> Response:
    """One saved simulation, exactly as it was returned."""
    return await _detail(db, key.user_id, simulation_id)


@dashboard_router.get(
    "",
    response_model=SimulationPage,
    responses={401: _ERRORS[401]},
    summary="List your simulations (dashboard)",
)
async def list_for_dashboard(
    user: CurrentUser, db: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> SimulationPage:
    """Your saved simulations, newest first, for the dashboard (JWT)."""
    return await _page(db, user.id, limit, offset)


@dashboard_router.get(
    "/{simulation_id}",
    response_model=SimulationResponse,
    responses=_ERRORS,
    summary="Get a simulation (dashboard)",
)
async def detail_for_dashboard(
    user: CurrentUser, db: SessionDep, simulation_id: SimulationId
) -> Response:
    """One saved simulation, for the dashboard (JWT)."""
    return await _detail(db, user.id, simulation_id)
