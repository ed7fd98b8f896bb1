"""Dataset CSV files for tests, and their upload through the API."""

import httpx
import numpy as np


def months(count: int, start_year: int = 2015, start_month: int = 1) -> list[str]:
    first = start_year * 12 + start_month - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, first + count)]


def csv_of(tickers: list[str], table: np.ndarray, *, start_year: int = 2015) -> str:
    """`date,<tickers>` then one row per month of `table` (shape months x tickers)."""
    lines = [",".join(["date", *tickers])]
    for month, row in zip(months(len(table), start_year), table, strict=True):
        lines.append(",".join([month, *(repr(float(v)) for v in row)]))
    return "\n".join(lines) + "\n"


def random_returns(months_count: int, tickers: int, seed: int = 1) -> np.ndarray:
    generator = np.random.default_rng(seed)
    return generator.normal(0.006, 0.04, size=(months_count, tickers))


async def upload(
    client: httpx.AsyncClient,
    headers: dict,
    content: str | bytes,
    *,
    name: str = "History",
    kind: str = "returns",
    prefix: str = "/api/v1",
    content_type: str = "text/csv",
) -> httpx.Response:
    return await client.post(
        f"{prefix}/datasets",
        params={"name": name, "kind": kind},
        content=content,
        headers={**headers, "Content-Type": content_type},
    )
