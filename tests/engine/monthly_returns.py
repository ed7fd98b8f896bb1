"""Each asset's simulated monthly gross returns, read back from the kernel's sample paths.

Without contributions and rebalanced monthly, V_t / V_(t-1) = sum_i w_i R_it exactly (up to
rounding). A model's draws do not depend on the weights, so two runs with the same seed and two
weightings of a two-asset portfolio give both assets' returns by solving a 2 x 2 system.
"""

from dataclasses import replace

import numpy as np

from app.engine import SimulationInputs, run_simulation


def portfolio_returns(inputs: SimulationInputs) -> np.ndarray:
    """Gross monthly returns of each sample path, shape (sample_paths, months)."""
    inputs = replace(inputs, monthly_contribution=0.0, rebalancing="monthly")
    values = run_simulation(inputs).sample_paths
    return values[:, 1:] / values[:, :-1]


def two_asset_returns(inputs: SimulationInputs) -> tuple[np.ndarray, np.ndarray]:
    """(R_1, R_2), each flattened over sample paths and months."""
    first = (0.5, 0.5)
    second = (0.9, 0.1)
    a = portfolio_returns(replace(inputs, weights=np.array(first))).ravel()
    b = portfolio_returns(replace(inputs, weights=np.array(second))).ravel()
    r1 = (b - 0.2 * a) / 0.8  # b = 0.9 R1 + 0.1 (2 a - R1)
    return r1, 2.0 * a - r1
