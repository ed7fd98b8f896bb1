"""What a withdrawal strategy gives the fused kernel: two small functions, chosen at compile time.

As for return models (return_model.py), a strategy's kernel parameters are a NamedTuple of its
own class; the kernel calls the generic functions below and Numba resolves them by that class, so
each strategy compiles its own kernel with its per-path update inlined and no branch on the
strategy at run time. A strategy module defines its two functions and calls `register`.

- `withdrawal_state(parameters, count)`: the per-path state of one block of `count` paths;
- `takes_withdrawals(parameters)`: False only for NoWithdrawals (its holdings code compiles away);
- `withdrawal(parameters, state, p, month, available)`: the amount path p asks to withdraw in
  `month` (0 first) when `available` is its value at the month's start after the scheduled flows;
  it may update state[..., p]. The kernel pays min(amount, available).

`NoWithdrawals` is the strategy of a request without one: it asks for 0.0, so the value and
every figure are those of a run without the strategy code, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import overload

from app.engine.philox import INLINE


def withdrawal_state(parameters, count):  # type: ignore[no-untyped-def]
    """A block's per-path strategy state (compiled code only)."""
    raise NotImplementedError("called from compiled code only")


def withdrawal(parameters, state, p, month, available):  # type: ignore[no-untyped-def]
    """The amount path p withdraws in `month` (compiled code only)."""
    raise NotImplementedError("called from compiled code only")


def takes_withdrawals(parameters):  # type: ignore[no-untyped-def]
    """Whether the strategy ever withdraws: a compile-time constant (compiled code only)."""
    raise NotImplementedError("called from compiled code only")


def register(
    parameters_class: type,
    *,
    state_impl: Callable,
    withdrawal_impl: Callable,
    withdraws: bool = True,
) -> None:
    """Make the generic functions call these jitted functions for `parameters_class`."""

    def is_strategy(parameters: types.Type) -> bool:
        return (
            isinstance(parameters, types.BaseNamedTuple)
            and parameters.instance_class is parameters_class
        )

    @overload(withdrawal_state, inline="always")
    def _state(parameters, count):  # type: ignore[no-untyped-def]
        if is_strategy(parameters):
            return lambda parameters, count: state_impl(parameters, count)
        return None

    @overload(withdrawal, inline="always")
    def _withdrawal(parameters, state, p, month, available):  # type: ignore[no-untyped-def]
        if is_strategy(parameters):
            return lambda parameters, state, p, month, available: withdrawal_impl(
                parameters, state, p, month, available
            )
        return None

    @overload(takes_withdrawals, inline="always")
    def _takes_withdrawals(parameters):  # type: ignore[no-untyped-def]
        if is_strategy(parameters):
            if withdraws:
                return lambda parameters: True
            return lambda parameters: False
        return None


class NoWithdrawalParameters(NamedTuple):
    unused: int  # Numba needs a field


@njit(**INLINE)
def _no_state(parameters: NoWithdrawalParameters, count: int) -> np.ndarray:
    return np.empty(0)


@njit(**INLINE)
def _no_withdrawal(
    parameters: NoWithdrawalParameters, state: np.ndarray, p: int, month: int, available: float
) -> float:
    return 0.0


register(
    NoWithdrawalParameters,
    state_impl=_no_state,
    withdrawal_impl=_no_withdrawal,
    withdraws=False,
)


class NoWithdrawals:
    """No strategy: only the scheduled flows move money."""

    start_month = 0
    varies_by_path = False

    def check(self, months: int) -> None:
        """Nothing to check."""

    def kernel_parameters(self, months: int, inflation_rate: float) -> NoWithdrawalParameters:
        return NoWithdrawalParameters(0)
