"""Counter-based normal random numbers: Philox4x32-10 and a vectorizable Box-Muller.

Every number is a pure function of (key, counter), as in Random123 (Salmon et al., SC'11): the
engine's counter is (path low word, path high word, position in the path's stream, 0), so a
path's normals do not depend on how paths are split across threads or blocks. The elementary
functions below are short polynomials on plain arithmetic and bit casts, because calls to libm's
log/exp/sin/cos keep LLVM from vectorizing the loops (the PyPI llvmlite has no SVML).

Numba's disk cache only watches the file of the function it compiled: the kernel inlines these
helpers, so after editing this file delete app/engine/__pycache__.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

# Deliberately no "reassoc"/"afn": the operation graph must stay fixed so a vectorized lane and a
# scalar remainder compute the same bits.
FASTMATH = {"contract", "nsz", "nnan", "ninf"}
JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": FASTMATH}
# Helpers are inlined at Numba IR level: separately compiled calls would block vectorization.
INLINE = {**JIT, "inline": "always"}

_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_SHIFT8 = np.uint64(8)
_ZERO = np.uint64(0)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)

_TWO_PI = 2.0 * math.pi
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that n * _LN2_HI is exact (Cody-Waite)
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.4426950408889634
_SQRT2 = math.sqrt(2.0)
_EXP_LIMIT = 700.0
_MANTISSA_MASK = np.int64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.int64(0x3FF0000000000000)
_QUARTER_TURN = math.pi * 2.0**-23  # radians per unit of the 24-bit angle offset (2*pi / 2**24)


@intrinsic
def float_bits(typingctx, x):  # type: ignore[no-untyped-def]
    """Reinterpret a float64 as int64 (no conversion)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def bits_float(typingctx, x):  # type: ignore[no-untyped-def]
    """Reinterpret an int64 as float64 (no conversion)."""
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(**INLINE)
def philox4x32_10(
    c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64, k1: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Philox4x32 with 10 rounds; words are held in uint64 but always < 2**32."""
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> _SHIFT32) ^ c1 ^ k0,
            p1 & _MASK32,
            (p0 >> _SHIFT32) ^ c3 ^ k1,
            p0 & _MASK32,
        )
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    return c0, c1, c2, c3


@njit(**INLINE)
def path_words(
    k0: np.uint64, k1: np.uint64, path: int, call: int, stream: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Call `call` of the path's stream `stream`: counter (path low, path high, call, stream)."""
    p = np.uint64(path)
    return philox4x32_10(p & _MASK32, p >> _SHIFT32, np.uint64(call), stream, k0, k1)


@njit(**INLINE)
def fast_log(x: float) -> float:
    """Natural log of a positive normal float64 via exponent bits and the atanh series."""
    bits = float_bits(x)
    exponent = (bits >> 52) - 1023
    mantissa = bits_float((bits & _MANTISSA_MASK) | _ONE_BITS)
    big = mantissa > _SQRT2
    mantissa = mantissa * 0.5 if big else mantissa
    exponent = exponent + 1 if big else exponent
    # mantissa in [sqrt(1/2), sqrt(2)] => |s| <= 0.1716, so 9 terms reach ~1e-16.
    s = (mantissa - 1.0) / (mantissa + 1.0)
    s2 = s * s
    series = 1.0 / 17.0
    series = series * s2 + 1.0 / 15.0
    series = series * s2 + 1.0 / 13.0
    series = series * s2 + 1.0 / 11.0
    series = series * s2 + 1.0 / 9.0
    series = series * s2 + 1.0 / 7.0
    series = series * s2 + 1.0 / 5.0
    series = series * s2 + 1.0 / 3.0
    series = series * s2 + 1.0
    return exponent * _LN2_HI + (exponent * _LN2_LO + 2.0 * s * series)


@njit(**INLINE)
def fast_exp(x: float) -> float:
    """e**x for |x| <= 700 (clamped beyond): x = n ln2 + r, Taylor degree 12 on |r| <= ln2/2."""
    x = min(max(x, -_EXP_LIMIT), _EXP_LIMIT)
    n = np.floor(x * _LOG2E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * bits_float((np.int64(n) + 1023) << 52)


@njit(**INLINE)
def unit_circle(word_angle: np.uint64) -> tuple[float, float]:
    """(cos, sin) of the angle 2 pi (k + 1/2) / 2**24, k the word's top 24 bits."""
    k_angle = np.int64(word_angle >> _SHIFT8)
    # Angle 2*pi*(k + 1/2)/2**24 = quadrant * pi/2 + a, with |a| <= pi/4, found in integers.
    quadrant = ((k_angle + (1 << 21)) >> 22) & 3
    a = ((k_angle + 0.5) - (((k_angle + (1 << 21)) >> 22) << 22)) * _QUARTER_TURN
    a2 = a * a
    sin_a = 1.0 / 1307674368000.0
    sin_a = sin_a * -a2 + 1.0 / 6227020800.0
    sin_a = sin_a * -a2 + 1.0 / 39916800.0
    sin_a = sin_a * -a2 + 1.0 / 362880.0
    sin_a = sin_a * -a2 + 1.0 / 5040.0
    sin_a = sin_a * -a2 + 1.0 / 120.0
    sin_a = sin_a * -a2 + 1.0 / 6.0
    sin_a = sin_a * -a2 + 1.0
    sin_a = sin_a * a
    cos_a = 1.0 / 20922789888000.0
    cos_a = cos_a * -a2 + 1.0 / 87178291200.0
    cos_a = cos_a * -a2 + 1.0 / 479001600.0
    cos_a = cos_a * -a2 + 1.0 / 3628800.0
    cos_a = cos_a * -a2 + 1.0 / 40320.0
    cos_a = cos_a * -a2 + 1.0 / 720.0
    cos_a = cos_a * -a2 + 1.0 / 24.0
    cos_a = cos_a * -a2 + 0.5
    cos_a = cos_a * -a2 + 1.0
    swap = (quadrant & 1) == 1
    cos_theta = sin_a if swap else cos_a
    sin_theta = cos_a if swap else sin_a
    cos_sign = 1.0 - 2.0 * (((quadrant + 1) >> 1) & 1)
    sin_sign = 1.0 - 2.0 * ((quadrant >> 1) & 1)
    return cos_sign * cos_theta, sin_sign * sin_theta


@njit(**INLINE)
def box_muller(word_radius: np.uint64, word_angle: np.uint64) -> tuple[float, float]:
    """Two independent N(0, 1) from two 32-bit words, using their top 24 bits as uniforms.

    u = (k + 1/2) / 2**24 lies in (0, 1), so the radius sqrt(-2 ln u) is finite (at most ~5.9).
    """
    k_radius = np.int64(word_radius >> _SHIFT8)
    u = (k_radius + 0.5) * 2.0**-24
    radius = np.sqrt(-2.0 * fast_log(u))
    cos_theta, sin_theta = unit_circle(word_angle)  # signs are +-1: the products stay exact
    return radius * cos_theta, radius * sin_theta


@njit(**INLINE)
def _fill_calls(
    k0: np.uint64,
    k1: np.uint64,
    first_path: int,
    count: int,
    first_call: int,
    num_calls: int,
    out: np.ndarray,
    first_row: int,
) -> None:
    """Rows first_row + 4c .. + 3 get the 4 normals of Philox call first_call + c of each path."""
    for c in range(num_calls):
        call = np.uint64(first_call + c)
        row = first_row + 4 * c
        out0, out1, out2, out3 = out[row], out[row + 1], out[row + 2], out[row + 3]
        for p in range(count):
            path = np.uint64(first_path + p)
            w0, w1, w2, w3 = philox4x32_10(path & _MASK32, path >> _SHIFT32, call, _ZERO, k0, k1)
            z0, z1 = box_muller(w0, w1)
            z2, z3 = box_muller(w2, w3)
            out0[p] = z0
            out1[p] = z1
            out2[p] = z2
            out3[p] = z3


def normal_rows(num_normals: int) -> int:
    """Rows a month's normals buffer needs: whole pairs, plus a pair carried to the next month."""
    return 2 * ((num_normals + 1) // 2) + 2


@njit(**INLINE)
def fill_month_normals(
    k0: np.uint64,
    k1: np.uint64,
    first_path: int,
    count: int,
    month: int,
    num_normals: int,
    out: np.ndarray,
) -> None:
    """out[j, p] = normal j of path first_path + p in `month` (j < num_normals).

    Each path reads one stream: Box-Muller pair s comes from half s % 2 of Philox call s // 2
    with counter (path low word, path high word, s // 2, 0), and month t uses pairs
    t * P .. t * P + P - 1 with P = ceil(num_normals / 2); no random bit is drawn and dropped.
    With P odd, an even month's last call also yields the next month's first pair, kept in the
    two carry rows, so months must be filled in order for a block (month 0 first).
    """
    pairs = (num_normals + 1) // 2
    first_pair = month * pairs
    first_row = first_pair % 2 * 2
    if first_row:
        carried0, carried1 = out[2 * pairs], out[2 * pairs + 1]
        out0, out1 = out[0], out[1]
        for p in range(count):
            out0[p] = carried0[p]
            out1[p] = carried1[p]
    # Even first pair: ceil(P / 2) calls from row 0; odd: the rest, from row 2.
    num_calls = (pairs + 1 - first_row) // 2
    _fill_calls(k0, k1, first_path, count, (first_pair + 1) // 2, num_calls, out, first_row)


@njit(parallel=True, **JIT)
def _standard_normals(
    k0: np.uint64, k1: np.uint64, num_paths: int, months: int, num_normals: int, block: int
) -> np.ndarray:
    out = np.empty((months, num_normals, num_paths))
    num_blocks = (num_paths + block - 1) // block
    for b in prange(num_blocks):
        first = b * block
        count = min(block, num_paths - first)
        buffer = np.empty((2 * ((num_normals + 1) // 2) + 2, count))
        for month in range(months):
            fill_month_normals(k0, k1, first, count, month, num_normals, buffer)
            out[month, :, first : first + count] = buffer[:num_normals]
    return out


def seed_key(seed: int) -> tuple[np.uint64, np.uint64]:
    """Philox key: two 32-bit words of SeedSequence(seed)."""
    words = np.random.SeedSequence(seed).generate_state(2, dtype=np.uint32)
    return np.uint64(words[0]), np.uint64(words[1])


def standard_normals(
    seed: int, num_paths: int, months: int, num_normals: int, *, block: int = 512
) -> np.ndarray:
    """The engine's N(0, 1) draws, shape (months, num_normals, num_paths), uncorrelated."""
    k0, k1 = seed_key(seed)
    return _standard_normals(k0, k1, num_paths, months, num_normals, block)
