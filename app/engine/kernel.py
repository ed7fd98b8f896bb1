"""The fused Monte Carlo kernel: random numbers, portfolio steps and per-path statistics at once.

Paths are processed in blocks; within a block the month loop is outside and the path loop inside,
so each inner loop is a straight-line body over small per-path arrays that LLVM vectorizes.
Only per-path summaries leave a block (plus the few whole paths kept for samples and bands).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from app.engine.philox import INLINE, JIT
from app.engine.return_model import asset_returns, draw_month, month_draws
from app.engine.withdrawal import takes_withdrawals, withdrawal, withdrawal_state

NEVER = 0  # rebalance_every value meaning "only at the start"
NOT_DEPLETED = 1e18  # first_empty of a path that never ran out (finite: the kernel has ninf)


@intrinsic
def _claim(typingctx, counter):  # type: ignore[no-untyped-def]
    """Atomically increment counter[0]; return its previous value."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        array = context.make_array(signature.args[0])(context, builder, args[0])
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", array.data, one, "monotonic")

    return types.int64(counter), codegen


@njit(**INLINE)
def _scale_holdings(holdings: np.ndarray, scale: np.ndarray, count: int) -> None:
    for i in range(holdings.shape[0]):
        held = holdings[i]
        for p in range(count):
            held[p] = held[p] * scale[p]


