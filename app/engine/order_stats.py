"""Exact order statistics of values spread over shards, moving only the values near each rank.

Values are stored as order-preserving int64 keys (the float64 bit pattern, negative values with
their magnitude bits flipped), so sorting keys sorts values. A distributed radix selection finds
the k-th smallest key: every shard counts its keys by the top 12 bits (sign and exponent); the
summed counts say which bin holds each wanted rank; bins still larger than GATHER_LIMIT are
counted again by their next 12 bits, and so on, until the few values of each wanted bin are
gathered and the rank is picked among them. Nothing but counts and those few values leaves a
shard, and the answer is the same key whatever the split.

`select` drives it: it asks `run_round(queries)` for every shard's answers to a round of queries
(in this process, or as tasks on a cluster) and returns each wanted rank's key, and for a
"sum of the smallest k" request, the exact sum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from numba import njit

from app.engine.exact_sum import EXACT_JIT, add_exact, exact_value, new_accumulators, normalize
from app.engine.philox import bits_float, float_bits

SHIFTS = (52, 40, 28, 16, 0)  # a bin at level L holds the keys with equal key >> SHIFTS[L]
TOP_BINS = 4096
GATHER_LIMIT = 1 << 20
_FLIP = 0x7FFFFFFFFFFFFFFF


@njit(**EXACT_JIT)
def keys_of(values: np.ndarray) -> np.ndarray:
    """Order-preserving keys of the non-NaN values (-0.0 counts as 0.0), in their order."""
    keys = np.empty(values.shape[0], dtype=np.int64)
    n = 0
    for x in values:
        if x == x:
            bits = float_bits(x + 0.0)
            keys[n] = bits if bits >= 0 else bits ^ _FLIP
            n += 1
    return keys[:n]


@njit(inline="always", **EXACT_JIT)
def key_value(key: np.int64) -> float:
    return bits_float(key if key >= 0 else key ^ _FLIP)


def value_of(key: int) -> float:
    return float(key_value(np.int64(key)))


def keys_as_values(keys: np.ndarray) -> np.ndarray:
    """The float64 values of an array of keys."""
    return np.where(keys >= 0, keys, keys ^ _FLIP).view(np.float64)


@njit(**EXACT_JIT)
def top_histogram(keys: np.ndarray) -> np.ndarray:
    counts = np.zeros(TOP_BINS, dtype=np.int64)
    for key in keys:
        counts[(key >> 52) + 2048] += 1
    return counts


@njit(**EXACT_JIT)
def _bin_histogram(keys: np.ndarray, shift: int, prefix: np.int64, next_shift: int) -> np.ndarray:
    counts = np.zeros(1 << (shift - next_shift), dtype=np.int64)
    mask = (np.int64(1) << (shift - next_shift)) - 1
    for key in keys:
        if key >> shift == prefix:
            counts[(key >> next_shift) & mask] += 1
    return counts


@njit(**EXACT_JIT)
def _bin_members(keys: np.ndarray, shift: int, prefix: np.int64) -> np.ndarray:
    out = np.empty(keys.shape[0], dtype=np.int64)
    n = 0
    for key in keys:
        if key >> shift == prefix:
            out[n] = key
            n += 1
    return out[:n].copy()


@njit(**EXACT_JIT)
def _sum_below(keys: np.ndarray, bound: np.int64, acc: np.ndarray) -> None:
    for key in keys:
        if key < bound:
            add_exact(acc, key_value(key))
    normalize(acc)


@dataclass(frozen=True)
class Query:
    """One question to every shard about the keys of `array`.

    kind "histogram": counts of the next level's digits inside bin (level, prefix);
    "members": the keys inside that bin; "below": the exact sum of the values whose key is less
    than `prefix` (level unused).
    """

    kind: str
    array: str
    level: int
    prefix: int


def answer(arrays: dict[str, np.ndarray], queries: Sequence[Query]) -> list[np.ndarray]:
    """One shard's answers to a round of queries, over its keys by array name."""
    answers = []
    for query in queries:
        keys = arrays[query.array]
        prefix = np.int64(query.prefix)
        if query.kind == "histogram":
            shift = SHIFTS[query.level]
            answers.append(_bin_histogram(keys, shift, prefix, SHIFTS[query.level + 1]))
        elif query.kind == "members":
            answers.append(_bin_members(keys, SHIFTS[query.level], prefix))
        else:
            acc = new_accumulators(1)[0]
            _sum_below(keys, prefix, acc)
            answers.append(acc)
    return answers


