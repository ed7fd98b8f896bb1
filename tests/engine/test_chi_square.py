"""The chi-square draws of the Student-t model, on their own: exact law, counter-based."""

import math

import numpy as np
import pytest
from scipy import stats

from app.engine.chi_square import fill_pair_scales, inverse_sqrt, sine_of_half_turn
from app.engine.philox import seed_key


def chi_square_draws(seed: int, first: int, paths: int, pairs: int, nu: int) -> np.ndarray:
    """W of months 0 .. 2 pairs - 1 of paths first .. first + paths - 1, shape (months, paths)."""
    k0, k1 = seed_key(seed)
    radius_words = np.empty((4, paths), dtype=np.uint64)
    sums = np.empty((4, paths))
    scale, next_scale = np.empty(paths), np.empty(paths)
    months = np.empty((2 * pairs, paths))
    for pair in range(pairs):  # in order, as a block of the kernel draws them
        fill_pair_scales(k0, k1, first, pair, nu, radius_words, sums, scale, next_scale)
        months[2 * pair] = (nu - 2) / scale**2
        months[2 * pair + 1] = (nu - 2) / next_scale**2
    return months


def test_inverse_sqrt_is_accurate_to_a_few_ulps():
    x = np.geomspace(1e-12, 1e6, 100_001)
    y = np.array([inverse_sqrt(v) for v in x])
    assert np.max(np.abs(y * np.sqrt(x) - 1.0)) < 1e-15


def test_sine_of_half_turn_matches_libm_over_the_whole_range():
    words = np.concatenate([np.arange(0, 2**32, 65_537), [2**32 - 1]]).astype(np.uint64)
    angle = math.pi * ((words.astype(np.float64) + 0.5) / 2**32 - 0.5)
    sines = np.array([sine_of_half_turn(w) for w in words])
    assert np.max(np.abs(sines - np.sin(angle))) < 1e-15


@pytest.mark.parametrize("nu", [3, 4, 5, 8, 29, 57, 100])
def test_draws_follow_the_chi_square_law(nu):
    draws = chi_square_draws(seed=3, first=0, paths=20_000, pairs=5, nu=nu)
    assert stats.kstest(draws.ravel(), stats.chi2(nu).cdf).pvalue > 0.01
    assert abs(np.mean((nu - 2) / draws) - 1.0) < 4.0 * np.std((nu - 2) / draws) / 447.0


@pytest.mark.parametrize("nu", [3, 6])
def test_the_two_months_of_a_pair_and_successive_pairs_are_independent(nu):
    draws = chi_square_draws(seed=4, first=0, paths=50_000, pairs=4, nu=nu)
    ranks = stats.rankdata(draws, axis=1)  # Spearman: the law is skewed
    bound = 4.0 / math.sqrt(draws.shape[1])
    for a, b in [(0, 1), (1, 2), (2, 3), (0, 4), (5, 6)]:
        assert abs(np.corrcoef(ranks[a], ranks[b])[0, 1]) < bound


@pytest.mark.parametrize("nu", [5, 8])
def test_a_paths_draws_do_not_depend_on_its_block(nu):
    whole = chi_square_draws(seed=7, first=1000, paths=300, pairs=3, nu=nu)
    part = chi_square_draws(seed=7, first=1123, paths=17, pairs=3, nu=nu)
    assert np.array_equal(part, whole[:, 123:140])
    other_seed = chi_square_draws(seed=8, first=1123, paths=17, pairs=3, nu=nu)
    assert not np.any(other_seed == part)
