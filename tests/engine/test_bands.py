"""Percentile bands: exact NumPy (linear) percentiles, whatever the shape of the values."""

import numpy as np
import pytest

from app.engine.bands import percentile_rows

QUANTILES = np.array([0.05, 0.25, 0.5, 0.75, 0.95])


def rows_of_every_kind() -> np.ndarray:
    rng = np.random.default_rng(3)
    rows = np.exp(rng.normal(size=(8, 5_001)) * 0.3) * 1e6
    rows[0] = 1e6  # month 0: every path at the initial value
    rows[1, ::3] = 0.0  # depleted paths
    rows[2] = 0.0  # every path depleted
    rows[3] = np.exp(rng.normal(size=5_001) * 6.0)  # values over many orders of magnitude
    rows[4] = np.round(rows[4] / 1e5) * 1e5  # heavy ties
    rows[5, :2_500] = 0.0  # depleted paths around the median
    rows[6, 10] = 1e300  # one huge outlier
    return rows


def test_bands_equal_numpy_percentiles():
    rows = rows_of_every_kind()
    expected = np.percentile(rows, 100 * QUANTILES, axis=1).T
    assert np.allclose(percentile_rows(rows, QUANTILES), expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100])
def test_bands_of_few_paths(n):
    rows = rows_of_every_kind()[:, :n].copy()
    expected = np.percentile(rows, 100 * QUANTILES, axis=1).T
    assert np.allclose(percentile_rows(rows, QUANTILES), expected, rtol=1e-14, atol=0)
