"""One check for every model: a seed gives the same bits whatever the threads, blocks, shards."""

import numba
import numpy as np

from app.engine import SimulationInputs, run_simulation

OUTPUT_FIELDS = (
    "final_values",
    "max_drawdowns",
    "annualized_returns",
    "annualized_volatilities",
    "mean_monthly_returns",
    "annualized_downside_deviations",
    "return_months",
    "depleted",
    "sample_paths",
    "percentile_bands",
)


def assert_same_bits_whatever_threads_and_blocks(inputs: SimulationInputs) -> None:
    """1 vs 2 threads with blocks of 512, and blocks of 97: every output array identical; a shard
    of the run (a range of its paths) has exactly those paths' values."""
    original = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = run_simulation(inputs, block_size=512)
        numba.set_num_threads(2)
        double = run_simulation(inputs, block_size=512)
        odd_blocks = run_simulation(inputs, block_size=97)
    finally:
        numba.set_num_threads(original)
    for other in (double, odd_blocks):
        for field in OUTPUT_FIELDS:
            assert np.array_equal(getattr(single, field), getattr(other, field), equal_nan=True)
    first, count = inputs.num_paths // 3, inputs.num_paths // 2
    shard = run_simulation(inputs, first_path=first, path_count=count)
    for field in ("final_values", "max_drawdowns", "annualized_volatilities", "return_months"):
        whole = getattr(single, field)[first : first + count]
        assert np.array_equal(getattr(shard, field), whole, equal_nan=True)
