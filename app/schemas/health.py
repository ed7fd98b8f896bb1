from datetime import datetime
from typing import Literal

from pydantic import BaseModel

ComponentStatus = Literal["operational", "unavailable"]


class HealthComponents(BaseModel):
    api: ComponentStatus
    database: ComponentStatus
    rate_limiter: Literal["operational", "degraded"]


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    service: str
    version: str
    timestamp: datetime
    components: HealthComponents


class ServiceInfo(BaseModel):
    name: str
    version: str
    docs: str
    redoc: str
    openapi: str
    health: str
