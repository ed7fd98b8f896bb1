"""Zero-volatility plans, whose values have closed forms: one asset growing by g a month."""

from dataclasses import replace

import numpy as np

from app.engine import SimulationInputs

MU = 0.06
GROWTH = float(np.exp(MU / 12.0))  # the normal model's monthly factor at zero volatility


def riskless(**overrides) -> SimulationInputs:
    inputs = SimulationInputs(
        weights=np.array([1.0]),
        annual_returns=np.array([MU]),
        annual_volatilities=np.array([0.0]),
        correlation=np.array([[1.0]]),
        initial_investment=100_000.0,
        monthly_contribution=0.0,
        years=10,
        num_paths=16,
        seed=3,
        sample_paths=2,
    )
    return replace(inputs, **overrides)


def geometric_sum(first: float, ratio: float, count: int) -> float:
    """first + first ratio + ... + first ratio ** (count - 1)."""
    return first * (ratio**count - 1.0) / (ratio - 1.0)
