from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.text import NoNul

Code = Annotated[
    str,
    Field(min_length=6, max_length=32, description="A 6-digit TOTP code, or a backup code."),
    NoNul,
]


class TwoFactorStatus(BaseModel):
    enabled: bool = Field(description="Two-factor authentication is on for your account.")
    backup_codes_left: int = Field(description="Unused backup codes (0 while it is off).")


class TwoFactorSetup(BaseModel):
    secret: str = Field(description="The base32 secret, for apps that cannot scan the QR code.")
    otpauth_uri: str = Field(description="otpauth://totp/... for authenticator apps.")
    qr_svg: str = Field(description="The otpauth URI as a QR code, an SVG document.")


class TwoFactorEnable(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "123456"}]})

    code: Annotated[
        str, Field(min_length=6, max_length=6, pattern=r"^\d{6}$", description="A TOTP code.")
    ]


class BackupCodes(BaseModel):
    message: str = Field(
        "Two-factor authentication is on. Keep these codes safe: they are shown once.",
        description="What happened.",
    )
    backup_codes: list[str] = Field(description="10 codes, each good for one sign-in.")


class TwoFactorDisable(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"password": "SecurePass123", "code": "123456"}]},
    )

    password: Annotated[str, Field(min_length=1, max_length=1024), NoNul]
    code: Code


class TwoFactorDisabled(BaseModel):
    message: str = Field(
        "Two-factor authentication is off",
        description="What happened.",
    )