@dataclass
class _Rank:
    array: str
    rank: int
    sum_smallest: bool  # also the exact sum of the values of ranks 0..rank
    level: int = 0
    prefix: int = 0
    rank_in_bin: int = 0
    bin_count: int = 0
    key: int | None = None
    members: np.ndarray | None = None
    below: Fraction | None = None
    smallest_sum: Fraction | None = field(default=None)


def _locate(state: _Rank, cumulative: np.ndarray, bin_start_prefix: int) -> None:
    """Move `state` into the sub-bin (one level down) that holds its rank, given the sub-bins'
    cumulative counts."""
    digit = int(np.searchsorted(cumulative, state.rank_in_bin, side="right"))
    state.rank_in_bin -= int(cumulative[digit - 1]) if digit else 0
    state.bin_count = int(cumulative[digit]) - (int(cumulative[digit - 1]) if digit else 0)
    state.prefix = bin_start_prefix + digit


RoundRunner = Callable[[list[Query]], list[list[np.ndarray]]]


def select(
    top_counts: dict[str, np.ndarray],
    wanted: Sequence[tuple[str, int, bool]],
    run_round: RoundRunner,
) -> list[tuple[int, Fraction | None]]:
    """Keys of the wanted (array, rank, sum_smallest) order statistics, in order.

    top_counts are the top-level histograms summed over shards; run_round answers a list of
    queries with one list of answers per shard. With sum_smallest, the exact sum of the values
    of ranks 0..rank comes too (else None).
    """
    states = [_Rank(array, rank, with_sum) for array, rank, with_sum in wanted]
    cumulative = {name: np.cumsum(counts) for name, counts in top_counts.items()}
    for state in states:
        state.rank_in_bin = state.rank
        _locate(state, cumulative[state.array], -(TOP_BINS // 2))
    while True:
        queries: dict[Query, list[_Rank]] = {}
        for state in states:
            for query in _next_queries(state):
                queries.setdefault(query, []).append(state)
        if not queries:
            break
        asked = list(queries)
        per_shard = run_round(asked)
        for position, query in enumerate(asked):
            combined = _combine(query, [shard[position] for shard in per_shard])
            for state in queries[query]:
                _take(state, query, combined)
    return [(state.key, state.smallest_sum) for state in states]  # type: ignore[misc]


def _next_queries(state: _Rank) -> list[Query]:
    if state.key is not None and (not state.sum_smallest or state.smallest_sum is not None):
        return []
    last = state.level == len(SHIFTS) - 1
    if state.key is None and not last and state.bin_count > GATHER_LIMIT:
        return [Query("histogram", state.array, state.level, state.prefix)]
    bin_start = state.prefix << SHIFTS[state.level]
    queries = []
    if state.sum_smallest and state.below is None:
        queries.append(Query("below", state.array, 0, bin_start))
    if state.key is None and not last:
        queries.append(Query("members", state.array, state.level, state.prefix))
    elif state.key is None:
        state.key = state.prefix
    if not queries:
        _finish_sum(state)
    return queries


def _combine(query: Query, answers: list[np.ndarray]) -> object:
    """The shards' answers to one query as one: cumulative counts, sorted keys, or a sum."""
    if query.kind == "histogram":
        return np.cumsum(np.sum(answers, axis=0))
    if query.kind == "members":
        return np.sort(np.concatenate(answers))
    return sum((exact_value(acc) for acc in answers), Fraction(0))


def _take(state: _Rank, query: Query, combined: object) -> None:
    if query.kind == "histogram":
        shift, next_shift = SHIFTS[state.level], SHIFTS[state.level + 1]
        state.level += 1
        _locate(state, combined, state.prefix << (shift - next_shift))  # type: ignore[arg-type]
    elif query.kind == "members":
        state.members = combined  # type: ignore[assignment]
        state.key = int(state.members[state.rank_in_bin])  # type: ignore[index]
    else:
        state.below = combined  # type: ignore[assignment]
    if state.key is not None and (not state.sum_smallest or state.below is not None):
        _finish_sum(state)


def _finish_sum(state: _Rank) -> None:
    if not state.sum_smallest or state.smallest_sum is not None or state.below is None:
        return
    taken = state.rank_in_bin + 1  # this bin's values of ranks up to `rank`
    if state.members is not None:
        acc = new_accumulators(1)[0]
        _sum_smallest(state.members, taken, acc)
        state.smallest_sum = state.below + exact_value(acc)
    else:  # a last-level bin holds one value
        state.smallest_sum = state.below + taken * Fraction(value_of(state.key))


@njit(**EXACT_JIT)
def _sum_smallest(sorted_keys: np.ndarray, count: int, acc: np.ndarray) -> None:
    for i in range(count):
        add_exact(acc, key_value(sorted_keys[i]))
    normalize(acc)
