"""Historical block bootstrap: every simulated month replays one whole historical month.

    R_i(t) = 1 + r_i(h_t),   h_t = (s_{t // b} + t mod b) mod H

over a history of H monthly simple returns r (all assets of month h together, keeping their
co-movement and fat tails), in circular blocks of b months: block n of a path starts at a month
s_n drawn uniformly from 0 .. H - 1, so b > 1 keeps the history's autocorrelation within blocks.

s_n is counter-based: a 53-bit uniform u from two words of the path's stream 2, Philox counter
(path low word, path high word, n // 2, 2), words (0, 1) for even n and (2, 3) for odd n;
s_n = floor(u H). The history is the same for every path, prepared once as a C-contiguous
(assets, H) array of gross returns 1 + r.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from app.engine.philox import INLINE, path_words
from app.engine.return_model import register

MAX_BLOCK_MONTHS = 120
_STREAM = np.uint64(2)
_SHIFT11 = np.uint64(11)


class BootstrapParameters(NamedTuple):
    gross_returns: np.ndarray  # (assets, H) 1 + r
    block_months: int


@dataclass(frozen=True)
class BootstrapReturns:
    """Resample `monthly_returns` (H months x assets, simple returns) in blocks of b months."""

    monthly_returns: np.ndarray = field(repr=False)
    block_months: int = 1

    def check(self, num_assets: int) -> None:
        history = np.asarray(self.monthly_returns, dtype=np.float64)
        if history.ndim != 2 or history.shape[1] != num_assets or history.shape[0] < 1:
            raise ValueError(
                f"monthly_returns must have shape (months, {num_assets}), got {history.shape}"
            )
        if not np.all(np.isfinite(history)) or np.any(history <= -1.0):
            raise ValueError("monthly_returns must be finite and greater than -1")
        b = self.block_months
        if not isinstance(b, (int, np.integer)) or not 1 <= b <= MAX_BLOCK_MONTHS:
            raise ValueError(f"block_months must be an integer from 1 to {MAX_BLOCK_MONTHS}")

    def kernel_parameters(
        self, annual_returns: np.ndarray, annual_volatilities: np.ndarray, factor: np.ndarray
    ) -> BootstrapParameters:
        """The history's gross returns; the normal-model inputs are not used."""
        gross = np.ascontiguousarray(1.0 + np.asarray(self.monthly_returns, dtype=np.float64).T)
        return BootstrapParameters(gross, int(self.block_months))

    def return_shift(self, weights: np.ndarray, annual_returns: np.ndarray) -> float:
        """The history's mean monthly portfolio return (rebalanced monthly)."""
        return float(np.mean(np.asarray(self.monthly_returns, dtype=np.float64) @ weights))


@njit(**INLINE)
def fill_month_indices(
    k0: np.uint64,
    k1: np.uint64,
    first: int,
    count: int,
    month: int,
    block_months: int,
    history_months: int,
    month_index: np.ndarray,
) -> None:
    """month_index[p] = h_t of path first + p; months in order (a block continues the last)."""
    if month % block_months == 0:
        block = month // block_months
        call = block // 2
        odd = block % 2 == 1
        for p in range(count):
            w0, w1, w2, w3 = path_words(k0, k1, first + p, call, _STREAM)
            high = w2 if odd else w0
            low = w3 if odd else w1
            u = (np.int64(high) * 2097152 + np.int64(low >> _SHIFT11)) * 2.0**-53
            month_index[p] = min(np.int64(u * history_months), history_months - 1)
    else:
        for p in range(count):
            following = month_index[p] + 1
            month_index[p] = 0 if following == history_months else following


@njit(**INLINE)
def _month_draws(parameters: BootstrapParameters, num_assets: int, count: int) -> np.ndarray:
    return np.empty(count, dtype=np.int64)


@njit(**INLINE)
def _draw_month(
    parameters: BootstrapParameters,
    k0: np.uint64,
    k1: np.uint64,
    first: int,
    count: int,
    month: int,
    month_index: np.ndarray,
) -> None:
    history_months = parameters.gross_returns.shape[1]
    fill_month_indices(
        k0, k1, first, count, month, parameters.block_months, history_months, month_index
    )


@njit(**INLINE)
def _asset_returns(
    parameters: BootstrapParameters,
    month_index: np.ndarray,
    asset: int,
    count: int,
    out: np.ndarray,
) -> None:
    history = parameters.gross_returns[asset]
    for p in range(count):
        out[p] = history[month_index[p]]


register(
    BootstrapParameters,
    month_draws_impl=_month_draws,
    draw_month_impl=_draw_month,
    asset_returns_impl=_asset_returns,
)
