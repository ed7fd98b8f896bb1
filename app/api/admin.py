from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.api.deps import AdminUser, ClientDep, UsageWindow
from app.api.responses import error_responses
from app.api.usage_export import CSV_RESPONSE, GranularityQuery, usage_response
from app.database import SessionDep
from app.schemas.usage import UsageReport
from app.schemas.user import UserResponse
from app.services import accounts, usage

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get(
    "/usage",
    response_model=UsageReport,
    responses={**CSV_RESPONSE, **error_responses(401, 403, 422, 503, s403="Not an admin")},
    summary="Every user's API usage",
)
async def all_usage(
    request: Request,
    _: AdminUser,
    db: SessionDep,
    window: UsageWindow,
    granularity: GranularityQuery = "day",
) -> UsageReport | Response:
    """Every user's API calls in a time window: calls per user, time and errors per endpoint;
    and per period the calls, errors, mean time and paths simulated (`Accept: text/csv`)."""
    since, until = window
    report = await usage.usage_report(db, since=since, until=until, granularity=granularity)
    return usage_response(request, UsageReport(**report))


UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_ACCOUNT_ERRORS = {"s403": "Not an admin", "s404": "No such user"}


@router.post(
    "/users/{user_id}/disable",
    response_model=UserResponse,
    responses=error_responses(
        401, 403, 404, 409, 422, 503, s409="Your own account", **_ACCOUNT_ERRORS
    ),
    summary="Disable an account",
)
async def disable_user(
    user_id: UserId, admin: AdminUser, db: SessionDep, client: ClientDep
) -> UserResponse:
    """Disable an account: it can no longer sign in or use its API keys, and every session of
    it ends at once (enabling it again revives none)."""
    user = await accounts.set_status(
        db, admin=admin, user_id=user_id, status="disabled", client=client
    )
    return UserResponse.model_validate(user)


@router.post(
    "/users/{user_id}/enable",
    response_model=UserResponse,
    responses=error_responses(401, 403, 404, 422, 503, **_ACCOUNT_ERRORS),
    summary="Enable an account",
)
async def enable_user(
    user_id: UserId, admin: AdminUser, db: SessionDep, client: ClientDep
) -> UserResponse:
    """Enable a disabled account again; its owner signs in anew."""
    user = await accounts.set_status(
        db, admin=admin, user_id=user_id, status="active", client=client
    )
    return UserResponse.model_validate(user)
