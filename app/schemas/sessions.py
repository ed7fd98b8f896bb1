import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class SessionResponse(BaseModel):
    id: uuid.UUID = Field(description="The session's id (for DELETE /auth/sessions/{id}).")
    created_at: datetime = Field(description="When this sign-in happened.")
    last_used_at: datetime = Field(description="Last use of its tokens, to the minute.")
    expires_at: datetime = Field(description="When its newest tokens expire.")
    ip: str | None = Field(description="Client address at sign-in.")
    user_agent: str | None = Field(description="Client user agent at sign-in, truncated.")
    current: bool = Field(description="True for the session of this request's token.")
