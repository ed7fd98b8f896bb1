from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models import AuditEventType


class AuditDetail(BaseModel):
    name: str = Field(description="What the fact is about.")
    value: str = Field(description="Its value, as text.")


class AuditEventResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The event's id (increasing).")
    created_at: datetime = Field(description="When it happened (ISO 8601, UTC).")
    event: AuditEventType = Field(description="What happened.")
    user_id: int | None = Field(description="The account it happened to.")
    actor_id: int | None = Field(description="Who did it: the account itself, or an admin.")
    ip: str | None = Field(description="Client address.")
    user_agent: str | None = Field(description="Client user agent, truncated.")
    object_type: str | None = Field(description="Kind of object acted on, e.g. `api_key`.")
    object_id: str | None = Field(description="Its id.")
    details: list[AuditDetail] = Field(description="Further facts, as name/value pairs.")

    @field_validator("details", mode="before")
    @classmethod
    def _as_pairs(cls, stored: object) -> object:
        # Stored as a JSON object; answered as typed pairs so the contract has no open dict.
        if stored is None:
            return []
        if isinstance(stored, dict):
            return [{"name": str(k), "value": str(v)} for k, v in stored.items()]
        return stored


class AuditPage(BaseModel):
    items: list[AuditEventResponse] = Field(description="Newest first.")
    total: int = Field(description="Matching events across pages.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Items skipped before this page.")
