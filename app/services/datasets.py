"""Datasets of an account: upload (parse, summarise, store within the count limit), list,
read, delete; and a dataset's history for a simulation."""

import datetime as dt
import secrets

import anyio
import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from app.config import Settings
from app.models import Dataset, User
from app.models.dataset import RETURNS_DTYPE
from app.schemas.simulation import SimulationRequest
from app.services.dataset_csv import DatasetKind, Month, ParsedDataset, parse_dataset_csv
from app.services.errors import Conflict, InvalidField, NotFound
from app.services.market_data import MarketHistory, estimate_from_returns

NOT_FOUND = "Dataset not found"


def new_dataset_id() -> str:
    return "ds_" + secrets.token_hex(6)


def summary_of(tickers: tuple[str, ...], monthly_returns: np.ndarray) -> dict:
    """Per ticker annual_return and annual_volatility, and the correlation, as the normal and
    Student-t models take them from the dataset (market_data.estimate_from_returns)."""
    estimates = estimate_from_returns(tickers, monthly_returns)
    return {
        "statistics": {
            ticker: {
                "annual_return": float(estimates.annual_returns[i]),
                "annual_volatility": float(estimates.annual_volatilities[i]),
            }
            for i, ticker in enumerate(tickers)
        },
        "correlation": estimates.correlation.tolist(),
    }


def _first_day(month: Month) -> dt.date:
    return dt.date(month.year, month.month, 1)


def _month_text(day: dt.date, plus_months: int = 0) -> str:
    return str(Month.index_of(day.year * 12 + day.month - 1 + plus_months))


def dataset_body(dataset: Dataset) -> dict:
    """The answer for a dataset (DatasetResponse's fields)."""
    return {
        "dataset_id": dataset.id,
        "name": dataset.name,
        "kind": dataset.kind,
        "tickers": list(dataset.tickers),
        "months": dataset.months,
        "first_month": _month_text(dataset.first_month),
        "last_month": _month_text(dataset.first_month, dataset.months - 1),
        **dataset.summary,
        "created_at": dataset.created_at,
    }


def _parsed_and_summarised(raw: bytes, kind: DatasetKind) -> tuple[ParsedDataset, dict]:
    parsed = parse_dataset_csv(raw, kind)
    return parsed, summary_of(parsed.tickers, parsed.monthly_returns)


async def create_dataset(
    db: AsyncSession, *, settings: Settings, user_id: int, name: str, kind: DatasetKind, raw: bytes
) -> Dataset:
    """Parse the CSV (a 422 naming line and column when it breaks a rule) and store it; a 409
    when the account already keeps MAX_DATASETS_PER_USER datasets."""
    # Parsing 2 MiB of CSV takes a while: in a worker thread, before any lock is taken.
    parsed, summary = await anyio.to_thread.run_sync(_parsed_and_summarised, raw, kind)
    # The account's row lock serialises its uploads, so two at once cannot pass the limit.
    await db.execute(select(User.id).where(User.id == user_id).with_for_update())
    kept = await db.scalar(
        select(func.count()).select_from(Dataset).where(Dataset.user_id == user_id)
    )
    if (kept or 0) >= settings.MAX_DATASETS_PER_USER:
        await db.rollback()
        raise Conflict(
            f"You already keep {kept} datasets (at most {settings.MAX_DATASETS_PER_USER}); "
            "delete one first"
        )
    dataset = Dataset(
        id=new_dataset_id(),
        user_id=user_id,
        name=name,
        kind=kind,
        tickers=list(parsed.tickers),
        first_month=_first_day(parsed.first_month),
        months=int(parsed.monthly_returns.shape[0]),
        returns=np.ascontiguousarray(parsed.monthly_returns, dtype=RETURNS_DTYPE).tobytes(),
        summary=summary,
    )
    db.add(dataset)
    await db.commit()
    await db.refresh(dataset, ["created_at"])
    return dataset


def _owned(user_id: int, dataset_id: str) -> object:
    return (Dataset.id == dataset_id) & (Dataset.user_id == user_id)


async def get_dataset(db: AsyncSession, *, user_id: int, dataset_id: str) -> Dataset:
    """One of the account's datasets (404 for another account's or an unknown id)."""
    dataset = await db.scalar(select(Dataset).where(_owned(user_id, dataset_id)))
    if dataset is None:
        raise NotFound(NOT_FOUND)
    return dataset


async def list_datasets(
    db: AsyncSession, *, user_id: int, limit: int, offset: int
) -> tuple[list[Dataset], int]:
    """A page of the account's datasets, newest first."""
    total = await db.scalar(
        select(func.count()).select_from(Dataset).where(Dataset.user_id == user_id)
    )
    rows = await db.scalars(
        select(Dataset)
        .where(Dataset.user_id == user_id)
        .order_by(Dataset.created_at.desc(), Dataset.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


async def delete_dataset(db: AsyncSession, *, user_id: int, dataset_id: str) -> None:
    result = await db.execute(delete(Dataset).where(_owned(user_id, dataset_id)))
    await db.commit()
    if result.rowcount != 1:
        raise NotFound(NOT_FOUND)


async def history_for_request(
    db: AsyncSession, *, user_id: int, request: SimulationRequest
) -> MarketHistory | None:
    """The request's dataset history (columns in asset order) for data source `dataset`, None
    for another source; a 422 for an id not of this account or a ticker not in the dataset.

    Ends the read's transaction: the engine runs next, for seconds, and must not hold a
    connection idle in a transaction meanwhile."""
    parameters = request.parameters
    if parameters.data_source != "dataset" or parameters.dataset_id is None:
        return None
    dataset = await db.scalar(
        select(Dataset)
        .options(undefer(Dataset.returns))
        .where(_owned(user_id, parameters.dataset_id))
    )
    await db.commit()
    if dataset is None:
        raise InvalidField(
            ("body", "parameters", "dataset_id"),
            f"no dataset {parameters.dataset_id} of yours (see GET /api/v1/datasets)",
        )
    tickers = [asset.ticker for asset in request.portfolio.assets]
    missing = [ticker for ticker in tickers if ticker not in dataset.tickers]
    if missing:
        raise InvalidField(
            ("body", "portfolio", "assets"),
            f"not columns of dataset {dataset.id}: {', '.join(missing)} (its tickers: "
            f"{', '.join(dataset.tickers)})",
        )
    columns = [dataset.tickers.index(ticker) for ticker in tickers]
    body = dataset_body(dataset)
    return MarketHistory(
        "dataset",
        np.ascontiguousarray(dataset.monthly_returns()[:, columns]),
        dataset_id=dataset.id,
        first_month=body["first_month"],
        last_month=body["last_month"],
    )
