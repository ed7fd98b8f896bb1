"""Exact sums of float64 values, independent of order and of how the values are split.

A superaccumulator (R. M. Neal, "Fast exact summation using small and large superaccumulators",
2015): every finite double is m x 2**(p - 1074) with an integer m < 2**53 and 0 <= p < 2046, so
it is added as integer pieces into 67 signed 64-bit chunks of 32 bits each. No rounding happens
until `exact_value`, so the sum of a shard's values merged with another shard's (`merged`) is the
same exact number whatever the partition, rounded once when it is divided (`exact_ratio`).

Non-finite values are not summed but counted (`NON_FINITE` columns): the caller turns them into
the IEEE result (NaN, or an infinity) instead.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numba import njit

from app.engine.philox import float_bits

NUM_CHUNKS = 67
_CHUNK_BITS = 32
_LOW = np.int64(0xFFFFFFFF)
_MANTISSA = np.int64(0x000FFFFFFFFFFFFF)
_HIDDEN = np.int64(1) << 52
_NORMALIZE_EVERY = 1 << 28  # chunks hold < 2**33 per add: carry before int64 could overflow
NAN, POS_INF, NEG_INF = NUM_CHUNKS, NUM_CHUNKS + 1, NUM_CHUNKS + 2  # count columns
WIDTH = NUM_CHUNKS + 3
# Plain (non-fastmath) compilation: the split below must not be contracted into FMAs.
EXACT_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


def new_accumulators(count: int) -> np.ndarray:
    """`count` empty accumulators, one per row."""
    return np.zeros((count, WIDTH), dtype=np.int64)


@njit(inline="always", **EXACT_JIT)
def add_exact(acc: np.ndarray, x: float) -> None:
    """acc += x exactly (a non-finite x is counted instead)."""
    if x != x:
        acc[NAN] += 1
        return
    if x == np.inf:
        acc[POS_INF] += 1
        return
    if x == -np.inf:
        acc[NEG_INF] += 1
        return
    bits = float_bits(x)
    exponent = (bits >> 52) & 0x7FF
    mantissa = bits & _MANTISSA
    if exponent:
        mantissa |= _HIDDEN
    else:
        exponent = 1  # subnormal: same scale as the smallest normal
    position = exponent - 1
    chunk = position >> 5
    shift = position & 31
    low = (mantissa & _LOW) << shift
    high = (mantissa >> 32) << shift
    if bits < 0:
        acc[chunk] -= low & _LOW
        acc[chunk + 1] -= (low >> 32) + (high & _LOW)
        acc[chunk + 2] -= high >> 32
    else:
        acc[chunk] += low & _LOW
        acc[chunk + 1] += (low >> 32) + (high & _LOW)
        acc[chunk + 2] += high >> 32


@njit(**EXACT_JIT)
def normalize(acc: np.ndarray) -> None:
    """Carry each chunk's overflow into the next one (the value is unchanged)."""
    for k in range(NUM_CHUNKS - 1):
        carry = acc[k] >> _CHUNK_BITS
        acc[k] -= carry << _CHUNK_BITS
        acc[k + 1] += carry


@njit(inline="always", **EXACT_JIT)
def add_square_exact(acc: np.ndarray, x: float) -> None:
    """acc += x * x exactly: the rounded product and its error (Dekker's TwoProduct)."""
    product = x * x
    if not np.isfinite(product):
        add_exact(acc, product)
        return
    split = 134217729.0 * x  # 2**27 + 1
    high = split - (split - x)
    low = x - high
    error = ((high * high - product) + 2.0 * high * low) + low * low
    add_exact(acc, product)
    add_exact(acc, error)


def exact_value(acc: np.ndarray) -> Fraction:
    """The finite part of the sum, exactly."""
    total = 0
    for k in range(NUM_CHUNKS - 1, -1, -1):
        total = (total << _CHUNK_BITS) + int(acc[k])
    return Fraction(total, 1 << 1074)


def merged(accumulators: list[np.ndarray]) -> np.ndarray:
    """The accumulator of all the values of `accumulators` (same shape, any number of rows)."""
    total = np.zeros_like(accumulators[0])
    for acc in accumulators:
        total += acc
        for row in total:
            normalize(row)
    return total


def special_result(acc: np.ndarray) -> float | None:
    """The IEEE result of a sum with non-finite terms, or None when every term was finite."""
    if acc[NAN] or (acc[POS_INF] and acc[NEG_INF]):
        return float("nan")
    if acc[POS_INF]:
        return float("inf")
    if acc[NEG_INF]:
        return float("-inf")
    return None


def exact_ratio(acc: np.ndarray, divisor: int | Fraction) -> float:
    """sum / divisor, correctly rounded (NaN for a zero divisor, IEEE rules for non-finite)."""
    special = special_result(acc)
    if special is not None:
        return special
    if divisor == 0:
        return float("nan")
    return float(exact_value(acc) / divisor)
