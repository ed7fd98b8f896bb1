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
    low, high = (float(q) for q in np.percentile(values, [100 * tail, 100 * (1 - tail)]))
    if high - low < max(abs(low), abs(high), 1.0) * 1e-9:
        pad = max(abs(low) * 0.01, 1.0)
        low, high = low - pad, high + pad
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    return {
        "edges": edges.tolist(),
        "counts": counts.tolist(),
        "below": int(np.count_nonzero(values < low)),
        "above": int(np.count_nonzero(values > high)),
    }
