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
    message: str = "Password changed; your other devices are signed out"
    other_sessions_revoked: int


class PasswordForgotten(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "user@example.com"}]}
    )

    email: NormalizedEmail


class ResetRequested(BaseModel):
    message: str = "If an account uses this email, a reset link is on its way (valid 30 minutes)"


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=200), NoNul]
    new_password: NewPassword


class PasswordResetDone(BaseModel):
    message: str = "Password reset; sign in with the new one"
