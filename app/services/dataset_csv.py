"""The strict CSV reader of uploaded datasets: `date,<ticker>,...`, one row per month.

Every cell is read as text and only ever parsed as an ISO month or a plain decimal number: a
cell such as `=cmd|' /C calc'!A0` is refused as "not a number", never evaluated. Each refusal
names its line (1 = the header) and its column, so a user can fix the file.
"""

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.services.errors import InvalidField

DatasetKind = Literal["prices", "returns"]
MIN_ROWS = 24
MAX_ROWS = 2_400
MAX_TICKERS = 50
MAX_TICKER_LENGTH = 64
DATE_COLUMN = "date"

_MONTH = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# What a spreadsheet would run as a formula when the tickers are exported again.
_FORMULA_START = ("=", "+", "-", "@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class DatasetCsvError(InvalidField):
    """The file breaks a rule; `line` is 1-based (the header is line 1), `column` its name."""

    def __init__(self, line: int, column: str | None, message: str) -> None:
        where = f"line {line}" + (f", column {column!r}" if column is not None else "")
        super().__init__(
            ("body", f"line {line}", *(() if column is None else (column,))), f"{where}: {message}"
        )
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def index_of(cls, index: int) -> "Month":
        return cls(index // 12, index % 12 + 1)

    @property
    def index(self) -> int:
        return self.year * 12 + self.month - 1

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class ParsedDataset:
    """Monthly simple returns, shape (months, tickers); `first_month` is the first return's."""

    tickers: tuple[str, ...]
    first_month: Month
    monthly_returns: np.ndarray

    @property
    def last_month(self) -> Month:
        return Month.index_of(self.first_month.index + self.monthly_returns.shape[0] - 1)


def _text(raw: bytes) -> str:
    if not raw.strip():
        raise DatasetCsvError(1, None, "the file is empty: send a header `date,<ticker>,...`")
    try:
        return raw.decode("utf-8-sig")  # a spreadsheet's byte-order mark is dropped
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DatasetCsvError(line, None, "the file is not UTF-8 text") from None


def _tickers(header: list[str]) -> tuple[str, ...]:
    cells = [cell.strip() for cell in header]
    if not cells or cells[0].lower() != DATE_COLUMN:
        first = cells[0] if cells else ""
        raise DatasetCsvError(1, first, "the header must start with `date`, then the tickers")
    tickers = cells[1:]
    if not tickers:
        raise DatasetCsvError(1, None, "the header names no ticker after `date`")
    if len(tickers) > MAX_TICKERS:
        raise DatasetCsvError(
            1,
            tickers[MAX_TICKERS][:20],
            f"{len(tickers)} tickers; at most {MAX_TICKERS} columns after `date`",
        )
    for ticker in tickers:
        if not ticker:
            raise DatasetCsvError(1, ticker, "a ticker is empty")
        if len(ticker) > MAX_TICKER_LENGTH:
            raise DatasetCsvError(1, ticker[:20], f"longer than {MAX_TICKER_LENGTH} characters")
        if _CONTROL.search(ticker):
            raise DatasetCsvError(1, ticker, "a ticker must not contain control characters")
        if ticker.startswith(_FORMULA_START):
            raise DatasetCsvError(
                1, ticker, "a ticker must not start with = + - or @ (a spreadsheet formula)"
            )
        if tickers.count(ticker) > 1:
            raise DatasetCsvError(1, ticker, "this ticker is repeated")
    return tuple(tickers)


def _month(cell: str, line: int) -> Month:
    match = _MONTH.fullmatch(cell.strip())
    if match is None:
        raise DatasetCsvError(
            line, DATE_COLUMN, f"{cell[:40]!r} is not a month (YYYY-MM or YYYY-MM-DD)"
        )
    year, month, day = (int(part) if part else 1 for part in match.groups())
    try:
        dt.date(year, month, day)
    except ValueError:
        raise DatasetCsvError(line, DATE_COLUMN, f"{cell!r} is not a calendar date") from None
    return Month(year, month)


def _number(cell: str, line: int, ticker: str, kind: DatasetKind) -> float:
    text = cell.strip()
    if not text:
        raise DatasetCsvError(line, ticker, "the value is missing")
    if _NUMBER.fullmatch(text) is None:
        raise DatasetCsvError(line, ticker, f"{text[:40]!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise DatasetCsvError(line, ticker, f"{text[:40]!r} is not a finite number")
    if kind == "prices" and value <= 0:
        raise DatasetCsvError(line, ticker, f"a price must be greater than 0, got {text}")
    if kind == "returns" and value <= -1:
        raise DatasetCsvError(line, ticker, f"a return must be greater than -1, got {text}")
    return value


def _next_month(month: Month, previous: Month | None, line: int) -> None:
    if previous is None or month.index == previous.index + 1:
        return
    if month.index == previous.index:
        problem = f"{month} repeats the month of the line before"
    elif month.index < previous.index:
        problem = f"{month} comes after {previous}: months must be in increasing order"
    else:
        problem = f"{month} follows {previous}: {Month.index_of(previous.index + 1)} is missing"
    raise DatasetCsvError(line, DATE_COLUMN, problem + " (months must be consecutive)")


def parse_dataset_csv(raw: bytes, kind: DatasetKind) -> ParsedDataset:
    """The file's monthly simple returns (prices turned into returns), or a DatasetCsvError."""
    reader = csv.reader(io.StringIO(_text(raw), newline=""), strict=True)
    rows = list(_rows(_records(reader), kind))
    tickers, months, values = rows[0][0], [r[0] for r in rows[1:]], [r[1] for r in rows[1:]]
    if len(months) < MIN_ROWS:
        raise DatasetCsvError(
            len(months) + 1, None, f"{len(months)} months; at least {MIN_ROWS} rows are needed"
        )
    table = np.array(values, dtype=np.float64).reshape(len(months), len(tickers))
    if kind == "prices":
        return ParsedDataset(tickers, months[1], table[1:] / table[:-1] - 1.0)
    return ParsedDataset(tickers, months[0], table)


def _records(reader: "csv._reader") -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its cells); a CSV error names the line it started on."""
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise DatasetCsvError(
                line, None, f"not valid CSV from this line on ({error}): a quote left open?"
            ) from None
        yield line, row


def _rows(records: Iterator[tuple[int, list[str]]], kind: DatasetKind) -> Iterator[tuple]:
    """(tickers,) for the header, then (month, values) per row; blank lines only at the end."""
    _, header = next(records, (1, []))
    if not header:
        raise DatasetCsvError(1, None, "the file is empty: send a header `date,<ticker>,...`")
    tickers = _tickers(header)
    yield (tickers,)
    previous: Month | None = None
    blank_line: int | None = None
    count = 0
    for line, row in records:
        if not any(cell.strip() for cell in row):
            blank_line = blank_line or line
            continue
        if blank_line is not None:
            raise DatasetCsvError(blank_line, None, "a blank line between the months")
        count += 1
        if count > MAX_ROWS:
            raise DatasetCsvError(line, None, f"more than {MAX_ROWS} months (rows)")
        if len(row) != len(tickers) + 1:
            raise DatasetCsvError(
                line, None, f"{len(row)} cells; the header has {len(tickers) + 1}"
            )
        month = _month(row[0], line)
        _next_month(month, previous, line)
        previous = month
        yield (
            month,
            [
                _number(cell, line, ticker, kind)
                for cell, ticker in zip(row[1:], tickers, strict=True)
            ],
        )
