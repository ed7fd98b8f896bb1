from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.text import NoNul

KeyStatus = Literal["active", "revoked", "expired"]
KeyName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul
]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Production Key"}]}
    )

    name: KeyName


class ApiKeyCreated(BaseModel):
    """The only response that ever contains the full key: store it now."""

    id: int
    user_id: int
    key: str
    name: str
    status: KeyStatus
    expires_at: datetime
    last_used_at: datetime | None
    created_at: datetime
    days_until_expiry: int


class ApiKeySummary(BaseModel):
    id: int
    key_preview: str = Field(examples=["mk_live_****...xyz0"])
    name: str
    status: KeyStatus
    expires_at: datetime
    last_used_at: datetime | None
    created_at: datetime
    days_until_expiry: int


class ApiKeyCount(BaseModel):
    active_count: int
    max_active_keys: int
    min_active_keys: int
    can_generate: bool
    can_revoke: bool


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"api_key_id": 1}]})

    api_key_id: int = Field(gt=0, le=2**31 - 1)


class RevokeResponse(BaseModel):
    message: str = "API key revoked successfully"
    api_key_id: int
