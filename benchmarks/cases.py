"""The benchmark cases: the spec's example portfolio and a 10-asset mix, at growing sizes.

Shared by `benchmarks.engine` and `benchmarks.return_models`; each case also carries the
engine's target time and how often each measurement repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine import SimulationInputs


@dataclass(frozen=True)
class Case:
    name: str
    assets: int
    years: int
    paths: int
    target_s: float
    engine_repeats: int
    reference_repeats: int


CASES = {
    "A": Case("A", 2, 10, 10_000, 0.010, 41, 5),
    "B": Case("B", 2, 10, 100_000, 0.060, 21, 3),
    "C": Case("C", 10, 30, 100_000, 1.5, 5, 1),
    "D": Case("D", 2, 10, 1_000_000, 0.6, 5, 1),
}


def case_inputs(case: Case) -> SimulationInputs:
    """The spec's example portfolio (60/40 equity/bonds) or a 10-asset mix, 50k a month."""
    if case.assets == 2:
        returns, vols = np.array([0.08, 0.04]), np.array([0.16, 0.06])
        correlation = np.array([[1.0, 0.1], [0.1, 1.0]])
    else:
        returns = np.linspace(0.02, 0.12, case.assets)
        vols = np.linspace(0.02, 0.35, case.assets)
        correlation = np.full((case.assets, case.assets), 0.3)
        np.fill_diagonal(correlation, 1.0)
    return SimulationInputs(
        weights=np.full(case.assets, 1.0 / case.assets),
        annual_returns=returns,
        annual_volatilities=vols,
        correlation=correlation,
        initial_investment=1_000_000.0,
        monthly_contribution=50_000.0,
        years=case.years,
        num_paths=case.paths,
        seed=2026,
    )
