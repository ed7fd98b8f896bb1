import numpy as np

from app.engine.histogram import final_value_histogram


def test_every_path_is_counted_once_in_a_bin_or_a_tail() -> None:
    values = np.random.default_rng(3).lognormal(13, 0.4, size=10_001)
    histogram = final_value_histogram(values, bins=60, tail=0.005)
    assert len(histogram["counts"]) == 60 and len(histogram["edges"]) == 61
    assert sum(histogram["counts"]) + histogram["below"] + histogram["above"] == values.size
    assert histogram["edges"][0] == np.percentile(values, 0.5)
    assert histogram["edges"][-1] == np.percentile(values, 99.5)
    assert histogram["below"] == np.count_nonzero(values < histogram["edges"][0])
    assert 40 <= histogram["below"] <= 51 and 40 <= histogram["above"] <= 51


def test_a_single_final_value_is_one_visible_bar() -> None:
    histogram = final_value_histogram(np.full(500, 1234.5), bins=10)
    edges = histogram["edges"]
    assert edges[0] < 1234.5 < edges[-1]
    assert sorted(histogram["counts"])[-1] == 500 and histogram["below"] == histogram["above"] == 0


def test_depleted_paths_at_zero_are_in_the_first_bin() -> None:
    values = np.concatenate([np.zeros(300), np.linspace(1.0, 1000.0, 700)])
    histogram = final_value_histogram(values, bins=20, tail=0.0)
    assert histogram["edges"][0] == 0.0 and histogram["counts"][0] >= 300
    assert sum(histogram["counts"]) == 1000
