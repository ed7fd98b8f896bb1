"""Market inputs: assumptions, request overrides, and Bloomberg through a stand-in xbbg module."""

import datetime as dt
import itertools
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest

from app.engine.simulate import correlation_factor
from app.services import market_data
from app.services.market_data import (
    ASSET_CLASSES,
    ASSUMPTIONS,
    BLOOMBERG_UNAVAILABLE,
    MarketDataError,
    MarketDataUnavailable,
    resolve_market_inputs,
)

TODAY = dt.date(2026, 1, 15)


@dataclass
class Asset:
    ticker: str
    asset_class: str
    expected_return: float | None = None
    volatility: float | None = None


def month_ends(count: int) -> list[dt.date]:
    return [dt.date(2016 + (m // 12), m % 12 + 1, 28) for m in range(count)]


def price_table() -> dict[str, np.ndarray]:
    """121 month-end prices per ticker: fixed, made once from a seeded random walk."""
    rng = np.random.default_rng(99)
    shocks = rng.standard_normal((120, 2)) @ np.linalg.cholesky([[1.0, 0.6], [0.6, 1.0]]).T
    equity = 100.0 * np.exp(np.cumsum(0.006 + 0.05 * shocks[:, 0]))
    bonds = 50.0 * np.exp(np.cumsum(0.003 + 0.015 * shocks[:, 1]))
    return {
        "NSEI Index": np.concatenate([[100.0], equity]),
        "GIND10YR Index": np.concatenate([[50.0], bonds]),
    }


class FakeTable:
    """What xbbg's native ArrowTable offers the adapter: long-format rows."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def to_pylist(self) -> list[dict]:
        return self.rows


@pytest.fixture
def fake_xbbg(monkeypatch):
    calls: list[dict] = []
    table = price_table()

    def bdh(tickers, flds, start_date=None, end_date="today", **kwargs):
        calls.append({"tickers": tickers, "flds": flds, "start": start_date, **kwargs})
        dates = month_ends(121)
        return FakeTable(
            [
                {"ticker": t, "date": d, "field": flds, "value_f64": float(p)}
                for t in tickers
                if t in table
                for d, p in zip(dates, table[t], strict=True)
            ]
        )

    module = types.ModuleType("xbbg")
    module.blp = types.SimpleNamespace(bdh=bdh)
    monkeypatch.setitem(sys.modules, "xbbg", module)
    market_data.clear_cache()
    yield calls
    market_data.clear_cache()


def reference_estimates(prices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = np.diff(np.log(prices), axis=0)
    sigma = r.std(axis=0, ddof=1) * np.sqrt(12)
    return 12 * r.mean(axis=0) + sigma**2 / 2, sigma, np.corrcoef(r.T)


def test_assumptions_by_asset_class():
    assets = [Asset("NSEI Index", "equity"), Asset("GIND10YR Index", "bonds")]
    inputs = resolve_market_inputs(assets)
    assert list(inputs.annual_returns) == [ASSUMPTIONS["equity"][0], ASSUMPTIONS["bonds"][0]]
    assert list(inputs.annual_volatilities) == [ASSUMPTIONS["equity"][1], ASSUMPTIONS["bonds"][1]]
    assert inputs.correlation_source == "assumptions"
    assert inputs.correlation[0, 1] == market_data.CLASS_CORRELATION[0, 1]
    assert {s["return_source"] for s in inputs.sources} == {"assumptions"}


def test_every_mix_of_asset_classes_gives_a_valid_correlation():
    for classes in itertools.combinations_with_replacement(ASSET_CLASSES, 4):
        correlation = market_data.assumption_correlation(classes)
        correlation_factor(correlation)  # raises when not positive semi-definite


def test_request_values_override_assumptions():
    assets = [Asset("A", "equity", expected_return=0.11), Asset("B", "crypto", volatility=0.5)]
    given = [[1.0, -0.2], [-0.2, 1.0]]
    inputs = resolve_market_inputs(assets, correlation=given)
    assert list(inputs.annual_returns) == [0.11, ASSUMPTIONS["crypto"][0]]
    assert list(inputs.annual_volatilities) == [ASSUMPTIONS["equity"][1], 0.5]
    assert np.array_equal(inputs.correlation, given)
    assert inputs.correlation_source == "request"
    assert inputs.sources[0]["return_source"] == "request"
    assert inputs.sources[0]["volatility_source"] == "assumptions"
    assert inputs.sources[1]["volatility_source"] == "request"


@pytest.mark.parametrize(
    ("assets", "kwargs", "message"),
    [
        ([Asset("A", "stocks")], {}, "asset_class"),
        ([Asset("A", "equity", volatility=-0.1)], {}, "volatility"),
        ([Asset("A", "equity")], {"correlation": [[1.0, 0.0], [0.0, 1.0]]}, "1x1"),
        ([Asset("A", "equity")], {"data_source": "reuters"}, "data_source"),
    ],
)
def test_unusable_requests_are_market_data_errors(assets, kwargs, message):
    with pytest.raises(MarketDataError, match=message):
        resolve_market_inputs(assets, **kwargs)


def test_bloomberg_estimates_come_from_the_monthly_history(fake_xbbg):
    assets = [Asset("NSEI Index", "equity"), Asset("GIND10YR Index", "bonds", volatility=0.07)]
    inputs = resolve_market_inputs(assets, data_source="bloomberg")
    table = price_table()
    mu, sigma, correlation = reference_estimates(
        np.column_stack([table["NSEI Index"], table["GIND10YR Index"]])
    )
    assert np.allclose(inputs.annual_returns, mu, rtol=1e-12)
    assert inputs.annual_volatilities[0] == pytest.approx(sigma[0], rel=1e-12)
    assert inputs.annual_volatilities[1] == 0.07  # the request still wins
    assert np.allclose(inputs.correlation, correlation, rtol=1e-12)
    assert inputs.correlation_source == "bloomberg"
    assert [s["return_source"] for s in inputs.sources] == ["bloomberg", "bloomberg"]
    assert [s["volatility_source"] for s in inputs.sources] == ["bloomberg", "request"]
    (call,) = fake_xbbg
    assert sorted(call["tickers"]) == ["GIND10YR Index", "NSEI Index"]
    assert call["flds"] == "PX_LAST" and call["Per"] == "M"


def test_a_steady_series_has_its_exact_growth_and_no_volatility():
    prices = np.column_stack([100.0 * 1.01 ** np.arange(40), 100.0 * 1.02 ** np.arange(40)])
    estimates = market_data.estimate_from_prices(["A", "B"], prices)
    assert np.allclose(estimates.annual_returns, 12 * np.log([1.01, 1.02]), rtol=1e-12)
    assert np.allclose(estimates.annual_volatilities, 0.0, atol=1e-12)
    assert np.array_equal(estimates.correlation, np.eye(2))


def test_bloomberg_estimates_are_cached_for_the_day(fake_xbbg):
    tickers = ["NSEI Index", "GIND10YR Index"]
    first = market_data.fetch_bloomberg_estimates(tickers, today=TODAY)
    again = market_data.fetch_bloomberg_estimates(tickers[::-1], today=TODAY)
    assert again is first and len(fake_xbbg) == 1
    market_data.fetch_bloomberg_estimates(tickers, today=TODAY + dt.timedelta(days=1))
    assert len(fake_xbbg) == 2
    assert fake_xbbg[0]["start"] == "2016-01-01"


def test_bloomberg_is_not_called_when_the_request_gives_everything(fake_xbbg):
    assets = [Asset("X", "equity", 0.05, 0.1), Asset("Y", "bonds", 0.02, 0.03)]
    inputs = resolve_market_inputs(assets, [[1.0, 0.3], [0.3, 1.0]], data_source="bloomberg")
    assert fake_xbbg == [] and inputs.correlation_source == "request"


def test_unknown_ticker_is_a_market_data_error(fake_xbbg):
    with pytest.raises(MarketDataError, match="UNKNOWN Index"):
        resolve_market_inputs([Asset("UNKNOWN Index", "equity")], data_source="bloomberg")


def test_missing_xbbg_is_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "xbbg", None)
    market_data.clear_cache()
    with pytest.raises(MarketDataUnavailable) as raised:
        resolve_market_inputs([Asset("NSEI Index", "equity")], data_source="bloomberg")
    assert str(raised.value) == BLOOMBERG_UNAVAILABLE


def test_installed_xbbg_without_blpapi_is_unavailable():
    market_data.clear_cache()
    with pytest.raises(MarketDataUnavailable, match=BLOOMBERG_UNAVAILABLE):
        market_data.fetch_bloomberg_estimates(["NSEI Index"], today=TODAY)


def test_a_failing_bloomberg_session_is_unavailable(monkeypatch):
    def bdh(*args, **kwargs):
        raise ConnectionError("no session to localhost:8194")

    module = types.ModuleType("xbbg")
    module.blp = types.SimpleNamespace(bdh=bdh)
    monkeypatch.setitem(sys.modules, "xbbg", module)
    market_data.clear_cache()
    with pytest.raises(MarketDataUnavailable) as raised:
        market_data.fetch_bloomberg_estimates(["NSEI Index"], today=TODAY)
    assert "8194" in raised.value.reason
