from datetime import datetime

from pydantic import BaseModel


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


class UsageReport(BaseModel):
    since: datetime
    until: datetime
    calls_per_user: list[UserCalls]
    endpoints: list[EndpointUsage]
