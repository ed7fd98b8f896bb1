"""Security events: one log line each, with who, from where, and never a secret."""

import logging

from app.services.clients import ClientInfo

security_log = logging.getLogger("app.security")


def log_security_event(event: str, client: ClientInfo, user_id: int | None = None) -> None:
    security_log.info(
        event,
        extra={
            "event": event,
            "user_id": user_id,
            "ip": client.ip,
            "user_agent": client.user_agent,
        },
    )
