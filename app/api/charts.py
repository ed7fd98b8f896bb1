"""Chart images of saved simulations, for scripts (X-API-Key) and the dashboard (JWT).

Mounted twice by `include_account_router`, like the simulation routes.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from app.api.deps import CurrentAccount, SettingsDep
from app.api.responses import error_responses
from app.api.simulation import SimulationId
from app.charts import MEDIA_TYPES, SVG_CONTENT_SECURITY_POLICY
from app.database import SessionDep
from app.schemas.chart import ChartQuery
from app.services import charts
from app.services.capacity import SimulationSlots

_RESPONSES: dict[int | str, dict] = {
    200: {
        "description": "The chart image",
        "content": {
            "image/svg+xml": {"schema": {"type": "string"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    304: {"description": "Not modified: the If-None-Match ETag is current"},
    **error_responses(
        401,
        404,
        422,
        429,
        503,
        s404="No such simulation of yours (or no histogram kept for it)",
        s503="All chart rendering slots busy, or the database cannot answer (see Retry-After)",
    ),
}


async def get_chart_slots(request: Request) -> SimulationSlots:
    return request.app.state.chart_slots


ChartSlotsDep = Annotated[SimulationSlots, Depends(get_chart_slots)]


def _cache_headers(etag: str, max_age: int) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": f"private, max-age={max_age}",
        "Vary": "Authorization, X-API-Key",
    }


router = APIRouter(tags=["simulations"])


@router.get(
    "/simulations/{simulation_id}/chart",
    summary="Chart of a simulation",
    response_class=Response,
    responses=_RESPONSES,
)
async def get_chart(
    simulation_id: SimulationId,
    query: Annotated[ChartQuery, Query()],
    account: CurrentAccount,
    db: SessionDep,
    settings: SettingsDep,
    slots: ChartSlotsDep,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """A fan chart (value over time) or a histogram (final values) of a saved simulation.

    Deterministic: the same simulation and query give the same bytes and the same `ETag`;
    send it back in `If-None-Match` to get 304. SVG carries a `<title>` and `<desc>`.
    """
    etag = await charts.current_etag(
        db, user_id=account.user_id, simulation_id=simulation_id, query=query
    )
    headers = _cache_headers(etag, settings.CHART_CACHE_SECONDS)
    if charts.etag_matches(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    content = await charts.render_chart(
        db, slots=slots, user_id=account.user_id, simulation_id=simulation_id, query=query
    )
    headers["Content-Disposition"] = (
        f'inline; filename="{simulation_id}-{query.kind}.{query.format}"'
    )
    if query.format == "svg":
        headers["Content-Security-Policy"] = SVG_CONTENT_SECURITY_POLICY
    return Response(content, media_type=MEDIA_TYPES[query.format], headers=headers)
