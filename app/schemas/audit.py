from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.models import AuditEventType


class AuditEventResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    event: AuditEventType
    user_id: int | None
    actor_id: int | None
    ip: str | None
    user_agent: str | None
    object_type: str | None
    object_id: str | None
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEventResponse]
    total: int
    limit: int
    offset: int
