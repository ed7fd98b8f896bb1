"""Dataset bodies: what an upload answers, and a page of them. The upload itself is CSV."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

DatasetKindName = Literal["prices", "returns"]
MONTH_PATTERN = r"^\d{4}-\d{2}$"


class TickerStatistics(BaseModel):
    annual_return: float = Field(
        description="12 ln(mean(1 + r)) of the monthly simple returns r: the expected "
        "arithmetic return the normal and Student-t models take."
    )
    annual_volatility: float = Field(
        description="sqrt(12) std(ln(1 + r)), the sample standard deviation of monthly log returns."
    )


class DatasetResponse(BaseModel):
    dataset_id: str = Field(examples=["ds_a3b4c5d6e7f8"], description="`ds_` + 12 hex digits.")
    name: str = Field(description="The name given at upload.")
    kind: DatasetKindName = Field(
        description="What the file held: `prices` (turned into returns) or `returns`."
    )
    tickers: list[str] = Field(description="The columns after `date`, in file order.")
    months: int = Field(description="Monthly returns kept (rows, or rows - 1 for prices).")
    first_month: str = Field(
        pattern=MONTH_PATTERN, description="The first return's month, YYYY-MM."
    )
    last_month: str = Field(pattern=MONTH_PATTERN, description="The last return's month, YYYY-MM.")
    statistics: dict[str, TickerStatistics] = Field(description="Per ticker, annualised.")
    correlation: list[list[float]] = Field(
        description="Correlation of the monthly log returns ln(1 + r), in `tickers` order "
        "(0 with a series that never moves)."
    )
    created_at: datetime = Field(description="When it was uploaded (UTC).")


class DatasetPage(BaseModel):
    items: list[DatasetResponse] = Field(description="This page of your datasets, newest first.")
    total: int = Field(description="Datasets of yours in all.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Datasets skipped before this page.")
