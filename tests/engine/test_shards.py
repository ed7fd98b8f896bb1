"""A run split into shards gives the whole run's metrics and chart data, bit for bit."""

from dataclasses import replace

import numpy as np
import pytest

from app.engine import SimulationInputs, compute_metrics, run_simulation
from app.engine.cash_flows import CashFlow
from app.engine.order_stats import GATHER_LIMIT, answer
from app.engine.shards import finish, result_of_output, shard_ranges, simulate_shard
from app.engine.summary import merge
from app.engine.withdrawal_fixed_real import FixedRealWithdrawals
from app.engine.withdrawal_guardrails import GuardrailsWithdrawals

RUN = SimulationInputs(
    weights=np.array([0.5, 0.3, 0.2]),
    annual_returns=np.array([0.08, 0.04, 0.12]),
    annual_volatilities=np.array([0.16, 0.06, 0.35]),
    correlation=np.array([[1.0, 0.1, 0.4], [0.1, 1.0, 0.0], [0.4, 0.0, 1.0]]),
    initial_investment=100_000.0,
    monthly_contribution=-900.0,  # some paths deplete: ties at 0, CAGRs left out
    years=12,
    num_paths=3_001,
    seed=11,
    sample_paths=7,
    risk_free_rate=0.02,
)


def sharded(inputs: SimulationInputs, shard_paths: int, inflation_rate: float):
    shards = [
        simulate_shard(inputs, first, count, inflation_rate=inflation_rate)
        for first, count in shard_ranges(inputs.num_paths, shard_paths)
    ]

    def run_round(queries):
        return [answer(keys, queries) for _, keys in shards]

    return finish(
        inputs, merge([summary for summary, _ in shards]), run_round, inflation_rate=inflation_rate
    )


def whole(inputs: SimulationInputs, inflation_rate: float):
    output = run_simulation(inputs)
    metrics = compute_metrics(
        output,
        risk_free_rate=inputs.risk_free_rate,
        inflation_rate=inflation_rate,
        years=inputs.years,
    )
    return result_of_output(output, metrics)


def same_bits(left, right) -> None:
    assert left.metrics == right.metrics
    assert left.seed == right.seed and left.num_paths == right.num_paths
    assert left.band_paths_used == right.band_paths_used
    for name in ("percentile_bands", "sample_paths"):
        a, b = getattr(left, name), getattr(right, name)
        assert a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("shard_paths", [1, 97, 1_000, 3_001])
def test_any_split_gives_the_whole_runs_bits(shard_paths: int) -> None:
    inputs = replace(RUN, num_paths=400) if shard_paths == 1 else RUN
    same_bits(sharded(inputs, shard_paths, 0.025), whole(inputs, 0.025))


PLAN = replace(
    RUN,
    monthly_contribution=0.0,
    cash_flows=(
        CashFlow(1_500.0, "monthly", end_month=48, indexed_to_inflation=True),
        CashFlow(-20_000.0, "once", start_month=70),
    ),
    annual_fee=0.008,
    inflation_rate=0.025,
    rebalancing="quarterly",
)


@pytest.mark.parametrize(
    "strategy",
    [FixedRealWithdrawals(9_000.0, 49), GuardrailsWithdrawals(0.07, 49)],
    ids=["fixed_real", "guardrails"],
)
@pytest.mark.parametrize("shard_paths", [97, 1_000])
def test_plans_split_into_shards_give_the_whole_runs_bits(shard_paths: int, strategy) -> None:
    inputs = replace(PLAN, withdrawal_strategy=strategy)
    whole_run = whole(inputs, 0.025)
    same_bits(sharded(inputs, shard_paths, 0.025), whole_run)
    metrics = whole_run.metrics
    if isinstance(strategy, FixedRealWithdrawals):  # some paths deplete, some do not
        assert 0.0 < metrics["probabilities"]["success"] < 1.0
    assert metrics["withdrawals"]["total"]["p95"] > metrics["withdrawals"]["total"]["p5"]
    spending = metrics["withdrawals"]["annual"]
    assert (spending is None) == isinstance(strategy, FixedRealWithdrawals)


def test_depletion_and_real_terms_are_present_in_the_checked_run() -> None:
    metrics = whole(RUN, 0.025).metrics
    assert 0.0 < metrics["probabilities"]["depletion"] < 1.0
    assert metrics["real"]["risk_metrics"]["cvar_95"] is not None


def test_ranks_in_bins_larger_than_the_gather_limit_are_refined(monkeypatch) -> None:
    import app.engine.order_stats as order_stats

    reference = whole(RUN, 0.0)
    monkeypatch.setattr(order_stats, "GATHER_LIMIT", 8)
    assert GATHER_LIMIT > 8
    same_bits(sharded(RUN, 500, 0.0), reference)
    same_bits(whole(RUN, 0.0), reference)
