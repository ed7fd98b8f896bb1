from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.text import PlainText

KeyStatus = Literal["active", "revoked", "expired"]
KeyName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PlainText
]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Production Key"}]}
    )

    name: KeyName = Field(description="Your name for the key, 1-100 characters.")


class _ApiKeyFields(BaseModel):
    id: int = Field(description="The key's id (for revoke).")
    name: str = Field(description="Your name for the key.")
    status: KeyStatus = Field(description="`active`, `revoked` or `expired`.")
    expires_at: datetime = Field(description="When it stops working (ISO 8601, UTC).")
    last_used_at: datetime | None = Field(description="Last accepted use; null if never.")
    created_at: datetime = Field(description="When it was created (ISO 8601, UTC).")
    days_until_expiry: int = Field(description="Whole days left, rounded up; 0 once expired.")


class ApiKeyCreated(_ApiKeyFields):
    """The only response that ever contains the full key: store it now."""

    user_id: int = Field(description="Its owner's id.")
    key: str = Field(description="The full key, shown only here: send it as X-API-Key.")


class ApiKeySummary(_ApiKeyFields):
    key_preview: str = Field(
        description="The prefix and last 4 characters.", examples=["mk_live_****...xyz0"]
    )


class ApiKeyCount(BaseModel):
    active_count: int = Field(description="Your active (not revoked, not expired) keys.")
    max_active_keys: int = Field(description="Most active keys allowed (MAX_ACTIVE_API_KEYS).")
    min_active_keys: int = Field(description="Fewest active keys a revoke may leave (2).")
    can_generate: bool = Field(description="active_count < max_active_keys.")
    can_revoke: bool = Field(description="active_count > min_active_keys.")


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"api_key_id": 1}]})

    api_key_id: int = Field(
        gt=0, le=2**31 - 1, strict=True, description="The id of the key to revoke."
    )  # strict: not "5", not 5.0


class RevokeResponse(BaseModel):
    message: str = Field("API key revoked successfully", description="What happened.")
    api_key_id: int = Field(description="The revoked key's id.")
