"""The strict dataset CSV reader: what it accepts, and each refusal naming line and column."""

import numpy as np
import pytest

from app.services.dataset_csv import DatasetCsvError, parse_dataset_csv
from tests.dataset_files import csv_of, months, random_returns


def _refusal(text: str | bytes, kind: str = "returns") -> DatasetCsvError:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(DatasetCsvError) as refused:
        parse_dataset_csv(raw, kind)
    return refused.value


def _returns_file(count: int = 30) -> list[str]:
    return csv_of(["SPY", "AGG"], random_returns(count, 2)).splitlines()


def test_prices_become_simple_returns_from_the_second_month() -> None:
    prices = np.linspace(100.0, 160.0, 30)[:, None] * np.array([1.0, 2.0])
    parsed = parse_dataset_csv(csv_of(["A", "B"], prices).encode(), "prices")
    assert parsed.tickers == ("A", "B")
    assert str(parsed.first_month) == "2015-02" and str(parsed.last_month) == "2017-06"
    np.testing.assert_allclose(parsed.monthly_returns, prices[1:] / prices[:-1] - 1.0, rtol=1e-15)


def test_returns_are_kept_as_given_with_dates_within_the_month() -> None:
    table = random_returns(24, 1)
    lines = ["date,X"] + [
        f"{month}-{day:02d},{float(value)!r}"
        for month, day, value in zip(months(24), range(1, 25), table[:, 0], strict=True)
    ]
    parsed = parse_dataset_csv("\n".join(lines).encode(), "returns")
    assert str(parsed.first_month) == "2015-01" and parsed.monthly_returns.shape == (24, 1)
    np.testing.assert_array_equal(parsed.monthly_returns[:, 0], table[:, 0])


def test_a_byte_order_mark_crlf_and_quoted_headers_are_read() -> None:
    lines = _returns_file()
    lines[0] = '"date","SPY","AGG"'
    raw = b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n"
    parsed = parse_dataset_csv(raw, "returns")
    assert parsed.tickers == ("SPY", "AGG") and parsed.monthly_returns.shape == (30, 2)


@pytest.mark.parametrize("raw", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(raw: bytes) -> None:
    error = _refusal(raw)
    assert error.line == 1 and "empty" in error.message


def test_a_missing_month_names_its_line() -> None:
    lines = _returns_file()
    del lines[6]  # 2015-06
    error = _refusal("\n".join(lines))
    assert (error.line, error.column) == (7, "date")
    assert "2015-06 is missing" in error.message


def test_a_duplicate_month_names_its_line() -> None:
    lines = _returns_file()
    lines.insert(5, lines[4])
    error = _refusal("\n".join(lines))
    assert (error.line, error.column) == (6, "date") and "repeats" in error.message


def test_months_out_of_order_are_refused() -> None:
    lines = _returns_file()
    lines[5] = "2015-03," + lines[5].split(",", 1)[1]
    error = _refusal("\n".join(lines))
    assert error.line == 6 and "2015-03 comes after 2015-04" in error.message


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("abc", "is not a number"),
        ("1,5", "cells"),  # an unquoted decimal comma splits the row
        ('"1,5"', "is not a number"),
        ("nan", "is not a number"),
        ("inf", "is not a number"),
        ("1e400", "not a finite number"),
        ("", "missing"),
        ("5%", "is not a number"),
        ("-1", "greater than -1"),
        ("=cmd|' /C calc'!A0", "is not a number"),
        ("@SUM(A1:A2)", "is not a number"),
    ],
)
def test_a_bad_value_names_its_line_and_column(cell: str, message: str) -> None:
    lines = _returns_file()
    month = lines[10].split(",")[0]
    lines[10] = f"{month},0.01,{cell}"
    error = _refusal("\n".join(lines))
    assert error.line == 11 and message in error.message
    if message != "cells":
        assert error.column == "AGG"
        assert "line 11, column 'AGG'" in error.message


def test_a_formula_cell_is_refused_as_text_never_evaluated() -> None:
    lines = _returns_file()
    lines[2] = f"{lines[2].split(',')[0]},=cmd|' /C calc'!A0,0.01"
    error = _refusal("\n".join(lines))
    assert error.column == "SPY" and "\"=cmd|' /C calc'!A0\" is not a number" in error.message


@pytest.mark.parametrize(("price", "message"), [("0", "greater than 0"), ("-3", "greater than 0")])
def test_prices_must_be_positive(price: str, message: str) -> None:
    prices = np.full((30, 2), 100.0)
    lines = csv_of(["A", "B"], prices).splitlines()
    lines[7] = f"{lines[7].split(',')[0]},{price},100"
    error = _refusal("\n".join(lines), "prices")
    assert (error.line, error.column) == (8, "A") and message in error.message


def test_51_tickers_are_refused_50_are_read() -> None:
    tickers = [f"T{i}" for i in range(51)]
    error = _refusal(csv_of(tickers, random_returns(24, 51)))
    assert (error.line, error.column) == (1, "T50") and "at most 50" in error.message
    parsed = parse_dataset_csv(csv_of(tickers[:50], random_returns(24, 50)).encode(), "returns")
    assert len(parsed.tickers) == 50


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("month,SPY", "must start with `date`"),
        ("date", "no ticker"),
        ("date,SPY,SPY", "repeated"),
        ("date,SPY,", "empty"),
        ('date,=HYPERLINK("x")', "spreadsheet formula"),
    ],
)
def test_bad_headers_are_refused_on_line_1(header: str, message: str) -> None:
    columns = header.count(",")
    rows = [f"{m}" + ",0.01" * columns for m in months(24)]
    error = _refusal("\n".join([header, *rows]))
    assert error.line == 1 and message in error.message


def test_too_few_and_too_many_rows_are_refused() -> None:
    assert "at least 24" in _refusal(csv_of(["A"], random_returns(23, 1))).message
    parse_dataset_csv(csv_of(["A"], random_returns(2400, 1), start_year=1800).encode(), "returns")
    error = _refusal(csv_of(["A"], random_returns(2401, 1), start_year=1800))
    assert error.line == 2402 and "more than 2400" in error.message


def test_a_row_with_the_wrong_number_of_cells_and_a_blank_line_between_months() -> None:
    lines = _returns_file()
    lines[4] += ",0.02"
    assert _refusal("\n".join(lines)).line == 5
    lines = _returns_file()
    lines.insert(8, "")
    error = _refusal("\n".join(lines))
    assert error.line == 9 and "blank line" in error.message


def test_trailing_blank_lines_are_ignored() -> None:
    parsed = parse_dataset_csv(("\n".join(_returns_file()) + "\n\n\n").encode(), "returns")
    assert parsed.monthly_returns.shape == (30, 2)


@pytest.mark.parametrize("date", ["2015-13", "2015-02-30", "Jan 2015", "2015/01", "201501"])
def test_dates_that_are_not_months_are_refused(date: str) -> None:
    lines = _returns_file()
    lines[1] = f"{date},0.01,0.01"
    error = _refusal("\n".join(lines))
    assert (error.line, error.column) == (2, "date")


def test_text_that_is_not_utf8_names_its_line() -> None:
    raw = "\n".join(_returns_file()).encode().replace(b"SPY", b"SP\xff")
    assert _refusal(raw).line == 1


def test_unbalanced_quotes_are_not_valid_csv() -> None:
    lines = _returns_file()
    lines[3] = f'{lines[3].split(",")[0]},"0.01,0.02'
    error = _refusal("\n".join(lines))
    assert error.line == 4 and "not valid CSV" in error.message
