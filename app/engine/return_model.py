"""What a return model gives the fused kernel: three small functions, chosen at compile time.

A model's kernel parameters are a NamedTuple of its own class (NormalParameters,
StudentTParameters, BootstrapParameters). The kernel calls the generic functions below; Numba
resolves each call by the parameters' type when it compiles the kernel, so every model gets its
own compiled kernel, with the model's code inlined into the month loop and no branch on the model
anywhere at run time. A model module defines its three functions and calls `register`.

- `month_draws(parameters, num_assets, count)`: the scratch arrays one block of `count` paths
  needs for a month's draws (allocated once per block);
- `draw_month(parameters, k0, k1, first, count, month, draws)`: fill them for `month`, for paths
  first .. first + count - 1, from those paths' Philox streams (months in order, 0 first);
- `asset_returns(parameters, draws, asset, count, out)`: out[p] = the gross return R (1 + simple
  return) of `asset` in that month for path first + p.
"""

from __future__ import annotations

from collections.abc import Callable

from numba import types
from numba.extending import overload


def month_draws(parameters, num_assets, count):  # type: ignore[no-untyped-def]
    """A block's scratch arrays for the model's monthly draws (compiled code only)."""
    raise NotImplementedError("called from compiled code only")


def draw_month(parameters, k0, k1, first, count, month, draws):  # type: ignore[no-untyped-def]
    """Fill `draws` with month `month`'s random numbers (compiled code only)."""
    raise NotImplementedError("called from compiled code only")


def asset_returns(parameters, draws, asset, count, out):  # type: ignore[no-untyped-def]
    """out[p] = gross return of `asset` this month for path first + p (compiled code only)."""
    raise NotImplementedError("called from compiled code only")


def register(
    parameters_class: type,
    *,
    month_draws_impl: Callable,
    draw_month_impl: Callable,
    asset_returns_impl: Callable,
) -> None:
    """Make the generic functions call these jitted functions for `parameters_class`."""

    def is_model(parameters: types.Type) -> bool:
        return (
            isinstance(parameters, types.BaseNamedTuple)
            and parameters.instance_class is parameters_class
        )

    @overload(month_draws, inline="always")
    def _month_draws(parameters, num_assets, count):  # type: ignore[no-untyped-def]
        if is_model(parameters):
            return lambda parameters, num_assets, count: month_draws_impl(
                parameters, num_assets, count
            )
        return None

    @overload(draw_month, inline="always")
    def _draw_month(parameters, k0, k1, first, count, month, draws):  # type: ignore[no-untyped-def]
        if is_model(parameters):
            return lambda parameters, k0, k1, first, count, month, draws: draw_month_impl(
                parameters, k0, k1, first, count, month, draws
            )
        return None

    @overload(asset_returns, inline="always")
    def _asset_returns(parameters, draws, asset, count, out):  # type: ignore[no-untyped-def]
        if is_model(parameters):
            return lambda parameters, draws, asset, count, out: asset_returns_impl(
                parameters, draws, asset, count, out
            )
        return None
