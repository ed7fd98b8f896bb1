"""Normal (lognormal) monthly returns, the default model.

    log R_i = (mu_i - sigma_i**2 / 2) dt + sigma_i sqrt(dt) X_i,   X = L Z,   Z ~ N(0, I)

with dt = 1/12, L L^T = C and Z the path's month-t normals (philox.fill_month_normals), so
E[R_i] = exp(mu_i dt). In the kernel: R_i = growth_i exp(sum_j loadings_ij Z_j) with
growth_i = exp((mu_i - sigma_i**2 / 2) dt) and loadings_ij = sigma_i sqrt(dt) L_ij.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from app.engine.philox import INLINE, fast_exp, fill_month_normals
from app.engine.return_model import register

MONTH = 1.0 / 12.0


class NormalParameters(NamedTuple):
    growth: np.ndarray  # (assets,) exp((mu - sigma**2 / 2) dt)
    loadings: np.ndarray  # (assets, assets) sigma_i sqrt(dt) L_ij, lower triangular


def lognormal_terms(
    annual_returns: np.ndarray, annual_volatilities: np.ndarray, factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(growth, loadings) of the lognormal step, shared with the Student-t model."""
    growth = np.exp((annual_returns - 0.5 * annual_volatilities**2) * MONTH)
    loadings = np.ascontiguousarray((annual_volatilities * np.sqrt(MONTH))[:, None] * factor)
    return growth, loadings


def lognormal_shift(weights: np.ndarray, annual_returns: np.ndarray) -> float:
    """The portfolio's expected monthly simple return under the normal model."""
    return float(weights @ np.exp(annual_returns * MONTH)) - 1.0


@dataclass(frozen=True)
class NormalReturns:
    """Correlated lognormal returns with the inputs' mu, sigma and C (see the module docstring)."""

    def check(self, num_assets: int) -> None:
        """Nothing to check beyond the inputs' mu, sigma and C."""

    def kernel_parameters(
        self, annual_returns: np.ndarray, annual_volatilities: np.ndarray, factor: np.ndarray
    ) -> NormalParameters:
        return NormalParameters(*lognormal_terms(annual_returns, annual_volatilities, factor))

    def return_shift(self, weights: np.ndarray, annual_returns: np.ndarray) -> float:
        return lognormal_shift(weights, annual_returns)


@njit(**INLINE)
def normal_buffer(num_assets: int, count: int) -> np.ndarray:
    """A month's normals for `count` paths, with the rows philox.fill_month_normals needs."""
    return np.empty((2 * ((num_assets + 1) // 2) + 2, count))  # philox.normal_rows


@njit(**INLINE)
def correlated_shocks(
    loadings: np.ndarray, normals: np.ndarray, asset: int, count: int, out: np.ndarray
) -> None:
    """out[p] = sum_j loadings[asset, j] normals[j, p], over j <= asset (L is lower triangular)."""
    row = loadings[asset]
    first_normals = normals[0]
    a0 = row[0]
    for p in range(count):
        out[p] = a0 * first_normals[p]
    for j in range(1, asset + 1):
        a = row[j]
        if a != 0.0:
            normals_j = normals[j]
            for p in range(count):
                out[p] = out[p] + a * normals_j[p]


@njit(**INLINE)
def _month_draws(parameters: NormalParameters, num_assets: int, count: int) -> np.ndarray:
    return normal_buffer(num_assets, count)


@njit(**INLINE)
def _draw_month(
    parameters: NormalParameters,
    k0: np.uint64,
    k1: np.uint64,
    first: int,
    count: int,
    month: int,
    normals: np.ndarray,
) -> None:
    fill_month_normals(k0, k1, first, count, month, parameters.growth.shape[0], normals)


@njit(**INLINE)
def _asset_returns(
    parameters: NormalParameters, normals: np.ndarray, asset: int, count: int, out: np.ndarray
) -> None:
    correlated_shocks(parameters.loadings, normals, asset, count, out)
    g = parameters.growth[asset]
    for p in range(count):
        out[p] = g * fast_exp(out[p])


register(
    NormalParameters,
    month_draws_impl=_month_draws,
    draw_month_impl=_draw_month,
    asset_returns_impl=_asset_returns,
)
