"""Percentile bands: exact per-month percentiles of the kept paths' values, fast.

Sorting every month's values costs more than the simulation itself for small runs; bucket
selection reads each row three times and sorts nothing.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from app.engine.philox import INLINE, JIT, float_bits

_BUCKETS = 4096


@njit(**JIT)
def _select(a: np.ndarray, lo: int, hi: int, k: int) -> float:
    """The k-th smallest of a[lo:hi] (k absolute), partially reordering it (Hoare, median of 3)."""
    hi -= 1
    while hi > lo:
        mid = (lo + hi) >> 1
        x, y, z = a[lo], a[mid], a[hi]
        pivot = max(min(x, y), min(max(x, y), z))
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


@njit(**INLINE)
def _bucket(x: float, lowest_bits: np.int64, shift: np.int64) -> np.int64:
    # Non-negative float64 bit patterns sort like the values: a log-like, exactly monotone key.
    return 0 if x <= 0.0 else 1 + ((float_bits(x) - lowest_bits) >> shift)


@njit(**JIT)
def _row_percentiles(row: np.ndarray, quantiles: np.ndarray, out: np.ndarray) -> None:
    """NumPy-linear percentiles of one row of non-negative values, by bucket selection.

    Bucket 0 holds the zeros; the others split the bit patterns of the positive values evenly.
    Bucket counts locate each needed order statistic, and only those buckets' members are
    gathered and searched: three passes over the row instead of a full sort.
    """
    n = row.shape[0]
    infinity_bits = float_bits(np.inf)
    lowest_bits = infinity_bits
    highest_bits = np.int64(0)
    for i in range(n):
        bits = float_bits(max(row[i], 0.0))
        lowest_bits = min(lowest_bits, bits if bits > 0 else infinity_bits)
        highest_bits = max(highest_bits, bits)
    shift = np.int64(0)
    while highest_bits > lowest_bits and (highest_bits - lowest_bits) >> shift >= _BUCKETS:
        shift += 1
    buckets = np.empty(n, dtype=np.int64)
    for i in range(n):
        buckets[i] = _bucket(row[i], lowest_bits, shift)
    counts = np.zeros(_BUCKETS + 1, dtype=np.int64)
    for i in range(n):
        counts[buckets[i]] += 1
    starts = np.empty(_BUCKETS + 2, dtype=np.int64)
    starts[0] = 0
    for b in range(_BUCKETS + 1):
        starts[b + 1] = starts[b] + counts[b]
    num_q = quantiles.shape[0]
    ranks = np.empty(2 * num_q, dtype=np.int64)
    fractions = np.empty(num_q)
    for q in range(num_q):
        position = quantiles[q] * (n - 1)
        below = min(int(np.floor(position)), n - 1)
        fractions[q] = position - below
        ranks[2 * q] = below
        ranks[2 * q + 1] = min(below + 1, n - 1)
    # slot[b] >= 0 marks a bucket holding a needed rank; its members go to gathered[offsets[slot]:].
    slot = np.full(_BUCKETS + 1, -1, dtype=np.int64)
    offsets = np.empty(2 * num_q + 1, dtype=np.int64)
    bucket_of = np.empty(2 * num_q, dtype=np.int64)
    num_slots = 0
    offsets[0] = 0
    for k in range(2 * num_q):
        b = np.searchsorted(starts, ranks[k], side="right") - 1
        bucket_of[k] = b
        if slot[b] < 0:
            slot[b] = num_slots
            offsets[num_slots + 1] = offsets[num_slots] + counts[b]
            num_slots += 1
    gathered = np.empty(offsets[num_slots])
    fill = offsets[:num_slots].copy()
    for i in range(n):
        s = slot[buckets[i]]
        if s >= 0:
            gathered[fill[s]] = row[i]
            fill[s] += 1
    values = np.empty(2)
    for q in range(num_q):
        for h in range(2):
            b = bucket_of[2 * q + h]
            first = offsets[slot[b]]
            last = offsets[slot[b] + 1]
            values[h] = _select(gathered, first, last, first + ranks[2 * q + h] - starts[b])
        lower, upper = values[0], values[1]
        diff = upper - lower
        frac = fractions[q]
        out[q] = lower + diff * frac if frac < 0.5 else upper - diff * (1.0 - frac)


@njit(parallel=True, **JIT)
def percentile_rows(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Per-row percentiles of non-negative values with NumPy's default (linear) rule.

    quantiles are fractions in [0, 1]; rows are independent, so the result does not depend on
    the thread count.
    """
    num_rows = values.shape[0]
    out = np.empty((num_rows, quantiles.shape[0]))
    for r in prange(num_rows):
        _row_percentiles(values[r], quantiles, out[r])
    return out
