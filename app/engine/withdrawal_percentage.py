"""Percentage withdrawals: from month s, r / 12 of the value at each month's start.

w_m = r / 12 * V_m   for m >= s,   so V never reaches 0 (for r < 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from numba import njit

from app.engine.philox import INLINE
from app.engine.withdrawal import register


class PercentageParameters(NamedTuple):
    monthly_rate: float  # r / 12
    first_month: int  # s - 1 (0-based)


@dataclass(frozen=True)
class PercentageWithdrawals:
    annual_rate: float
    start_month: int = 1
    varies_by_path: ClassVar[bool] = True  # the withdrawal depends on the path's value

    def check(self, months: int) -> None:
        if not 0.0 <= self.annual_rate <= 1.0:
            raise ValueError("annual_rate must be from 0 to 1")
        if not 1 <= self.start_month <= months:
            raise ValueError(f"the strategy's start_month must be from 1 to {months}")

    def kernel_parameters(self, months: int, inflation_rate: float) -> PercentageParameters:
        return PercentageParameters(self.annual_rate / 12.0, self.start_month - 1)


@njit(**INLINE)
def _state(parameters: PercentageParameters, count: int) -> np.ndarray:
    return np.empty(0)


@njit(**INLINE)
def _withdrawal(
    parameters: PercentageParameters, state: np.ndarray, p: int, month: int, available: float
) -> float:
    return parameters.monthly_rate * available if month >= parameters.first_month else 0.0


register(PercentageParameters, state_impl=_state, withdrawal_impl=_withdrawal)
