"""Fat-tailed returns: a multivariate Student-t with integer degrees of freedom nu (3 to 100).

    log R_i = (mu_i - sigma_i**2 / 2) dt + sigma_i sqrt(dt) X_i,   X = L Z sqrt((nu - 2) / W)

with Z ~ N(0, I) the same normals as the normal model and W ~ chi2_nu drawn once per path-month
and shared by all assets, so all assets crash together (tail dependence) while X keeps unit
variance and correlation C: E[(nu - 2) / W] = 1. X_i is exactly Student-t with nu degrees of
freedom scaled to unit variance; its kurtosis is 3 + 6 / (nu - 4) for nu > 4. In the model
E[R_i] is infinite (a t has no exponential moment); mu and sigma keep their normal-model
meaning for the median (log R has median (mu - sigma**2 / 2) dt) and the volatility of log R.

W is drawn exactly and counter-based by chi_square.fill_pair_scales, two months at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from app.engine.chi_square import fill_pair_scales
from app.engine.philox import INLINE, fast_exp, fill_month_normals
from app.engine.return_model import register
from app.engine.returns_normal import (
    correlated_shocks,
    lognormal_shift,
    lognormal_terms,
    normal_buffer,
)

MIN_DEGREES_OF_FREEDOM = 3
MAX_DEGREES_OF_FREEDOM = 100


class StudentTParameters(NamedTuple):
    growth: np.ndarray  # as NormalParameters
    loadings: np.ndarray
    degrees_of_freedom: int


@dataclass(frozen=True)
class StudentTReturns:
    """Multivariate Student-t shocks with nu degrees of freedom (see the module docstring)."""

    degrees_of_freedom: int = 5

    def check(self, num_assets: int) -> None:
        nu = self.degrees_of_freedom
        if not isinstance(nu, (int, np.integer)) or not (
            MIN_DEGREES_OF_FREEDOM <= nu <= MAX_DEGREES_OF_FREEDOM
        ):
            raise ValueError(
                f"degrees_of_freedom must be an integer from {MIN_DEGREES_OF_FREEDOM} "
                f"to {MAX_DEGREES_OF_FREEDOM}"
            )

    def kernel_parameters(
        self, annual_returns: np.ndarray, annual_volatilities: np.ndarray, factor: np.ndarray
    ) -> StudentTParameters:
        growth, loadings = lognormal_terms(annual_returns, annual_volatilities, factor)
        return StudentTParameters(growth, loadings, int(self.degrees_of_freedom))

    def return_shift(self, weights: np.ndarray, annual_returns: np.ndarray) -> float:
        return lognormal_shift(weights, annual_returns)  # a centring constant only


@njit(**INLINE)
def _month_draws(
    parameters: StudentTParameters, num_assets: int, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    normals = normal_buffer(num_assets, count)
    radius_words = np.empty((4, count), dtype=np.uint64)
    return normals, radius_words, np.empty((4, count)), np.empty(count), np.empty(count)


@njit(**INLINE)
def _draw_month(
    parameters: StudentTParameters,
    k0: np.uint64,
    k1: np.uint64,
    first: int,
    count: int,
    month: int,
    draws: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    normals, radius_words, sums, scale, next_scale = draws
    fill_month_normals(k0, k1, first, count, month, parameters.growth.shape[0], normals)
    if month % 2 == 0:
        nu = parameters.degrees_of_freedom
        fill_pair_scales(k0, k1, first, month // 2, nu, radius_words, sums, scale, next_scale)
    else:
        scale[:] = next_scale


@njit(**INLINE)
def _asset_returns(
    parameters: StudentTParameters,
    draws: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    asset: int,
    count: int,
    out: np.ndarray,
) -> None:
    normals, _, _, scale, _ = draws
    correlated_shocks(parameters.loadings, normals, asset, count, out)
    g = parameters.growth[asset]
    for p in range(count):
        out[p] = g * fast_exp(scale[p] * out[p])


register(
    StudentTParameters,
    month_draws_impl=_month_draws,
    draw_month_impl=_draw_month,
    asset_returns_impl=_asset_returns,
)
