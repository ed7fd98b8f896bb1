"""GET /metrics: Prometheus text format, all workers together (not part of the API contract)."""

import anyio
from fastapi import APIRouter, Header, Request, Response

from app.api.deps import SettingsDep
from app.observability.access import check_scrape_access
from app.observability.metrics import exposition

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(
    request: Request, settings: SettingsDep, authorization: str | None = Header(None)
) -> Response:
    check_scrape_access(
        token=settings.METRICS_TOKEN,
        authorization=authorization,
        client_host=request.client.host if request.client else None,
    )
    # Reading every worker's files is disk work: off the event loop.
    body, content_type = await anyio.to_thread.run_sync(exposition, request.headers.get("accept"))
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
