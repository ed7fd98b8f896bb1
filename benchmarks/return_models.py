"""Return models' speed: normal, Student-t and bootstrap in one process, and the normal model
against an older commit, alternating in the same run.

    python -m benchmarks.engine --models [--case B] [--baseline REF] [--rounds 7]

Per case: the median seconds of `run_simulation` for each model, all interleaved round by round
(so a burst of load on this shared machine hits them alike), and each model's ratio to `normal`.
Targets on case B: bootstrap <= 1.0x normal, student_t (nu = 5) <= 1.5x. With `--baseline`, the
normal model of that commit (exported with `git archive`) and of this checkout are timed in
fresh processes taking turns, baseline first; target: within +-5%.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.engine import BootstrapReturns, SimulationInputs, StudentTReturns, run_simulation
from benchmarks.capacity import export_commit
from benchmarks.cases import CASES, case_inputs

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HISTORY_MONTHS = 240
RATIO_TARGETS = {"bootstrap": 1.0, "student_t": 1.5}
BASELINE_TOLERANCE = 0.05
# Runs in either checkout: uses only what the engine and this benchmark have had from the start.
_TIMING_SCRIPT = """
import json, statistics, sys, time
from app.engine import run_simulation, warm_up
from benchmarks.engine import CASES, case_inputs
warm_up()
inputs = case_inputs(CASES[sys.argv[1]])
run_simulation(inputs)
seconds = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    run_simulation(inputs)
    seconds.append(time.perf_counter() - start)
print(json.dumps(statistics.median(seconds)))
"""


def model_variants(inputs: SimulationInputs) -> dict[str, SimulationInputs]:
    """The case under each model; the bootstrap replays a history with the case's mu and sigma."""
    rng = np.random.default_rng(11)
    monthly = rng.standard_normal((HISTORY_MONTHS, inputs.weights.size))
    history = np.exp(
        (inputs.annual_returns - 0.5 * inputs.annual_volatilities**2) / 12.0
        + inputs.annual_volatilities / np.sqrt(12.0) * monthly
    )
    history = history - 1.0
    return {
        "normal": inputs,
        "student_t": replace(inputs, return_model=StudentTReturns(5)),
        "bootstrap": replace(inputs, return_model=BootstrapReturns(history, 1)),
        "bootstrap_12": replace(inputs, return_model=BootstrapReturns(history, 12)),
    }


def time_models(name: str, inputs: SimulationInputs, rounds: int, repeats: int) -> dict:
    variants = model_variants(inputs)
    for variant in variants.values():
        run_simulation(variant)  # compile or load
    seconds: dict[str, list[float]] = {model: [] for model in variants}
    for _ in range(rounds):
        for model, variant in variants.items():
            for _ in range(repeats):
                start = time.perf_counter()
                run_simulation(variant)
                seconds[model].append(time.perf_counter() - start)
    medians = {model: statistics.median(s) for model, s in seconds.items()}
    ratios = {model: medians[model] / medians["normal"] for model in variants}
    result = {
        "case": name,
        "paths": inputs.num_paths,
        "median_s": {model: round(s, 5) for model, s in medians.items()},
        "ratio_to_normal": {model: round(r, 3) for model, r in ratios.items()},
    }
    if name == "B":
        result["meets_targets"] = all(
            ratios[model] <= target for model, target in RATIO_TARGETS.items()
        )
    return result


def _timed_in(folder: Path, case: str, repeats: int) -> float:
    output = subprocess.run(
        [sys.executable, "-c", _TIMING_SCRIPT, case, str(repeats)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(output.strip().splitlines()[-1])


def against_baseline(ref: str, case: str, rounds: int, repeats: int) -> dict:
    """The normal model here and at `ref`, fresh processes taking turns, baseline first."""
    baseline = export_commit(ref)
    _timed_in(baseline, case, 1)  # compiles the baseline's engine once, into its own cache
    baseline_s, current_s = [], []
    for _ in range(rounds):
        baseline_s.append(_timed_in(baseline, case, repeats))
        current_s.append(_timed_in(PROJECT_ROOT, case, repeats))
    ratio = statistics.median(current_s) / statistics.median(baseline_s)
    return {
        "case": case,
        "baseline": ref,
        "baseline_normal_s": round(statistics.median(baseline_s), 5),
        "current_normal_s": round(statistics.median(current_s), 5),
        "ratio": round(ratio, 3),
        "within_tolerance": abs(ratio - 1.0) <= BASELINE_TOLERANCE,
    }


def print_models_table(results: list[dict]) -> None:
    models = list(results[0]["median_s"])
    print(f"{'case':<5}{'paths':>10}" + "".join(f"{m + ' ms':>17}" for m in models))
    for r in results:
        cells = "".join(
            f"{1e3 * r['median_s'][m]:>9.1f} ({r['ratio_to_normal'][m]:.2f}x)" for m in models
        )
        print(f"{r['case']:<5}{r['paths']:>10,}{cells}")


def main(names: list[str], *, baseline: str | None, rounds: int) -> None:
    results = [
        time_models(name, case_inputs(CASES[name]), rounds, CASES[name].engine_repeats // 5 or 1)
        for name in names
    ]
    print_models_table(results)
    report: dict = {"models": results}
    if baseline:
        report["normal_against_baseline"] = [
            against_baseline(baseline, name, rounds, CASES[name].engine_repeats) for name in names
        ]
        for r in report["normal_against_baseline"]:
            print(
                f"normal, case {r['case']}: {1e3 * r['baseline_normal_s']:.1f} ms at {baseline}, "
                f"{1e3 * r['current_normal_s']:.1f} ms here ({r['ratio']:.3f}x)"
            )
    print(json.dumps(report))
