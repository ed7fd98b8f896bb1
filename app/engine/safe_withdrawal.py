"""The safe withdrawal rate: the largest fixed_real annual amount whose success rate is >= p.

Every trial simulates the same paths (the same seed: common random numbers), so a path that
survives an amount survives every smaller one and success(A) is non-increasing in A; bisection
then brackets the answer: lo is an amount known to succeed (or 0), hi one known to fail. The
first trial is the amount that spends the money put in at zero return over the withdrawal
months, doubled until it fails; bisection stops once hi - lo <= 0.1% of the scale (the initial
investment, or the contributions without one), or at the run budget. The answer is lo,
simulated once more with its charts: that run is the response's, and counts in `iterations`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.engine.simulate import SimulationInputs, SimulationOutput, run_simulation
from app.engine.withdrawal_fixed_real import FixedRealWithdrawals

MAX_RUNS = 25
TOLERANCE = 0.001  # of the scale


@dataclass(frozen=True)
class SafeWithdrawal:
    annual_amount: float
    success: float
    iterations: int
    output: SimulationOutput  # the run at annual_amount, with its charts


def _success(output: SimulationOutput) -> float:
    return 1.0 - int(output.depleted.sum()) / output.depleted.shape[0]


def solve_safe_withdrawal(inputs: SimulationInputs, target_success: float) -> SafeWithdrawal:
    """Bisection on annual_amount of inputs' fixed_real strategy (its amount is ignored)."""
    strategy = inputs.withdrawal_strategy
    if not isinstance(strategy, FixedRealWithdrawals):
        raise ValueError("the safe withdrawal rate needs a fixed_real strategy")
    if not 0.0 < target_success < 1.0:
        raise ValueError("target_success must be between 0 and 1")
    if inputs.seed is None:
        raise ValueError("the solve needs its seed fixed beforehand (common random numbers)")
    scale = inputs.initial_investment or float(inputs.scheduled_contributions().sum()) + max(
        12 * inputs.years * inputs.monthly_contribution, 0.0
    )
    tolerance = TOLERANCE * scale

    def trial(amount: float, charts: bool = False) -> SimulationOutput:
        plan = replace(inputs, withdrawal_strategy=replace(strategy, annual_amount=amount))
        return run_simulation(plan, charts=charts)

    runs = 0
    low, high = 0.0, None
    withdrawal_months = 12 * inputs.years - strategy.start_month + 1
    amount = 12.0 * max(inputs.total_invested(), scale) / withdrawal_months
    while runs < MAX_RUNS - 1:
        runs += 1
        if _success(trial(amount)) >= target_success:
            low = amount
        else:
            high = amount
        if high is None:
            amount *= 2.0
        elif high - low <= tolerance:
            break
        else:
            amount = 0.5 * (low + high)
    output = trial(low, charts=True)
    return SafeWithdrawal(low, _success(output), runs + 1, output)
