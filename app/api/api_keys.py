from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status

from app.api.deps import ClientDep, CurrentApiKey, CurrentUser, SettingsDep, UsageWindow
from app.api.idempotency import STILL_RUNNING as IDEMPOTENT_STILL_RUNNING
from app.api.idempotency import IdempotencyKeyHeader, replayed_with, run_idempotently
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
from app.services import api_keys, idempotency, usage
from app.services.api_keys import IssuedKey
from app.services.idempotency import Claim

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
    responses={
        **replayed_with(status.HTTP_201_CREATED),
        **error_responses(
            401, 409, 413, 422, 503, s409=f"{_KEY_LIMITS}; or {IDEMPOTENT_STILL_RUNNING}"
        ),
    },
)
async def generate_api_key(
    body: ApiKeyCreate,
    user: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Create a key. The full key is in this response only: it is stored as a hash (and, for a
    retry with the same Idempotency-Key within 24 hours, encrypted with its response)."""

    def created(issued: IssuedKey) -> bytes:
        described = _described(issued.record, settings)
        del described["key_preview"]
        return (
            ApiKeyCreated(**described, user_id=user.id, key=issued.plaintext)
            .model_dump_json()
            .encode()
        )

    async def create(claim: Claim | None) -> Response:
        async def record(issued: IssuedKey) -> None:
            await db.refresh(issued.record)
            if claim is not None:
                await idempotency.complete_with_body(
                    db, claim, status_code=201, body=created(issued), settings=settings
                )

        issued = await api_keys.create_key(
            db,
            settings=settings,
            user_id=user.id,
            name=body.name,
            client=client,
            before_commit=record,
        )
        return Response(created(issued), status_code=201, media_type="application/json")

    return await run_idempotently(
        db,
        settings=settings,
        user_id=user.id,
        key=idempotency_key,
        operation="generate_api_key",
        request=body,
        run=create,
    )


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
