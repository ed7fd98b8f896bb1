from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ComponentStatus = Literal["operational", "unavailable"]


class HealthComponents(BaseModel):
    api: ComponentStatus = Field(description="This process answers.")
    database: ComponentStatus = Field(description="PostgreSQL answered a query just now.")
    rate_limiter: Literal["operational", "degraded"] = Field(
        description="`degraded`: Redis cannot answer, limits are counted per worker in memory."
    )


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"] = Field(
        description="`healthy` when every component is operational."
    )
    service: str = Field(description="The service's name (APP_NAME).")
    version: str = Field(description="The service's version.")
    timestamp: datetime = Field(description="When this check ran (ISO 8601, UTC).")
    components: HealthComponents = Field(description="Each component's status.")


class ServiceInfo(BaseModel):
    name: str = Field(description="The service's name (APP_NAME).")
    version: str = Field(description="The service's version.")
    docs: str = Field(description="Path of Swagger UI.")
    redoc: str = Field(description="Path of ReDoc.")
    openapi: str = Field(description="Path of the OpenAPI document.")
    health: str = Field(description="Path of the health check.")
