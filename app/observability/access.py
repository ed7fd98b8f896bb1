"""Who may read /metrics: the bearer of METRICS_TOKEN when one is set, else loopback clients."""

import hmac
import ipaddress

from pydantic import SecretStr

from app.services.errors import NotAuthenticated, NotFound


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
