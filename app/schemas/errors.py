"""Error bodies: every error answers `{"detail": ...}`, one of these two shapes."""

from pydantic import BaseModel, Field

Scalar = str | int | float | bool | None


class ErrorResponse(BaseModel):
    detail: str = Field(description="What went wrong, written for the caller.")


class FieldError(BaseModel):
    type: str = Field(description="Machine-readable kind of error, e.g. `greater_than_equal`.")
    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then the field's path."
    )
    msg: str = Field(description="What is wrong with that field, written for the caller.")
    input: Scalar = Field(
        None,
        description="The offending value when a scalar (never for secrets); absent otherwise.",
    )


class ValidationErrorResponse(BaseModel):
    detail: list[FieldError] = Field(
        description="One entry per offending field, the first 50 when there are more."
    )
    error_count: int | None = Field(
        None,
        description="How many fields were refused, when more than the 50 listed; absent otherwise.",
    )
