from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status

from app.api.deps import ClientDep, CurrentApiKey, CurrentUser, SettingsDep, UsageWindow
from app.api.responses import error_responses
from app.api.usage_export import CSV_RESPONSE, GranularityQuery, usage_response
from app.config import Settings
from app.database import SessionDep
from app.models import ApiKey
from app.schemas.api_key import (
    ApiKeyCount,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeySummary,
    RevokeRequest,
    RevokeResponse,
)
from app.schemas.usage import UsageReport
from app.services import api_keys, usage

router = APIRouter(prefix="/api-keys", tags=["api-keys"])
current_key_router = APIRouter(prefix="/api/v1", tags=["api-keys"])

_KEY_LIMITS = "A key limit refused it (at most MAX_ACTIVE_API_KEYS active, at least 2 remain)"
_SIGNED_IN = error_responses(401, 503)


def _described(key: ApiKey, settings: Settings) -> dict:
    now = datetime.now(UTC)
    return {
        "id": key.id,
        "key_preview": api_keys.key_preview(key, settings.API_KEY_PREFIX),
        "name": key.name,
        "status": api_keys.key_status(key, now),
        "expires_at": key.expires_at,
        "last_used_at": key.last_used_at,
        "created_at": key.created_at,
        "days_until_expiry": api_keys.days_until_expiry(key, now),
    }


@router.post(
    "/generate",
    summary="Generate an API key",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=error_responses(401, 409, 413, 422, 503, s409=_KEY_LIMITS),
)
async def generate_api_key(
    body: ApiKeyCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep, client: ClientDep
) -> ApiKeyCreated:
    """Create a key. The full key is in this response only: it is stored as a hash."""
    issued = await api_keys.create_key(
        db, settings=settings, user_id=user.id, name=body.name, client=client
    )
    described = _described(issued.record, settings)
    del described["key_preview"]
    return ApiKeyCreated(**described, user_id=user.id, key=issued.plaintext)


@router.get(
    "/list",
    response_model=list[ApiKeySummary],
    summary="List your API keys",
    responses=_SIGNED_IN,
)
async def list_api_keys(
    user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> list[ApiKeySummary]:
    """All your keys, newest first, with a preview instead of the key."""
    return [
        ApiKeySummary(**_described(key, settings))
        for key in await api_keys.list_keys(db, user_id=user.id)
    ]


@router.get(
    "/count",
    response_model=ApiKeyCount,
    summary="Count your active API keys",
    responses=_SIGNED_IN,
)
async def count_api_keys(user: CurrentUser, db: SessionDep, settings: SettingsDep) -> ApiKeyCount:
    """How many keys are active, against the limits."""
    return ApiKeyCount(**await api_keys.active_key_limits(db, settings=settings, user_id=user.id))


@router.post(
    "/revoke",
    summary="Revoke an API key",
    response_model=RevokeResponse,
    responses=error_responses(
        401, 404, 409, 413, 422, 503, s404="No such key of yours", s409=_KEY_LIMITS
    ),
)
async def revoke_api_key(
    body: RevokeRequest, user: CurrentUser, db: SessionDep, client: ClientDep
) -> RevokeResponse:
    """Revoke a key; it stops working at once. At least two active keys must remain."""
    key = await api_keys.revoke_key(db, user_id=user.id, key_id=body.api_key_id, client=client)
    return RevokeResponse(api_key_id=key.id)


@router.get(
    "/usage",
    response_model=UsageReport,
    summary="Your API usage",
    responses={**CSV_RESPONSE, **error_responses(401, 422, 503)},
)
async def my_usage(
    request: Request,
    user: CurrentUser,
    db: SessionDep,
    window: UsageWindow,
    granularity: GranularityQuery = "day",
) -> UsageReport | Response:
    """Your API calls in a time window: per endpoint, average time and error rate; and per
    period the calls, errors, mean time and paths simulated (`Accept: text/csv` for a CSV)."""
    since, until = window
    report = await usage.usage_report(
        db, since=since, until=until, granularity=granularity, user_id=user.id
    )
    return usage_response(request, UsageReport(**report))


@current_key_router.get(
    "/api-key",
    response_model=ApiKeySummary,
    summary="The API key of this request",
    responses=error_responses(401, 429, 503),
)
async def get_current_api_key(key: CurrentApiKey, settings: SettingsDep) -> ApiKeySummary:
    """The API key this request was made with: check its status and days until expiry."""
    return ApiKeySummary(**_described(key, settings))
