from fastapi import APIRouter

from app.api.deps import AdminUser, UsageWindow
from app.database import SessionDep
from app.schemas.usage import UsageReport
from app.services import usage

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get(
    "/usage",
    response_model=UsageReport,
    responses={403: {"description": "Not an admin"}},
    summary="Every user's API usage",
)
async def all_usage(_: AdminUser, db: SessionDep, window: UsageWindow) -> UsageReport:
    """Every user's API calls in a time window: calls per user, time and errors per endpoint."""
    since, until = window
    return UsageReport(**await usage.usage_report(db, since=since, until=until))
