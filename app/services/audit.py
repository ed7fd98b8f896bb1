"""The audit trail: each security event is a row of `audit_events` (in the caller's transaction,
so it is kept exactly when the change it records is) and a log line on `app.security`.

Nothing secret goes in: no password, token, code or key, only ids and the client's address.
"""

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, AuditEventType
from app.observability.metrics import observe_security_event
from app.services.clients import ClientInfo

security_log = logging.getLogger("app.security")


def log_security_event(event: str, client: ClientInfo, user_id: int | None = None) -> None:
    observe_security_event(event)
    security_log.info(
        event,
        extra={
            "event": event,
            "user_id": user_id,
            "ip": client.ip,
            "user_agent": client.user_agent,
        },
    )


def record(
    db: AsyncSession,
    event: AuditEventType,
    *,
    client: ClientInfo,
    user_id: int | None,
    actor_id: int | None = None,
    object_type: str | None = None,
    object_id: object = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one event to the caller's unit of work. The actor is the account itself unless said."""
    db.add(
        AuditEvent(
            event=event,
            user_id=user_id,
            actor_id=actor_id if actor_id is not None else user_id,
            ip=client.ip,
            user_agent=client.user_agent,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            details=details,
        )
    )
    log_security_event(event, client, user_id)


async def list_events(
    db: AsyncSession,
    *,
    user_id: int | None = None,
    event: AuditEventType | None = None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEvent], int]:
    """A page of events, newest first, optionally of one account and of one kind; and the total."""
    filters = []
    if user_id is not None:
        filters.append(AuditEvent.user_id == user_id)
    if event is not None:
        filters.append(AuditEvent.event == event)
    total = await db.scalar(select(func.count()).select_from(AuditEvent).where(*filters))
    events = await db.scalars(
        select(AuditEvent)
        .where(*filters)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(events), total or 0
