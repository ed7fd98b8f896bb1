"""Chart images of saved simulations, for scripts (X-API-Key) and the dashboard (JWT).

One route, built once per way of authenticating the account.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from app.api.deps import CurrentApiKey, CurrentUser, SettingsDep
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
    401: {"description": "Missing, invalid, revoked or expired credentials"},
    404: {"description": "No such simulation of yours (or no histogram kept for it)"},
    503: {"description": "All chart rendering slots busy (see Retry-After)"},
}


async def get_chart_slots(request: Request) -> SimulationSlots:
    return request.app.state.chart_slots


ChartSlotsDep = Annotated[SimulationSlots, Depends(get_chart_slots)]


async def key_owner(key: CurrentApiKey) -> int:
    return key.user_id


async def signed_in_user(user: CurrentUser) -> int:
    return user.id


def _cache_headers(etag: str, max_age: int) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": f"private, max-age={max_age}",
        "Vary": "Authorization, X-API-Key",
    }


def build_router(
    *, prefix: str, account: Callable[..., Awaitable[int]], name: str, summary: str
) -> APIRouter:
    """The chart route under `prefix`, for the account that `account` authenticates."""
    router = APIRouter(prefix=prefix, tags=["simulation"])
    AccountId = Annotated[int, Depends(account)]

    @router.get(
        "/simulations/{simulation_id}/chart",
        name=name,
        summary=summary,
        response_class=Response,
        responses=_RESPONSES,
    )
    async def chart(
        simulation_id: SimulationId,
        query: Annotated[ChartQuery, Query()],
        user_id: AccountId,
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
            db, user_id=user_id, simulation_id=simulation_id, query=query
        )
        headers = _cache_headers(etag, settings.CHART_CACHE_SECONDS)
        if charts.etag_matches(if_none_match, etag):
            return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
        content = await charts.render_chart(
            db, slots=slots, user_id=user_id, simulation_id=simulation_id, query=query
        )
        headers["Content-Disposition"] = (
            f'inline; filename="{simulation_id}-{query.kind}.{query.format}"'
        )
        if query.format == "svg":
            headers["Content-Security-Policy"] = SVG_CONTENT_SECURITY_POLICY
        return Response(content, media_type=MEDIA_TYPES[query.format], headers=headers)

    return router


router = build_router(
    prefix="/api/v1", account=key_owner, name="get_chart", summary="Chart of a simulation"
)
dashboard_router = build_router(
    prefix="",
    account=signed_in_user,
    name="get_chart_for_dashboard",
    summary="Chart of a simulation (dashboard)",
)
