"""Cash-flow plans' speed: withdrawal strategies against the plain case, and the solve.

    python -m benchmarks.plans [--rounds 7] [--baseline REF]    (or benchmarks.engine --plans)

Case B (100,000 paths, 10 years, 2 assets) as it is (`plain`), with a fixed_real and with a
guardrails strategy from month 61, interleaved round by round in one process; target: each
strategy <= 1.3x plain. Then a safe-withdrawal solve (target 90%) of the spec portfolio at
10,000 paths through the service's compute step (simulate_plan, the metrics and the response
JSON: what a request costs less HTTP and the database row); target: under 300 ms. With
`--baseline`, the plain spec example and cases A-D at that commit and here, in fresh processes
taking turns (benchmarks.return_models.against_baseline); target: within +-5%.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from dataclasses import replace

from app.engine import run_simulation, warm_up
from app.engine.withdrawal_fixed_real import FixedRealWithdrawals
from app.engine.withdrawal_guardrails import GuardrailsWithdrawals
from app.schemas.simulation import SPEC_EXAMPLE, SimulationRequest
from app.services import monte_carlo
from benchmarks.cases import CASES, case_inputs

STRATEGY_RATIO_TARGET = 1.3
SOLVE_TARGET_S = 0.3


def strategy_variants() -> dict:
    plain = case_inputs(CASES["B"])
    return {
        "plain": plain,
        "fixed_real": replace(
            plain, withdrawal_strategy=FixedRealWithdrawals(600_000.0, 61), inflation_rate=0.02
        ),
        "guardrails": replace(
            plain, withdrawal_strategy=GuardrailsWithdrawals(0.05, 61), inflation_rate=0.02
        ),
    }


def time_strategies(rounds: int, repeats: int) -> dict:
    variants = strategy_variants()
    for inputs in variants.values():
        run_simulation(inputs)  # compile or load
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, inputs in variants.items():
            for _ in range(repeats):
                start = time.perf_counter()
                run_simulation(inputs)
                seconds[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(s) for name, s in seconds.items()}
    ratios = {name: medians[name] / medians["plain"] for name in variants}
    return {
        "case": "B",
        "median_s": {name: round(s, 5) for name, s in medians.items()},
        "ratio_to_plain": {name: round(r, 3) for name, r in ratios.items()},
        "meets_targets": all(r <= STRATEGY_RATIO_TARGET for r in ratios.values()),
    }


def solve_request() -> SimulationRequest:
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["parameters"].update(
        {
            "monthly_contribution": 0,
            "num_simulations": 10_000,
            "seed": 2026,
            "inflation_rate": 0.02,
            "withdrawal_strategy": {"type": "fixed_real"},
            "solve": {"safe_withdrawal_rate": {"target_success": 0.9}},
        }
    )
    return SimulationRequest.model_validate(body)


def time_solve(rounds: int) -> dict:
    request = solve_request()
    market = monte_carlo.resolve_market_inputs(
        request.portfolio.assets, request.portfolio.correlation, "assumptions"
    )
    inputs = monte_carlo.engine_inputs(request, market, 10_000)
    parameters = request.parameters

    def answer() -> dict:
        computed = monte_carlo._compute(
            inputs, parameters.risk_free_rate, parameters.inflation_rate, 0.9
        )
        monte_carlo.finished_run(
            computed.result,
            computed.histogram,
            computed.seconds,
            request,
            market,
            "sim_000000000000",
        )
        return computed.result.metrics["safe_withdrawal"]

    answer()  # compile or load
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        solved = answer()
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {
        "paths": 10_000,
        "median_s": round(median, 4),
        "min_s": round(min(seconds), 4),
        "iterations": solved["iterations"],
        "rate": round(solved["rate"], 5),
        "success": solved["success"],
        "meets_target": median <= SOLVE_TARGET_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", help="also the plain cases at this commit, in turns")
    args = parser.parse_args()
    run(rounds=args.rounds, baseline=args.baseline)


def run(*, rounds: int, baseline: str | None) -> None:
    warm_up()
    strategies = time_strategies(rounds, 3)
    print(f"{'case B':<12}" + "".join(f"{n + ' ms':>18}" for n in strategies["median_s"]))
    cells = "".join(
        f"{1e3 * strategies['median_s'][n]:>10.1f} ({strategies['ratio_to_plain'][n]:.2f}x)"
        for n in strategies["median_s"]
    )
    print(f"{'':<12}{cells}")
    solve = time_solve(rounds)
    print(
        f"solve (spec portfolio, 10,000 paths): {1e3 * solve['median_s']:.0f} ms median, "
        f"{solve['iterations']} runs, rate {solve['rate']:.4f}"
    )
    report: dict = {"strategies": strategies, "solve": solve}
    if baseline:
        from benchmarks.return_models import against_baseline

        report["baseline"] = [
            against_baseline(baseline, name, rounds, CASES[name].engine_repeats // 5 or 1)
            for name in sorted(CASES)
        ]
        for row in report["baseline"]:
            print(
                f"case {row['case']}: {1e3 * row['baseline_normal_s']:.1f} ms at {baseline}, "
                f"{1e3 * row['current_normal_s']:.1f} ms here ({row['ratio']:.3f}x)"
            )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
