"""Market inputs for a simulation: per-asset expected return and volatility, and a correlation.

Three sources, in order of precedence: values given in the request, estimates from a history
(Bloomberg's, `data_source="bloomberg"`, or an uploaded dataset's, `data_source="dataset"`), and
the long-run assumptions per asset class below (see
docs/engine.md for where the numbers come from). Bloomberg is reached through the optional `xbbg`
package, imported lazily; its calls block, so callers run `resolve_market_inputs` in a thread.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.services.errors import InvalidInput, Unavailable

ASSET_CLASSES = ("equity", "bonds", "cash", "real_estate", "commodities", "crypto")
DATA_SOURCES = ("assumptions", "bloomberg", "dataset")

# Long-run nominal annual assumptions: (expected arithmetic return mu, volatility sigma).
ASSUMPTIONS: dict[str, tuple[float, float]] = {
    "equity": (0.080, 0.160),
    "bonds": (0.040, 0.060),
    "cash": (0.025, 0.010),
    "real_estate": (0.065, 0.150),
    "commodities": (0.045, 0.180),
    "crypto": (0.150, 0.700),
}
# Correlation between classes, in ASSET_CLASSES order; two assets of one class get SAME_CLASS.
CLASS_CORRELATION = np.array(
    [
        [1.00, 0.10, 0.00, 0.70, 0.30, 0.30],
        [0.10, 1.00, 0.20, 0.20, 0.00, 0.00],
        [0.00, 0.20, 1.00, 0.00, 0.00, 0.00],
        [0.70, 0.20, 0.00, 1.00, 0.20, 0.20],
        [0.30, 0.00, 0.00, 0.20, 1.00, 0.15],
        [0.30, 0.00, 0.00, 0.20, 0.15, 1.00],
    ]
)
SAME_CLASS_CORRELATION = 0.80

HISTORY_YEARS = 10
MIN_MONTHLY_RETURNS = 24
FLAT_MONTHLY_STD = 1e-10
BLOOMBERG_UNAVAILABLE = "Bloomberg data source unavailable"


class MarketDataUnavailable(Unavailable):
    """Bloomberg cannot be reached (no xbbg/blpapi, no terminal, or the request failed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(BLOOMBERG_UNAVAILABLE)
        self.reason = reason


class MarketDataError(InvalidInput):
    """The request's market inputs, or the history Bloomberg returned for them, are unusable."""


class AssetSpec(Protocol):
    ticker: str
    asset_class: str
    expected_return: float | None
    volatility: float | None


@dataclass(frozen=True)
class MarketHistory:
    """The monthly history behind the estimates (what the bootstrap resamples)."""

    source: str  # "bloomberg" or "dataset"
    monthly_returns: np.ndarray  # simple returns, shape (months, assets) in request order
    dataset_id: str | None = None
    first_month: str | None = None  # YYYY-MM
    last_month: str | None = None

    def echo(self) -> dict:
        """How `inputs.history` shows it."""
        return {
            "source": self.source,
            "months": int(self.monthly_returns.shape[0]),
            "dataset_id": self.dataset_id,
            "first_month": self.first_month,
            "last_month": self.last_month,
        }


@dataclass(frozen=True)
class MarketInputs:
    """Engine-ready market inputs, with where each number came from."""

    annual_returns: np.ndarray
    annual_volatilities: np.ndarray
    correlation: np.ndarray
    sources: list[dict]
    correlation_source: str
    history: MarketHistory | None = None


@dataclass(frozen=True)
class Estimates:
    """Annualized GBM parameters estimated from monthly log returns, per ticker."""

    tickers: tuple[str, ...]
    annual_returns: np.ndarray
    annual_volatilities: np.ndarray
    correlation: np.ndarray
    monthly_returns: np.ndarray  # simple returns, shape (months, tickers)
    first_month: str | None = None  # the first return's month, YYYY-MM
    last_month: str | None = None


_cache: dict[tuple[tuple[str, ...], dt.date], Estimates] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached Bloomberg estimate."""
    with _cache_lock:
        _cache.clear()


def assumption_correlation(asset_classes: Sequence[str]) -> np.ndarray:
    """Correlation of assets from their classes (positive semi-definite for any mix)."""
    index = [ASSET_CLASSES.index(c) for c in asset_classes]
    correlation = CLASS_CORRELATION[np.ix_(index, index)].copy()
    same = np.equal.outer(index, index)
    correlation[same] = SAME_CLASS_CORRELATION
    np.fill_diagonal(correlation, 1.0)
    return correlation


def log_return_deviations(log_returns: np.ndarray) -> np.ndarray:
    """Deviations from each column's mean; none for a flat series, where rounding noise would
    otherwise show up as a (meaningless) correlation."""
    flat = log_returns.std(axis=0, ddof=1) < FLAT_MONTHLY_STD
    return np.where(flat, 0.0, log_returns - log_returns.mean(axis=0))


def log_return_correlation(log_returns: np.ndarray) -> np.ndarray:
    """Correlation of the columns of (months, tickers) log returns; 0 with a flat series."""
    deviations = log_return_deviations(log_returns)
    scale = np.sqrt((deviations**2).sum(axis=0))
    scale = np.where(scale == 0.0, 1.0, scale)
    correlation = np.clip((deviations.T @ deviations) / np.outer(scale, scale), -1.0, 1.0)
    np.fill_diagonal(correlation, 1.0)
    return correlation


def estimate_from_returns(tickers: Sequence[str], monthly_returns: np.ndarray) -> Estimates:
    """The normal and Student-t models' parameters from a history of monthly simple returns r
    (a dataset's): mu = 12 ln(mean(1 + r)), so that E[1 + r] = exp(mu / 12) as in the model;
    sigma = sqrt(12) std(ln(1 + r)) (sample std); the correlation of ln(1 + r)."""
    log_returns = np.log1p(monthly_returns)
    deviations = log_return_deviations(log_returns)
    volatility = np.sqrt(12.0 * (deviations**2).sum(axis=0) / (log_returns.shape[0] - 1))
    expected = 12.0 * np.log(np.mean(1.0 + monthly_returns, axis=0))
    correlation = log_return_correlation(log_returns)
    return Estimates(tuple(tickers), expected, volatility, correlation, monthly_returns)


def month_of(date: Any) -> str:
    """YYYY-MM of a date, a datetime or an ISO date string."""
    return date.strftime("%Y-%m") if hasattr(date, "strftime") else str(date)[:7]


def estimate_from_prices(tickers: Sequence[str], prices: np.ndarray) -> Estimates:
    """GBM parameters from aligned month-end prices, shape (months, tickers).

    With monthly log returns r: sigma = sqrt(12 var(r)) and mu = 12 mean(r) + sigma**2 / 2,
    since a GBM's log return has mean (mu - sigma**2 / 2) dt; correlation is that of r (zero
    for a series that does not move).
    """
    if np.any(~np.isfinite(prices)) or np.any(prices <= 0.0):
        raise MarketDataError("Bloomberg prices must be positive numbers")
    log_returns = np.diff(np.log(prices), axis=0)
    if log_returns.shape[0] < MIN_MONTHLY_RETURNS:
        raise MarketDataError(
            f"Bloomberg history too short: {log_returns.shape[0]} common monthly returns, "
            f"at least {MIN_MONTHLY_RETURNS} needed"
        )
    deviations = log_return_deviations(log_returns)
    volatility = np.sqrt(12.0 * (deviations**2).sum(axis=0) / (log_returns.shape[0] - 1))
    expected = 12.0 * log_returns.mean(axis=0) + 0.5 * volatility**2
    correlation = log_return_correlation(log_returns)
    simple_returns = prices[1:] / prices[:-1] - 1.0
    return Estimates(tuple(tickers), expected, volatility, correlation, simple_returns)


def _rows(frame: Any) -> Iterable[dict]:
    """Rows of a long-format BDH result (xbbg ArrowTable, pyarrow, polars or plain rows)."""
    for method in ("to_pylist", "to_dicts"):
        if hasattr(frame, method):
            return getattr(frame, method)()
    return frame


def _aligned_prices(frame: Any, tickers: Sequence[str]) -> tuple[list, np.ndarray]:
    """The dates every ticker has, and the month-end prices on them, shape (dates, tickers)."""
    series: dict[str, dict[Any, float]] = {t: {} for t in tickers}
    for row in _rows(frame):
        ticker = row.get("ticker")
        value = row.get("value_f64", row.get("value"))
        if ticker in series and value is not None and row.get("date") is not None:
            series[ticker][row["date"]] = float(value)
    missing = [t for t in tickers if not series[t]]
    if missing:
        raise MarketDataError(f"Bloomberg returned no price history for {', '.join(missing)}")
    dates = sorted(set.intersection(*(set(s) for s in series.values())))
    return dates, np.array([[series[t][d] for t in tickers] for d in dates], dtype=np.float64)


def fetch_bloomberg_estimates(tickers: Sequence[str], *, today: dt.date | None = None) -> Estimates:
    """Monthly PX_LAST history over HISTORY_YEARS via xbbg, estimated; cached per day."""
    today = today or dt.date.today()
    key = (tuple(sorted(set(tickers))), today)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    try:
        from xbbg import blp
    except Exception as error:  # ImportError, or OSError from a missing libblpapi
        raise MarketDataUnavailable(f"xbbg/blpapi cannot be loaded: {error}") from error
    start = today.replace(year=today.year - HISTORY_YEARS, day=1)
    try:
        frame = blp.bdh(
            list(key[0]),
            "PX_LAST",
            start_date=start.isoformat(),
            end_date=today.isoformat(),
            Per="M",
            backend="native",
            format="long_typed",
        )
    except Exception as error:  # no terminal / session, timeouts, entitlement errors
        raise MarketDataUnavailable(f"Bloomberg request failed: {error}") from error
    dates, prices = _aligned_prices(frame, key[0])
    estimates = dataclasses.replace(
        estimate_from_prices(key[0], prices),
        first_month=month_of(dates[1]),
        last_month=month_of(dates[-1]),
    )
    with _cache_lock:
        for stale in [k for k in _cache if k[1] != today]:
            del _cache[stale]
        _cache[key] = estimates
    return estimates


def _check(name: str, value: float | None, *, low: float, high: float) -> float | None:
    if value is not None and not (math.isfinite(value) and low <= value <= high):
        raise MarketDataError(f"{name} must be between {low} and {high}, got {value}")
    return value


def resolve_market_inputs(
    assets: Sequence[AssetSpec],
    correlation: Sequence[Sequence[float]] | np.ndarray | None = None,
    data_source: str = "assumptions",
    dataset: MarketHistory | None = None,
) -> MarketInputs:
    """Per-asset mu and sigma and the correlation: request values first, then the source.

    Bloomberg is only called for what the request leaves open; it may block for seconds.
    `dataset` is the history of data source `dataset`, its columns in asset order.
    """
    if data_source not in DATA_SOURCES:
        raise MarketDataError(f"data_source must be one of {', '.join(DATA_SOURCES)}")
    if not assets:
        raise MarketDataError("at least one asset is needed")
    for asset in assets:
        if asset.asset_class not in ASSET_CLASSES:
            raise MarketDataError(
                f"unknown asset_class {asset.asset_class!r}; use one of {', '.join(ASSET_CLASSES)}"
            )
        _check("expected_return", asset.expected_return, low=-1.0, high=10.0)
        _check("volatility", asset.volatility, low=0.0, high=10.0)
    n = len(assets)
    given = None if correlation is None else np.asarray(correlation, dtype=np.float64)
    if given is not None and given.shape != (n, n):
        raise MarketDataError(f"correlation must be a {n}x{n} matrix, got shape {given.shape}")
    needs_market = given is None or any(
        a.expected_return is None or a.volatility is None for a in assets
    )
    estimates = None
    if data_source == "dataset":
        if dataset is None:
            raise MarketDataError("data_source dataset needs the dataset's history")
        estimates = estimate_from_returns([a.ticker for a in assets], dataset.monthly_returns)
    elif data_source == "bloomberg" and needs_market:
        estimates = fetch_bloomberg_estimates([a.ticker for a in assets])
    fallback = data_source if estimates is not None else "assumptions"

    returns, vols, sources = np.empty(n), np.empty(n), []
    for i, asset in enumerate(assets):
        if estimates is not None:
            k = estimates.tickers.index(asset.ticker)
            market = (estimates.annual_returns[k], estimates.annual_volatilities[k])
        else:
            market = ASSUMPTIONS[asset.asset_class]
        returns[i] = market[0] if asset.expected_return is None else asset.expected_return
        vols[i] = market[1] if asset.volatility is None else asset.volatility
        sources.append(
            {
                "ticker": asset.ticker,
                "expected_return": float(returns[i]),
                "volatility": float(vols[i]),
                "return_source": fallback if asset.expected_return is None else "request",
                "volatility_source": fallback if asset.volatility is None else "request",
            }
        )
    history = dataset
    if estimates is not None:
        order = [estimates.tickers.index(a.ticker) for a in assets]
    if estimates is not None and data_source == "bloomberg":
        history = MarketHistory(
            "bloomberg",
            estimates.monthly_returns[:, order],
            first_month=estimates.first_month,
            last_month=estimates.last_month,
        )
    if given is not None:
        matrix, correlation_source = given, "request"
    elif estimates is not None:
        matrix = estimates.correlation[np.ix_(order, order)]
        correlation_source = data_source
    else:
        matrix = assumption_correlation([a.asset_class for a in assets])
        correlation_source = "assumptions"
    return MarketInputs(returns, vols, matrix, sources, correlation_source, history)
