"""Fixed real withdrawals (the "4% rule"): from month s, A / 12 a month, indexed to inflation.

    w_m = A / 12 * (1 + inflation) ** ((m - s) / 12)   for months m >= s (1-based), else 0

The amounts do not depend on the path, so they are computed once, outside the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from numba import njit

from app.engine.philox import INLINE
from app.engine.withdrawal import register


class FixedRealParameters(NamedTuple):
    monthly_amounts: np.ndarray  # (months,) w_m, 0 before the start


@dataclass(frozen=True)
class FixedRealWithdrawals:
    annual_amount: float
    start_month: int = 1
    varies_by_path: ClassVar[bool] = False  # the withdrawal depends on the path's value

    def check(self, months: int) -> None:
        if not (np.isfinite(self.annual_amount) and self.annual_amount >= 0.0):
            raise ValueError("annual_amount must be finite and non-negative")
        if not 1 <= self.start_month <= months:
            raise ValueError(f"the strategy's start_month must be from 1 to {months}")

    def kernel_parameters(self, months: int, inflation_rate: float) -> FixedRealParameters:
        elapsed = np.arange(months) - (self.start_month - 1)
        amounts = self.annual_amount / 12.0 * (1.0 + inflation_rate) ** (elapsed / 12.0)
        return FixedRealParameters(np.where(elapsed >= 0, amounts, 0.0))


@njit(**INLINE)
def _state(parameters: FixedRealParameters, count: int) -> np.ndarray:
    return np.empty(0)


@njit(**INLINE)
def _withdrawal(
    parameters: FixedRealParameters, state: np.ndarray, p: int, month: int, available: float
) -> float:
    return parameters.monthly_amounts[month]


register(FixedRealParameters, state_impl=_state, withdrawal_impl=_withdrawal)
