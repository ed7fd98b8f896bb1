"""Who is asking: the client's address and user agent, as the services see them."""

import ipaddress
from dataclasses import dataclass

# A device is a user agent on a network, not on one address: home and mobile addresses change
# within their provider's block from day to day.
_IPV4_NETWORK_BITS = 24
_IPV6_NETWORK_BITS = 64


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None

    @property
    def address(self) -> str:
        """The address as a key (rate limits, failed sign-ins); `unknown` when there is none."""
        return self.ip or "unknown"

    @property
    def network(self) -> str | None:
        """The client's /24 (IPv4) or /64 (IPv6) network, e.g. `203.0.113.0/24`."""
        try:
            address = ipaddress.ip_address(self.ip or "")
        except ValueError:
            return None
        bits = _IPV4_NETWORK_BITS if address.version == 4 else _IPV6_NETWORK_BITS
        return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))
