from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import AdminUser, CurrentUser
from app.api.responses import error_responses
from app.database import SessionDep
from app.models import AuditEventType
from app.schemas.audit import AuditEventResponse, AuditPage
from app.services import audit

router = APIRouter(prefix="/auth", tags=["auth"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]


async def _page(
    db: SessionDep, *, user_id: int | None, event: AuditEventType | None, limit: int, offset: int
) -> AuditPage:
    events, total = await audit.list_events(
        db, user_id=user_id, event=event, limit=limit, offset=offset
    )
    items = [AuditEventResponse.model_validate(item) for item in events]
    return AuditPage(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/audit",
    summary="Your account's security events",
    response_model=AuditPage,
    responses=error_responses(401, 422, 503),
)
async def my_audit_events(
    user: CurrentUser, db: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> AuditPage:
    """Sign-ins (and failed ones), sign-outs, sessions ended, two-factor and password changes,
    API keys generated and revoked: newest first."""
    return await _page(db, user_id=user.id, event=None, limit=limit, offset=offset)


@admin_router.get(
    "/audit",
    summary="Every account's security events",
    response_model=AuditPage,
    responses=error_responses(401, 403, 422, 503, s403="Not an admin"),
)
async def all_audit_events(
    _: AdminUser,
    db: SessionDep,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    event: AuditEventType | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AuditPage:
    """The audit trail of all accounts, newest first; filter by account and by kind of event."""
    return await _page(db, user_id=user_id, event=event, limit=limit, offset=offset)