@njit(parallel=True, **JIT)
def simulate_paths(
    first_path: int,
    k0: np.uint64,
    k1: np.uint64,
    parameters: tuple,
    weights: np.ndarray,
    initial: float,
    flows: np.ndarray,
    inflows: np.ndarray,
    strategy: tuple,
    fee_factor: float,
    real_deflators: np.ndarray,
    track_withdrawals: bool,
    months: int,
    rebalance_every: int,
    return_shift: float,
    downside_target: float,
    block_size: int,
    sample_values: np.ndarray,
    band_values: np.ndarray,
    final_values: np.ndarray,
    index_final: np.ndarray,
    max_drawdowns: np.ndarray,
    sum_dev: np.ndarray,
    sum_dev_sq: np.ndarray,
    sum_shortfall_sq: np.ndarray,
    return_months: np.ndarray,
    depletion_months: np.ndarray,
    withdrawn: np.ndarray,
    withdrawn_real: np.ndarray,
    annual_withdrawals: np.ndarray,
    num_threads: int,
) -> None:
    """Simulate len(final_values) paths of a portfolio with monthly flows.

    Month t of path p: A = max(V + f_t, 0) with f the net scheduled flows (cash_flows.py; their
    contributions alone are inflows), then the
    withdrawal strategy (withdrawal.py) asks w and start = max(A - w, 0); asset i grows by its
    gross return R_i from the return model whose kernel `parameters` these are (each model
    compiles its own kernel: see return_model.py); holdings are reset to
    weights * start every `rebalance_every` months (NEVER: at t = 0 only), otherwise
    contributions are added by weight and withdrawals taken pro rata; at the month's end the
    value is multiplied by fee_factor = (1 - annual_fee) ** (1 / 12). The time-weighted index
    moves by V_end / start on live months. A path is depleted in the first month that ends at 0
    after it held money (depletion_months: that month, 1-based, or 0); with track_withdrawals,
    withdrawn sums what left each path (real: times real_deflators[t]) and annual_withdrawals
    what the strategy took per year, for its first paths (the band paths, or none).
    Output index p holds path first_path + p of the run (its Philox counter).
    Outputs are written in place; per-path sums are of (monthly return - return_shift) and of
    min(monthly return - downside_target, 0)**2, over live months; V_end / start includes the fee.
    num_threads is numba.get_num_threads() (read outside: inside it would defeat the disk cache).
    """
    num_paths = final_values.shape[0]
    num_assets = weights.shape[0]
    num_samples = sample_values.shape[0]
    num_band = band_values.shape[1]
    monthly = rebalance_every == 1
    hurdle = 1.0 + downside_target
    num_blocks = (num_paths + block_size - 1) // block_size
    # Blocks are claimed one at a time from a shared counter (OpenMP's static split would leave
    # a core idle whenever the other one is slowed by another process or request).
    workers = max(1, min(num_threads, num_blocks))
    next_block = np.zeros(1, dtype=np.int64)
    for _ in prange(workers):
        while True:
            b = _claim(next_block)
            if b >= num_blocks:
                break
            first = b * block_size
            count = min(block_size, num_paths - first)
            draws = month_draws(parameters, num_assets, count)
            state = withdrawal_state(strategy, count)
            first_empty = np.full(count, NOT_DEPLETED)  # the month a path ran out, as a float
            out_sum = np.zeros(count)
            out_real_sum = np.zeros(count)
            asset_return = np.empty(count)  # R_i
            gross = np.empty(count)
            start = np.empty(count)
            scale = np.empty(count)
            holdings = np.empty((0 if monthly else num_assets, count))
            value = np.full(count, initial)
            index = np.ones(count)
            peak = np.ones(count)
            min_ratio = np.ones(count)
            dev = np.zeros(count)
            dev_sq = np.zeros(count)
            shortfall_sq = np.zeros(count)
            live_months = np.zeros(count)
            keep_sample = max(0, min(count, num_samples - first))
            keep_band = max(0, min(count, num_band - first))
            keep_spending = max(0, min(count, annual_withdrawals.shape[1] - first))
            for p in range(keep_sample):
                sample_values[first + p, 0] = initial
            for p in range(keep_band):
                band_values[0, first + p] = initial

            for t in range(months):
                draw_month(parameters, k0, k1, first_path + first, count, t, draws)
                flow = flows[t]
                added = inflows[t]
                for p in range(count):
                    available = max(value[p] + flow, 0.0)
                    s = max(available - withdrawal(strategy, state, p, t, available), 0.0)
                    start[p] = s
                if track_withdrawals:  # a plain run skips the bookkeeping of what left
                    deflator = real_deflators[t]
                    for p in range(count):
                        paid = (value[p] + added) - start[p]
                        out_sum[p] = out_sum[p] + paid
                        out_real_sum[p] = out_real_sum[p] + paid * deflator
                    spent = annual_withdrawals[t // 12]
                    for p in range(keep_spending):
                        taken = max(value[p] + flow, 0.0) - start[p]
                        spent[first + p] = spent[first + p] + taken
                if not monthly:
                    if t == 0 or (rebalance_every > 0 and t % rebalance_every == 0):
                        for i in range(num_assets):
                            held = holdings[i]
                            w = weights[i]
                            for p in range(count):
                                held[p] = w * start[p]
                    elif flow > 0.0:
                        for i in range(num_assets):
                            held = holdings[i]
                            weighted = weights[i] * flow
                            for p in range(count):
                                held[p] = held[p] + weighted
                        if takes_withdrawals(strategy):
                            for p in range(count):
                                scale[p] = start[p] / max(value[p] + flow, 1e-300)
                            _scale_holdings(holdings, scale, count)
                    elif flow < 0.0 or takes_withdrawals(strategy):
                        # Withdrawals come out pro rata, so no holding goes negative.
                        for p in range(count):
                            scale[p] = start[p] / max(value[p], 1e-300)
                        _scale_holdings(holdings, scale, count)

                gross[:] = 0.0
                for i in range(num_assets):
                    asset_returns(parameters, draws, i, count, asset_return)
                    if monthly:
                        w = weights[i]
                        for p in range(count):
                            gross[p] = gross[p] + w * asset_return[p]
                    else:
                        held = holdings[i]
                        for p in range(count):
                            held[p] = held[p] * asset_return[p]
                            gross[p] = gross[p] + held[p]

                if not monthly and fee_factor != 1.0:
                    for i in range(num_assets):
                        held = holdings[i]
                        for p in range(count):
                            held[p] = held[p] * fee_factor
                month_number = t + 1.0
                for p in range(count):
                    s = start[p]
                    alive = s > 0.0
                    # x * 1.0 is exact, so without a fee every figure keeps its bits.
                    if monthly:
                        factor = gross[p] * fee_factor
                        end = s * factor
                    else:
                        end = gross[p] * fee_factor
                        factor = end / max(s, 1e-300)
                    factor = factor if alive else 1.0
                    level = index[p] * factor
                    index[p] = level
                    top = max(peak[p], level)
                    peak[p] = top
                    min_ratio[p] = min(min_ratio[p], level / top)
                    d = (factor - 1.0) - return_shift if alive else 0.0
                    dev[p] = dev[p] + d
                    dev_sq[p] = dev_sq[p] + d * d
                    # A month without money has factor 1 and hurdle 1, so no shortfall; choosing
                    # the hurdle (not the result) keeps vector lanes and remainder bit-identical.
                    shortfall = min(factor - (hurdle if alive else 1.0), 0.0)
                    shortfall_sq[p] = shortfall_sq[p] + shortfall * shortfall
                    live_months[p] = live_months[p] + (1.0 if alive else 0.0)
                    ran_out = (end <= 0.0) & (value[p] + added > 0.0)
                    first_empty[p] = min(first_empty[p], month_number if ran_out else NOT_DEPLETED)
                    value[p] = end
                for p in range(keep_sample):
                    sample_values[first + p, t + 1] = value[p]
                for p in range(keep_band):
                    band_values[t + 1, first + p] = value[p]

            for p in range(count):
                final_values[first + p] = value[p]
                index_final[first + p] = index[p]
                max_drawdowns[first + p] = 1.0 - min_ratio[p]
                sum_dev[first + p] = dev[p]
                sum_dev_sq[first + p] = dev_sq[p]
                sum_shortfall_sq[first + p] = shortfall_sq[p]
                return_months[first + p] = live_months[p]
                emptied = first_empty[p]
                depletion_months[first + p] = int(emptied) if emptied < NOT_DEPLETED else 0
                withdrawn[first + p] = out_sum[p]
                withdrawn_real[first + p] = out_real_sum[p]
