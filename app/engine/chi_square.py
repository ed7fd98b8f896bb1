"""Exact, counter-based chi-square draws with integer degrees of freedom, two months at a time.

For nu = 2k + odd (odd = nu mod 2), one path-month's W ~ chi2_nu is

    W = -2 ln(U_1 U_2 ... U_k) + odd * R**2 V,

k exponentials of mean 2 (each a chi2_2) from uniforms U = (w + 1/2) / 2**32 of 32-bit Philox
words w, plus, for odd nu, one chi2_1. Months go in pairs (2m, 2m + 1), and the pair shares one
Box-Muller radius: R**2 = -2 ln u is a chi2_2 and V = cos**2(theta) ~ Beta(1/2, 1/2) splits it into
R**2 V and R**2 (1 - V), the squares of the two independent normals R cos(theta), R sin(theta).
V = (1 - sin(a)) / 2 with a = pi (u' - 1/2) uniform on (-pi/2, pi/2) has that law too.

Counters (path low word, path high word, call, stream), so a path's W never depends on how paths
are split into blocks or threads:
- stream 1, the uniforms: pair m reads calls m Q .. m Q + Q - 1, Q = uniform_calls(nu); the pair's
  words are month 2m's k uniforms, then month 2m + 1's;
- stream 3, for odd nu: pair m takes words (0, 1) of call m // 2 if m is even, else (2, 3), as
  (u, u'). Pairs must be drawn in order for a block: an even pair keeps the next pair's words.

One logarithm serves the product of up to 28 uniforms, so a large nu costs few logarithms.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from app.engine.philox import INLINE, bits_float, fast_log, float_bits, path_words

CALLS_PER_LOG = 7  # a product of at most 28 uniforms stays above 2**-924: far from underflow
_UNIFORM_STREAM = np.uint64(1)  # the fourth counter word: 0 is the normals' stream
_RADIUS_STREAM = np.uint64(3)
_INVERSE_SQRT_MAGIC = np.int64(0x5FE6EB50C7B537A9)
_HALF_TURN = np.pi * 2.0**-32


@njit(**INLINE)
def uniform_calls(degrees_of_freedom: int) -> int:
    """Philox calls (4 words each) of stream 1 a pair of months takes: 2 k uniforms."""
    return (2 * (degrees_of_freedom // 2) + 3) // 4


@njit(**INLINE)
def uniform(word: np.uint64) -> float:
    """(word + 1/2) / 2**32, in (0, 1)."""
    return (np.int64(word) + 0.5) * 2.0**-32


@njit(**INLINE)
def inverse_sqrt(x: float) -> float:
    """1 / sqrt(x) for a positive normal float: a bit-level first guess, 4 Newton steps."""
    y = bits_float(_INVERSE_SQRT_MAGIC - (float_bits(x) >> 1))  # 3.4% at worst
    half = 0.5 * x
    y = y * (1.5 - half * y * y)
    y = y * (1.5 - half * y * y)
    y = y * (1.5 - half * y * y)
    return y * (1.5 - half * y * y)


@njit(**INLINE)
def sine_of_half_turn(word: np.uint64) -> float:
    """sin(a), a = pi ((word + 1/2) / 2**32 - 1/2) in (-pi/2, pi/2): Taylor to a**21 (< 2e-18)."""
    a = (np.int64(word) - 2147483647.5) * _HALF_TURN
    a2 = a * a
    s = 1.0 / 51090942171709440000.0
    s = s * -a2 + 1.0 / 121645100408832000.0
    s = s * -a2 + 1.0 / 355687428096000.0
    s = s * -a2 + 1.0 / 1307674368000.0
    s = s * -a2 + 1.0 / 6227020800.0
    s = s * -a2 + 1.0 / 39916800.0
    s = s * -a2 + 1.0 / 362880.0
    s = s * -a2 + 1.0 / 5040.0
    s = s * -a2 + 1.0 / 120.0
    s = s * -a2 + 1.0 / 6.0
    s = s * -a2 + 1.0
    return s * a


@njit(**INLINE)
def _is_uniform_of(word: int, half: int, month: int) -> bool:
    """Whether word `word` of a pair's stream-1 words is one of month `month`'s (0 or 1) k."""
    return month * half <= word < (month + 1) * half


@njit(**INLINE)
def _log_products(sums: np.ndarray) -> None:
    """Rows 2, 3 (log sums) += ln of rows 0, 1 (running products), which restart at 1."""
    product, next_product, log_sum, next_log_sum = sums[0], sums[1], sums[2], sums[3]
    for p in range(product.shape[0]):
        log_sum[p] = log_sum[p] + fast_log(product[p])
        next_log_sum[p] = next_log_sum[p] + fast_log(next_product[p])
        product[p] = 1.0
        next_product[p] = 1.0


@njit(**INLINE)
def fill_pair_scales(
    k0: np.uint64,
    k1: np.uint64,
    first: int,
    pair: int,
    degrees_of_freedom: int,
    radius_words: np.ndarray,
    sums: np.ndarray,
    scale: np.ndarray,
    next_scale: np.ndarray,
) -> None:
    """scale[p], next_scale[p] = sqrt((nu - 2) / W) of months 2 pair, 2 pair + 1 of path first + p.

    radius_words (4 rows: this pair's u, u', the next pair's) and sums (4 rows) are scratch.
    """
    count = scale.shape[0]
    half = degrees_of_freedom // 2
    calls = uniform_calls(degrees_of_freedom)
    sums[0:2, :count] = 1.0
    sums[2:4, :count] = 0.0
    product, next_product = sums[0], sums[1]
    for c in range(calls):
        call = pair * calls + c
        j = 4 * c  # the call's first word in the pair's sequence
        a0, a1 = _is_uniform_of(j, half, 0), _is_uniform_of(j + 1, half, 0)
        a2, a3 = _is_uniform_of(j + 2, half, 0), _is_uniform_of(j + 3, half, 0)
        b0, b1 = _is_uniform_of(j, half, 1), _is_uniform_of(j + 1, half, 1)
        b2, b3 = _is_uniform_of(j + 2, half, 1), _is_uniform_of(j + 3, half, 1)
        for p in range(count):
            w0, w1, w2, w3 = path_words(k0, k1, first + p, call, _UNIFORM_STREAM)
            u0, u1, u2, u3 = uniform(w0), uniform(w1), uniform(w2), uniform(w3)
            # A word that is not the month's is a factor 1.
            month_a = ((u0 if a0 else 1.0) * (u1 if a1 else 1.0)) * (
                (u2 if a2 else 1.0) * (u3 if a3 else 1.0)
            )
            month_b = ((u0 if b0 else 1.0) * (u1 if b1 else 1.0)) * (
                (u2 if b2 else 1.0) * (u3 if b3 else 1.0)
            )
            product[p] = product[p] * month_a
            next_product[p] = next_product[p] * month_b
        if (c + 1) % CALLS_PER_LOG == 0:
            _log_products(sums)
    _log_products(sums)
    log_sum, next_log_sum = sums[2], sums[3]
    root = np.sqrt(degrees_of_freedom - 2.0)
    if degrees_of_freedom % 2 == 0:
        for p in range(count):
            scale[p] = root * inverse_sqrt(-2.0 * log_sum[p])
            next_scale[p] = root * inverse_sqrt(-2.0 * next_log_sum[p])
        return
    if pair % 2 == 0:
        for p in range(count):
            w0, w1, w2, w3 = path_words(k0, k1, first + p, pair // 2, _RADIUS_STREAM)
            radius_words[0, p] = w0
            radius_words[1, p] = w1
            radius_words[2, p] = w2
            radius_words[3, p] = w3
    row = 2 * (pair % 2)
    radius, angle = radius_words[row], radius_words[row + 1]
    for p in range(count):
        radius_squared = -2.0 * fast_log(uniform(radius[p]))
        sine = sine_of_half_turn(angle[p])
        w_a = radius_squared * (0.5 - 0.5 * sine) - 2.0 * log_sum[p]
        w_b = radius_squared * (0.5 + 0.5 * sine) - 2.0 * next_log_sum[p]
        scale[p] = root * inverse_sqrt(w_a)
        next_scale[p] = root * inverse_sqrt(w_b)
