from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Granularity = Literal["hour", "day", "week", "month"]


class UserCalls(BaseModel):
    user_id: int = Field(description="The user's id.")
    email: str = Field(description="The user's email.")
    total_calls: int = Field(description="API calls in the window.")


class EndpointUsage(BaseModel):
    endpoint: str = Field(description="Route template, e.g. `/api/v1/simulate`.")
    total_calls: int = Field(description="API calls in the window.")
    avg_execution_time_ms: float = Field(description="Mean time to answer, in milliseconds.")
    errors: int = Field(description="Calls answered with a 4xx or 5xx status.")
    error_rate_pct: float = Field(description="errors / total_calls, in percent (0-100).")


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
    since: datetime = Field(description="Window start, inclusive (ISO 8601, UTC).")
    until: datetime = Field(description="Window end, exclusive (ISO 8601, UTC).")
    calls_per_user: list[UserCalls] = Field(description="Calls per user (only your own for you).")
    endpoints: list[EndpointUsage] = Field(description="Per endpoint, slowest on average first.")
    granularity: Granularity = Field(description="Length of each period of `series`.")
    series: list[UsagePeriod] = Field(
        description="Every period overlapping [since, until), oldest first, empty ones included; "
        "only what happened inside the window counts."
    )
