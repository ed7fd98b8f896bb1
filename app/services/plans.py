"""A request's plan (cash flows, fee, withdrawal strategy) as the engine's inputs, and its run
(a safe-withdrawal solve, when asked for)."""

import secrets
from dataclasses import replace

from app.engine.cash_flows import CashFlow
from app.engine.safe_withdrawal import solve_safe_withdrawal
from app.engine.simulate import (
    SEED_BOUND,
    SimulationInputs,
    SimulationOutput,
    WithdrawalStrategy,
    run_simulation,
)
from app.engine.withdrawal import NoWithdrawals
from app.engine.withdrawal_fixed_real import FixedRealWithdrawals
from app.engine.withdrawal_guardrails import GuardrailsWithdrawals
from app.engine.withdrawal_percentage import PercentageWithdrawals
from app.schemas.cash_flows import FixedRealInput, PercentageInput
from app.schemas.simulation import SimulationParameters

SOLVE_RUNS = 25  # runs a safe-withdrawal solve may take, each counted in the work budget


def _strategy(parameters: SimulationParameters) -> WithdrawalStrategy:
    strategy = parameters.withdrawal_strategy
    if strategy is None:
        return NoWithdrawals()
    if isinstance(strategy, FixedRealInput):
        # A solve finds the amount; until then it is 0.
        return FixedRealWithdrawals(strategy.annual_amount or 0.0, strategy.start_month)
    if isinstance(strategy, PercentageInput):
        return PercentageWithdrawals(strategy.annual_rate, strategy.start_month)
    return GuardrailsWithdrawals(
        strategy.initial_rate,
        strategy.start_month,
        strategy.upper_guardrail,
        strategy.lower_guardrail,
        strategy.adjustment,
    )


def plan_inputs(parameters: SimulationParameters) -> dict:
    """The SimulationInputs fields of the request's plan."""
    return {
        "cash_flows": tuple(
            CashFlow(
                flow.amount,
                flow.frequency,
                flow.start_month,
                flow.end_month,
                flow.indexed_to_inflation,
            )
            for flow in parameters.cash_flows
        ),
        "annual_fee": parameters.annual_fee,
        "withdrawal_strategy": _strategy(parameters),
        "inflation_rate": parameters.inflation_rate,
    }


def runs_per_request(parameters: SimulationParameters) -> int:
    """How many engine runs the request costs: a solve may take SOLVE_RUNS."""
    return SOLVE_RUNS if parameters.solve is not None else 1


def simulate_plan(
    inputs: SimulationInputs, target_success: float | None
) -> tuple[SimulationOutput, dict | None]:
    """The run to answer, and the solve's figures when one was asked for."""
    if target_success is None:
        return run_simulation(inputs), None
    if inputs.seed is None:  # every trial must see the same paths
        inputs = replace(inputs, seed=secrets.randbelow(SEED_BOUND))
    solved = solve_safe_withdrawal(inputs, target_success)
    initial = inputs.initial_investment
    return solved.output, {
        "annual_amount": solved.annual_amount,
        "rate": solved.annual_amount / initial if initial > 0 else None,
        "success": solved.success,
        "target_success": target_success,
        "iterations": solved.iterations,
    }
