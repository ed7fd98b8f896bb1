"""Datasets of an account: upload a monthly history as CSV, list, open and delete them.

Mounted twice by `include_account_router` (API key under /api/v1, JWT for the dashboard).
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import StringConstraints

from app.api.deps import CurrentAccount, SettingsDep
from app.api.responses import error_responses
from app.api.routing import API_PREFIX
from app.database import SessionDep
from app.schemas.dataset import DatasetKindName, DatasetPage, DatasetResponse
from app.schemas.text import PlainText
from app.services import datasets
from app.services.errors import UnsupportedMediaType

router = APIRouter(tags=["datasets"])

CSV_MEDIA_TYPES = ("text/csv", "text/plain", "application/csv")
CSV_EXAMPLE = (
    "date,SPY,AGG\n2019-01,250.18,106.31\n2019-02,257.32,106.22\n2019-03,261.50,108.24\n..."
)
DatasetId = Annotated[
    str,
    Path(
        pattern=r"^ds_[0-9a-f]{12}$",
        description="A dataset id: `ds_` + 12 hex digits.",
        examples=["ds_a3b4c5d6e7f8"],
    ),
]
DatasetName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    PlainText,
    Query(description="A name to know it by, 1 to 100 characters.", examples=["US 60/40"]),
]
DatasetKindQuery = Annotated[
    DatasetKindName,
    Query(description="`prices` (month-end prices, turned into returns) or `returns`."),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
_NOT_FOUND = {"s404": "No such dataset of yours"}
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "The CSV file itself: a header `date,<ticker>,...`, then one row per "
        "month (YYYY-MM or a date within the month), consecutive months, 24 to 2,400 rows, "
        "1 to 50 tickers, at most MAX_DATASET_BYTES (2 MiB).",
        "content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
    }
}


def dataset_upload_limits(max_dataset_bytes: int) -> dict[str, tuple[int, str]]:
    """The body-size limit of the upload routes: MAX_DATASET_BYTES, not MAX_REQUEST_BYTES."""
    limit = (max_dataset_bytes, "MAX_DATASET_BYTES")
    return {f"{API_PREFIX}/datasets": limit, "/datasets": limit}


@router.post(
    "/datasets",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetResponse,
    summary="Upload a dataset (CSV)",
    openapi_extra=_CSV_BODY,
    responses=error_responses(
        401,
        409,
        413,
        415,
        422,
        429,
        503,
        s409="You already keep MAX_DATASETS_PER_USER datasets (50): delete one first",
        s413="The file is larger than MAX_DATASET_BYTES (2 MiB)",
        s415="The body is not sent as Content-Type: text/csv",
        s422="The file breaks a rule: each entry names its line and column",
    ),
)
async def upload_dataset(
    request: Request,
    account: CurrentAccount,
    db: SessionDep,
    settings: SettingsDep,
    name: DatasetName,
    kind: DatasetKindQuery = "prices",
) -> DatasetResponse:
    """Upload a monthly history to simulate on (`data_source: "dataset"`).

    Prices become monthly simple returns r; the answer shows per ticker annual_return =
    12 ln(mean(1 + r)) and annual_volatility = sqrt(12) std(ln(1 + r)), and the correlation
    of ln(1 + r). Cells are read as text, only ever parsed as months and numbers.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CSV_MEDIA_TYPES:
        raise UnsupportedMediaType(
            "Send the CSV file as the request body with Content-Type: text/csv"
        )
    dataset = await datasets.create_dataset(
        db,
        settings=settings,
        user_id=account.user_id,
        name=name,
        kind=kind,
        raw=await request.body(),
    )
    return DatasetResponse(**datasets.dataset_body(dataset))


@router.get(
    "/datasets",
    response_model=DatasetPage,
    summary="List your datasets",
    responses=error_responses(401, 422, 429, 503),
)
async def list_datasets(
    account: CurrentAccount, db: SessionDep, limit: Limit = 50, offset: Offset = 0
) -> DatasetPage:
    """Your datasets, newest first."""
    items, total = await datasets.list_datasets(
        db, user_id=account.user_id, limit=limit, offset=offset
    )
    return DatasetPage(
        items=[DatasetResponse(**datasets.dataset_body(d)) for d in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/datasets/{dataset_id}",
    response_model=DatasetResponse,
    summary="Get a dataset",
    responses=error_responses(401, 404, 422, 429, 503, **_NOT_FOUND),
)
async def get_dataset(
    account: CurrentAccount, db: SessionDep, dataset_id: DatasetId
) -> DatasetResponse:
    """One of your datasets: the body its upload answered."""
    dataset = await datasets.get_dataset(db, user_id=account.user_id, dataset_id=dataset_id)
    return DatasetResponse(**datasets.dataset_body(dataset))


@router.delete(
    "/datasets/{dataset_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a dataset",
    responses=error_responses(401, 404, 422, 429, 503, **_NOT_FOUND),
)
async def delete_dataset(account: CurrentAccount, db: SessionDep, dataset_id: DatasetId) -> None:
    """Delete one of your datasets; saved simulations run on it keep their results."""
    await datasets.delete_dataset(db, user_id=account.user_id, dataset_id=dataset_id)
