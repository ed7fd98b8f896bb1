import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status

from app.config import APP_VERSION
from app.database import Database
from app.schemas.health import HealthResponse, ServiceInfo
from app.services.rate_limit import RateLimiter

router = APIRouter(tags=["health"])

_UNHEALTHY = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": HealthResponse,
        "description": "Unhealthy: the database does not answer",
    }
}


@router.get("/", response_model=ServiceInfo, summary="Service information")
async def service_info(request: Request) -> ServiceInfo:
    return ServiceInfo(
        name=request.app.title,
        version=APP_VERSION,
        docs="/docs",
        redoc="/redoc",
        openapi="/openapi.json",
        health="/health",
    )


@router.get("/health", response_model=HealthResponse, responses=_UNHEALTHY, summary="Health check")
@router.get(
    "/api/v1/health",
    response_model=HealthResponse,
    responses=_UNHEALTHY,
    summary="Health check",
    operation_id="health_v1",
)
async def health(request: Request, response: Response) -> HealthResponse:
    """Answers 200 when the database answers a query, 503 `unhealthy` when it does not.

    `rate_limiter` is `degraded` while Redis does not answer: limits are then counted in each
    worker's memory (still enforced, per worker), and the service stays healthy.
    """
    database: Database = request.app.state.database
    limiter: RateLimiter = request.app.state.rate_limiter
    database_ok, shared_limits = await asyncio.gather(
        database.is_reachable(), limiter.check_shared_storage()
    )
    if not database_ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthResponse(
        status="healthy" if database_ok else "unhealthy",
        service=request.app.title,
        version=APP_VERSION,
        timestamp=datetime.now(UTC),
        components={
            "api": "operational",
            "database": "operational" if database_ok else "unavailable",
            "rate_limiter": "operational" if shared_limits else "degraded",
        },
    )
