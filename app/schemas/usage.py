from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Granularity = Literal["hour", "day", "week", "month"]


class UserCalls(BaseModel):
    user_id: int
    email: str
    total_calls: int


class EndpointUsage(BaseModel):
    endpoint: str
    total_calls: int
    avg_execution_time_ms: float
    errors: int
    error_rate_pct: float


class UsagePeriod(BaseModel):
    """One period of the usage series (also one row of its CSV export)."""

    period_start: datetime = Field(
        description="Start of the period, UTC; it runs until the next period's start."
    )
    calls: int = Field(description="API calls (/api/v1 with an API key) in the period, a count.")
    errors: int = Field(description="Those calls answered with a 4xx or 5xx status, a count.")
    avg_execution_time_ms: float | None = Field(
        description="Mean time to answer those calls, in milliseconds; null without calls."
    )
    simulations: int = Field(description="Simulations saved in the period, a count.")
    paths_simulated: int = Field(
        description="Monte Carlo paths of those simulations (as applied), a count."
    )


class UsageReport(BaseModel):
    since: datetime
    until: datetime
    calls_per_user: list[UserCalls]
    endpoints: list[EndpointUsage]
    granularity: Granularity = Field(description="Length of each period of `series`.")
    series: list[UsagePeriod] = Field(
        description="Every period overlapping [since, until), oldest first, empty ones included; "
        "only what happened inside the window counts."
    )
