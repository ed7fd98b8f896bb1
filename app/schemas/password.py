from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.text import NoNul
from app.schemas.user import NewPassword, NormalizedEmail

CurrentPassword = Annotated[str, Field(min_length=1, max_length=1024), NoNul]


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"current_password": "SecurePass123", "new_password": "EvenBetter456"}]
        },
    )

    current_password: CurrentPassword
    new_password: NewPassword


class PasswordChanged(BaseModel):
    message: str = Field(
        "Password changed; your other devices are signed out",
        description="What happened.",
    )
    other_sessions_revoked: int = Field(description="Other sessions signed out, a count.")


class PasswordForgotten(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "user@example.com"}]}
    )

    email: NormalizedEmail


class ResetRequested(BaseModel):
    message: str = Field(
        "If an account uses this email, a reset link is on its way (valid 30 minutes)",
        description="What happened.",
    )


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=200), NoNul]
    new_password: NewPassword


class PasswordResetDone(BaseModel):
    message: str = Field(
        "Password reset; sign in with the new one",
        description="What happened.",
    )
