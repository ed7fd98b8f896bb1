"""Guyton-Klinger guardrails: an annual withdrawal W, paid W / 12 a month from month s.

    W_s = r0 * V_s;   at each anniversary (months s + 12k, k >= 1), with V the value then:
    W <- W * (1 - adjustment)   if W > r0 * (1 + upper) * V   (capital preservation: a cut)
    W <- W * (1 + adjustment)   if W < r0 * (1 - lower) * V   (prosperity: a raise)
    W <- W * (1 + inflation)    otherwise

V is the value at the month's start after the scheduled flows. The rules compare W with a
multiple of V rather than W / V, so a depleted path (V = 0) simply has its W cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from numba import njit

from app.engine.philox import INLINE
from app.engine.withdrawal import register


class GuardrailsParameters(NamedTuple):
    initial_rate: float
    first_month: int  # s - 1 (0-based)
    upper_rate: float  # r0 * (1 + upper)
    lower_rate: float  # r0 * (1 - lower)
    cut: float  # 1 - adjustment
    raise_: float  # 1 + adjustment
    inflation: float  # 1 + annual inflation


@dataclass(frozen=True)
class GuardrailsWithdrawals:
    initial_rate: float
    start_month: int = 1
    varies_by_path: ClassVar[bool] = True  # the withdrawal depends on the path's value
    upper_guardrail: float = 0.2
    lower_guardrail: float = 0.2
    adjustment: float = 0.1

    def check(self, months: int) -> None:
        if not 0.0 < self.initial_rate <= 1.0:
            raise ValueError("initial_rate must be in (0, 1]")
        if not 1 <= self.start_month <= months:
            raise ValueError(f"the strategy's start_month must be from 1 to {months}")
        for name in ("upper_guardrail", "lower_guardrail", "adjustment"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be from 0 to 1")

    def kernel_parameters(self, months: int, inflation_rate: float) -> GuardrailsParameters:
        r0 = float(self.initial_rate)
        return GuardrailsParameters(
            r0,
            self.start_month - 1,
            r0 * (1.0 + self.upper_guardrail),
            r0 * (1.0 - self.lower_guardrail),
            1.0 - self.adjustment,
            1.0 + self.adjustment,
            1.0 + inflation_rate,
        )


@njit(**INLINE)
def annual_step(parameters: GuardrailsParameters, annual: float, value: float) -> float:
    """W at an anniversary, from the W of the year before and the value now."""
    if annual > parameters.upper_rate * value:
        return annual * parameters.cut
    if annual < parameters.lower_rate * value:
        return annual * parameters.raise_
    return annual * parameters.inflation


@njit(**INLINE)
def _state(parameters: GuardrailsParameters, count: int) -> np.ndarray:
    return np.zeros(count)  # W per path


@njit(**INLINE)
def _withdrawal(
    parameters: GuardrailsParameters, annual: np.ndarray, p: int, month: int, available: float
) -> float:
    since = month - parameters.first_month
    if since < 0:
        return 0.0
    if since == 0:
        annual[p] = parameters.initial_rate * available
    elif since % 12 == 0:
        annual[p] = annual_step(parameters, annual[p], available)
    return annual[p] / 12.0


register(GuardrailsParameters, state_impl=_state, withdrawal_impl=_withdrawal)
