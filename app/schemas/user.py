from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field
from pydantic_core import PydanticCustomError

from app.schemas.text import PlainText
from app.security import BCRYPT_MAX_BYTES


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased: one account per address, whatever its letter case."""
    return value.strip().lower()


MAX_EMAIL_LOCAL_PART = 64  # RFC 5321, 4.5.3.1.1


def _check_local_part(email: str) -> str:
    if len(email.rpartition("@")[0]) > MAX_EMAIL_LOCAL_PART:
        raise PydanticCustomError(
            "email_local_part_too_long",
            "The part of the email before @ must be at most {limit} characters",
            {"limit": MAX_EMAIL_LOCAL_PART},
        )
    return email


NormalizedEmail = Annotated[
    EmailStr,
    BeforeValidator(lambda v: normalize_email(v) if isinstance(v, str) else v),
    AfterValidator(_check_local_part),
]

PASSWORD_RULES = (
    (lambda p: len(p) >= 8, "be at least 8 characters long"),
    (lambda p: any(c.isupper() for c in p), "contain an upper-case letter"),
    (lambda p: any(c.islower() for c in p), "contain a lower-case letter"),
    (lambda p: any(c.isdigit() for c in p), "contain a digit"),
    (lambda p: len(p.encode()) <= BCRYPT_MAX_BYTES, "be at most 72 bytes in UTF-8"),
    (lambda p: "\x00" not in p, "not contain NUL characters"),
)


def _check_password_rules(password: str) -> str:
    broken = [rule for check, rule in PASSWORD_RULES if not check(password)]
    if broken:
        raise PydanticCustomError(
            "password_rules", "Password must {rules}", {"rules": "; must ".join(broken)}
        )
    return password


NewPassword = Annotated[str, AfterValidator(_check_password_rules)]


class UserRegister(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "user@example.com",
                    "password": "SecurePass123",
                    "full_name": "John Doe",
                    "company": "Acme Corp",
                }
            ]
        },
    )

    email: NormalizedEmail
    password: NewPassword
    full_name: Annotated[str, Field(max_length=200), PlainText] | None = None
    company: Annotated[str, Field(max_length=200), PlainText] | None = None


class AdminAccount(BaseModel):
    """Input of `python -m app create-admin`: the same rules as registration."""

    email: NormalizedEmail
    password: NewPassword | None = None


class UserResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The user's id.")
    email: str = Field(description="Login email, lower-cased.")
    full_name: str | None = Field(description="As registered; null if not given.")
    company: str | None = Field(description="As registered; null if not given.")
    status: str = Field(description="`active`, or `disabled` by an operator.")
    role: str = Field(description="`user` or `admin`.")
    created_at: datetime = Field(description="When the account was created (ISO 8601, UTC).")
    updated_at: datetime = Field(description="Last change to the account (ISO 8601, UTC).")
