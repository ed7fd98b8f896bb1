"""The Idempotency-Key header of the POSTs that create something, and how such a route runs:
claimed first, then run (recording its response), or answered from the stored response."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.services import idempotency
from app.services.idempotency import Claim, Replay

REPLAYED = "Idempotent-Replayed"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="1-255 printable ASCII characters, e.g. a UUID. A retry with the same key "
        "and the same body within 24 hours gets the first response (`Idempotent-Replayed: "
        "true`) and creates nothing; the same key with another body is a 422, and while the "
        "first request still runs, a 409.",
    ),
]

REPLAY_HEADERS = {
    REPLAYED: {
        "description": "`true` when this is the stored response of an earlier request with the "
        "same Idempotency-Key; absent otherwise.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
STILL_RUNNING = "A request with this Idempotency-Key is still running (see Retry-After)"


def replayed_with(status_code: int) -> dict[int | str, dict[str, Any]]:
    """The success response's documentation: it may be a replay."""
    return {status_code: {"headers": REPLAY_HEADERS}}


async def run_idempotently(
    db: AsyncSession,
    *,
    settings: Settings,
    user_id: int,
    key: str | None,
    operation: str,
    request: BaseModel,
    run: Callable[[Claim | None], Awaitable[Response]],
) -> Response:
    """`run(claim)` the request, or answer the stored response of the key's first use.

    `run` must record its outcome on the claim inside its own transaction (a claim of None
    means no key was sent). The request is compared as its validated, defaults-filled JSON.
    """
    if key is None:
        return await run(None)
    outcome = await idempotency.claim(
        db,
        user_id=user_id,
        key=key,
        operation=operation,
        request=request.model_dump_json(),
        settings=settings,
    )
    if isinstance(outcome, Replay):
        return Response(
            outcome.body,
            status_code=outcome.status_code,
            media_type="application/json",
            headers={REPLAYED: "true"},
        )
    try:
        return await run(outcome)
    except BaseException:
        await idempotency.release(db, outcome)
        raise
