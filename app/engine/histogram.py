"""The distribution of final values as a histogram, kept with a simulation for its chart."""

from __future__ import annotations

import numpy as np

HISTOGRAM_BINS = 60
HISTOGRAM_TAIL = 0.005  # share of paths left out at each end, so one extreme path cannot
# squeeze the rest into a few bins


def final_value_histogram(
    values: np.ndarray, *, bins: int = HISTOGRAM_BINS, tail: float = HISTOGRAM_TAIL
) -> dict:
    """Counts of `values` in `bins` equal bins spanning their `tail` to `1 - tail` quantiles.

    Paths beyond the span are counted in `below` and `above`, so counts + below + above = N.
    When (nearly) every path ends at one value the span is widened to show it as one bar.
    """
    low, high = histogram_span(*np.percentile(values, [100 * tail, 100 * (1 - tail)]))
    return histogram_of([histogram_counts(values, low, high, bins)], low, high, bins)


def histogram_span(low: float, high: float) -> tuple[float, float]:
    low, high = float(low), float(high)
    if high - low < max(abs(low), abs(high), 1.0) * 1e-9:
        pad = max(abs(low) * 0.01, 1.0)
        low, high = low - pad, high + pad
    return low, high


def histogram_counts(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    """One part's counts per bin, then below and above the span: parts add up exactly."""
    counts, _ = np.histogram(values, bins=bins, range=(low, high))
    below = np.count_nonzero(values < low)
    above = np.count_nonzero(values > high)
    return np.concatenate([counts, [below, above]])


def histogram_of(parts: list[np.ndarray], low: float, high: float, bins: int) -> dict:
    total = np.sum(parts, axis=0)
    return {
        "edges": np.histogram_bin_edges(np.empty(0), bins=bins, range=(low, high)).tolist(),
        "counts": total[:bins].tolist(),
        "below": int(total[bins]),
        "above": int(total[bins + 1]),
    }
