"""The random numbers: Philox against Random123's published vectors, then the normals' law."""

import math

import numpy as np
import pytest

from app.engine.philox import (
    box_muller,
    fast_exp,
    fast_log,
    fill_month_normals,
    normal_rows,
    philox4x32_10,
    seed_key,
    standard_normals,
)

# Random123 kat_vectors, philox4x32 with 10 rounds: counter (4 words), key (2 words), output.
RANDOM123_PHILOX4X32_10 = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]

UPPER_TAIL_3_SIGMA = math.erfc(3.0 / math.sqrt(2.0))  # P(|Z| > 3)


@pytest.mark.parametrize(("counter", "key", "expected"), RANDOM123_PHILOX4X32_10)
def test_philox_matches_random123_known_answers(counter, key, expected):
    words = philox4x32_10(*(np.uint64(w) for w in counter), *(np.uint64(k) for k in key))
    assert tuple(int(w) for w in words) == expected


def test_fast_log_and_exp_agree_with_libm_to_a_few_ulps():
    uniforms = (np.arange(1, 2**24, 997) + 0.5) * 2.0**-24
    logs = np.array([fast_log(u) for u in uniforms])
    assert np.allclose(logs, np.log(uniforms), rtol=4e-16, atol=4e-16)
    arguments = np.linspace(-40.0, 40.0, 20_001)
    assert np.allclose([fast_exp(x) for x in arguments], np.exp(arguments), rtol=1e-15, atol=0)
    assert fast_exp(0.0) == 1.0  # zero volatility must leave the drift exact


def test_box_muller_is_radius_times_cos_and_sin_of_the_24_bit_angle():
    radius_word = np.uint64(0x12345678)
    u = ((0x12345678 >> 8) + 0.5) * 2.0**-24
    radius = math.sqrt(-2.0 * math.log(u))
    for k in range(0, 2**24, 4099):
        theta = 2.0 * math.pi * (k + 0.5) / 2**24
        z0, z1 = box_muller(radius_word, np.uint64(k << 8))
        assert z0 == pytest.approx(radius * math.cos(theta), abs=1e-14)
        assert z1 == pytest.approx(radius * math.sin(theta), abs=1e-14)


def test_seed_key_is_two_words_of_the_seed_sequence():
    words = np.random.SeedSequence(42).generate_state(2, dtype=np.uint32)
    assert seed_key(42) == (np.uint64(words[0]), np.uint64(words[1]))
    assert seed_key(42) != seed_key(43)


@pytest.mark.parametrize("num_normals", [1, 2, 5, 8])
def test_a_paths_normals_do_not_depend_on_its_block(num_normals):
    k0, k1 = seed_key(7)
    whole = np.empty((normal_rows(num_normals), 300))
    part = np.empty((normal_rows(num_normals), 17))
    for month in range(4):
        fill_month_normals(k0, k1, 1000, 300, month, num_normals, whole)
        fill_month_normals(k0, k1, 1123, 17, month, num_normals, part)
        assert np.array_equal(part[:num_normals], whole[:num_normals, 123:140])


def test_the_stream_uses_every_philox_word_once():
    k0, k1 = seed_key(7)
    months = standard_normals(7, 3, 2, 3)  # 2 pairs a month: pairs 0-1 and 2-3 of each path
    words = philox4x32_10(np.uint64(2), np.uint64(0), np.uint64(1), np.uint64(0), k0, k1)
    first, second = box_muller(words[0], words[1]), box_muller(words[2], words[3])
    assert months[1, :, 2].tolist() == [first[0], first[1], second[0]]


@pytest.fixture(scope="module")
def ten_million_normals() -> np.ndarray:
    return standard_normals(2024, 100_000, 25, 4)


def test_normals_have_zero_mean_and_unit_variance(ten_million_normals):
    z = ten_million_normals.ravel()
    n = z.size
    assert n == 10_000_000
    assert abs(z.mean()) < 4.0 / math.sqrt(n)
    assert abs(z.std() - 1.0) < 4.0 / math.sqrt(2.0 * n)
    assert abs(np.mean(z**3)) < 4.0 * math.sqrt(15.0 / n)
    assert abs(np.mean(z**4) - 3.0) < 4.0 * math.sqrt(96.0 / n)


def test_share_beyond_three_sigma_is_the_normal_tail(ten_million_normals):
    z = ten_million_normals.ravel()
    share = np.mean(np.abs(z) > 3.0)
    se = math.sqrt(UPPER_TAIL_3_SIGMA * (1.0 - UPPER_TAIL_3_SIGMA) / z.size)
    assert abs(share - UPPER_TAIL_3_SIGMA) < 4.0 * se
    assert np.abs(z).max() < 5.9  # 24-bit uniforms bound the radius by sqrt(50 ln 2)


def test_normals_of_different_assets_and_months_are_uncorrelated(ten_million_normals):
    z = ten_million_normals  # (month, asset, path)
    n = z.shape[0] * z.shape[2]
    for a, b in [(0, 1), (0, 2), (1, 3), (2, 3)]:
        assert abs(np.corrcoef(z[:, a].ravel(), z[:, b].ravel())[0, 1]) < 4.0 / math.sqrt(n)
    lagged = np.corrcoef(z[1:, 0].ravel(), z[:-1, 0].ravel())[0, 1]
    assert abs(lagged) < 4.0 / math.sqrt(n)
