"""GET /metrics: Prometheus text format, all workers together (not part of the API contract).

Who may read it: the bearer of METRICS_TOKEN when one is set, else loopback clients only.
"""

import hmac
import ipaddress

import anyio
from fastapi import APIRouter, Header, Request, Response
from pydantic import SecretStr

from app.api.deps import SettingsDep
from app.observability.metrics import exposition
from app.services.errors import NotAuthenticated, NotFound

router = APIRouter(include_in_schema=False)


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_scrape_access(
    *, token: SecretStr | None, authorization: str | None, client_host: str | None
) -> None:
    """Raise unless this scrape may read the metrics.

    Without a token the endpoint does not exist for remote clients (404, as for any unknown
    path); behind a proxy, uvicorn's --proxy-headers makes the client the real remote address.
    """
    if token is None:
        if not _is_loopback(client_host):
            raise NotFound("Not Found")
        return
    scheme, _, presented = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected):
        raise NotAuthenticated("A valid metrics token is required")


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
