from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.text import NoNul
from app.schemas.two_factor import Code
from app.schemas.user import NormalizedEmail


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "user@example.com", "password": "SecurePass123"}]
        },
    )

    email: NormalizedEmail
    password: Annotated[str, Field(min_length=1, max_length=1024), NoNul]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenResponse(BaseModel):
    access_token: str = Field(description="JWT to send as `Authorization: Bearer <token>`.")
    token_type: Literal["bearer"] = Field("bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        description="null with `X-Session: cookie`: then it is in the HttpOnly `mc_refresh` cookie."
    )
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.")


class LogoutResponse(BaseModel):
    message: str = Field("Logged out", description="What happened.")


class TwoFactorChallenge(BaseModel):
    """The answer of /auth/login for an account with two-factor authentication: no tokens yet."""

    two_factor_required: Literal[True] = Field(True, description="Always true: send a code.")
    challenge_token: str = Field(description="For POST /auth/login/2fa, once, with a code.")
    expires_in: int = Field(description="Seconds the challenge stays valid.")


class SecondStepLogin(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"challenge_token": "…", "code": "123456"}]},
    )

    challenge_token: str = Field(min_length=1, max_length=200)
    code: Code
