"""Engine speed against a plain NumPy implementation and NumPy's own normal-drawing floor.

    python -m benchmarks.engine             # cases A-D: a table, then one JSON line
    python -m benchmarks.engine --case B    # one JSON line for case B
    python -m benchmarks.engine --models [--case B] [--baseline REF]   # the return models
    python -m benchmarks.engine --plans [--baseline REF]   # withdrawal strategies, the solve

Per case: median seconds of `run_simulation` after warm-up (compile excluded); the same case
done the vectorized-NumPy way most people write it (`numpy_reference`); the time only to draw
the case's normals with NumPy's Generator on all cores (`rng_floor`); and peak resident memory of
a fresh process that runs only the engine on the case.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.engine import SimulationInputs, run_simulation, warm_up
from benchmarks.cases import CASES, case_inputs

RSS_TARGET_MB = {"D": 400.0}
B_SPEEDUP_TARGET = 10.0
B_FLOOR_RATIO_TARGET = 0.5


def numpy_reference(inputs: SimulationInputs, seed: int) -> dict[str, np.ndarray]:
    """The same model written the usual vectorized-NumPy way: one (paths, assets) step a month."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / 12.0
    chol = np.linalg.cholesky(inputs.correlation)
    drift = (inputs.annual_returns - 0.5 * inputs.annual_volatilities**2) * dt
    scale = inputs.annual_volatilities * np.sqrt(dt)
    paths, months = inputs.num_paths, 12 * inputs.years
    kept = min(paths, 10_000)
    values = np.full(paths, inputs.initial_investment)
    index = np.ones(paths)
    peak = np.ones(paths)
    drawdown = np.zeros(paths)
    sum_r = np.zeros(paths)
    sum_r2 = np.zeros(paths)
    history = np.empty((months + 1, kept))
    history[0] = values[:kept]
    for t in range(months):
        z = rng.standard_normal((paths, inputs.weights.size)) @ chol.T
        growth = np.exp(drift + scale * z) @ inputs.weights
        start = np.maximum(values + inputs.monthly_contribution, 0.0)
        values = start * growth
        index *= np.where(start > 0, growth, 1.0)
        peak = np.maximum(peak, index)
        drawdown = np.maximum(drawdown, 1.0 - index / peak)
        r = growth - 1.0
        sum_r += r
        sum_r2 += r * r
        history[t + 1] = values[:kept]
    bands = np.percentile(history, [5, 25, 50, 75, 95], axis=1).T
    return {"final_values": values, "max_drawdowns": drawdown, "bands": bands}


def rng_floor(count: int, workers: int, seed: int) -> Callable[[], None]:
    """A callable drawing `count` float64 normals with one NumPy Generator per core."""
    generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(workers)]
    chunk = 1 << 16
    buffers = [np.empty(chunk) for _ in range(workers)]
    shares = [count // workers + (i < count % workers) for i in range(workers)]
    pool = ThreadPoolExecutor(max_workers=workers)

    def draw(i: int) -> None:
        remaining = shares[i]
        while remaining > 0:
            size = min(chunk, remaining)
            generators[i].standard_normal(out=buffers[i][:size])
            remaining -= size

    def run() -> None:
        list(pool.map(draw, range(workers)))

    return run


def timed(function: Callable[[], object], repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return seconds


def probe_memory(name: str) -> dict:
    """In this (fresh) process: first-call time (cache load), then peak RSS of engine runs."""
    inputs = case_inputs(CASES[name])
    start = time.perf_counter()
    layer = warm_up()
    load_s = time.perf_counter() - start
    for _ in range(3):
        run_simulation(inputs)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_rss_mb": round(peak_kb / 1024.0, 1), "load_s": round(load_s, 3), "layer": layer}


def measure(name: str) -> dict:
    case = CASES[name]
    inputs = case_inputs(case)
    probe = subprocess.run(
        [sys.executable, "-m", "benchmarks.engine", "--probe-memory", name],
        capture_output=True,
        text=True,
        check=True,
    )
    memory = json.loads(probe.stdout.strip().splitlines()[-1])
    warm_up()
    run_simulation(inputs)
    workers = os.cpu_count() or 1
    normals = case.paths * 12 * case.years * case.assets
    floor = rng_floor(normals, workers, seed=7)
    floor()
    # Interleaved rounds, so a burst of load on this shared machine hits all three alike.
    rounds = max(3, case.reference_repeats)
    engine, floor_s, reference = [], [], []
    for r in range(rounds):
        engine += timed(lambda: run_simulation(inputs), max(1, case.engine_repeats // rounds))
        floor_s += timed(floor, 1)
        if r < case.reference_repeats:
            reference += timed(lambda: numpy_reference(inputs, seed=7), 1)
    engine_s = statistics.median(engine)
    reference_s = statistics.median(reference)
    floor_median = statistics.median(floor_s)
    path_months = case.paths * 12 * case.years
    result = {
        "case": name,
        "assets": case.assets,
        "years": case.years,
        "paths": case.paths,
        "engine_s": round(engine_s, 5),
        "engine_min_s": round(min(engine), 5),
        "target_s": case.target_s,
        "numpy_reference_s": round(reference_s, 4),
        "rng_floor_s": round(floor_median, 4),
        "speedup_vs_numpy": round(reference_s / engine_s, 1),
        "engine_over_rng_floor": round(engine_s / floor_median, 3),
        "path_months_per_s": round(path_months / engine_s),
        "peak_rss_mb": memory["peak_rss_mb"],
        "fresh_process_load_s": memory["load_s"],
        "threading_layer": memory["layer"],
        "cores": workers,
    }
    ok = engine_s <= case.target_s and memory["peak_rss_mb"] < RSS_TARGET_MB.get(name, np.inf)
    if name == "B":
        ok = ok and reference_s / engine_s >= B_SPEEDUP_TARGET
        ok = ok and engine_s / floor_median <= B_FLOOR_RATIO_TARGET
    result["meets_targets"] = bool(ok)
    return result


def print_table(results: list[dict]) -> None:
    header = (
        f"{'case':<5}{'paths':>10}{'engine ms':>11}{'target ms':>11}{'numpy ms':>11}"
        f"{'speedup':>9}{'rng floor ms':>14}{'eng/floor':>11}{'peak MB':>9}{'Mpath-mo/s':>12}  ok"
    )
    print(header)
    for r in results:
        print(
            f"{r['case']:<5}{r['paths']:>10,}"
            f"{1e3 * r['engine_s']:>11.1f}{1e3 * r['target_s']:>11.0f}"
            f"{1e3 * r['numpy_reference_s']:>11.0f}{r['speedup_vs_numpy']:>9.1f}"
            f"{1e3 * r['rng_floor_s']:>14.1f}{r['engine_over_rng_floor']:>11.2f}"
            f"{r['peak_rss_mb']:>9.0f}{r['path_months_per_s'] / 1e6:>12.0f}  {r['meets_targets']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=sorted(CASES))
    parser.add_argument("--probe-memory", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument(
        "--models", action="store_true", help="time normal, student_t and bootstrap per case"
    )
    parser.add_argument(
        "--plans", action="store_true", help="case B with withdrawal strategies, and the solve"
    )
    parser.add_argument(
        "--baseline", help="with --models or --plans: also the plain cases at this commit"
    )
    parser.add_argument("--rounds", type=int, default=7, help="with --models: rounds of turns")
    args = parser.parse_args()
    if args.probe_memory:
        print(json.dumps(probe_memory(args.probe_memory)))
        return
    if args.plans:
        from benchmarks import plans

        plans.run(rounds=args.rounds, baseline=args.baseline)
        return
    if args.models:
        from benchmarks import return_models

        names = [args.case] if args.case else sorted(CASES)
        return_models.main(names, baseline=args.baseline, rounds=args.rounds)
        return
    if args.case:
        print(json.dumps(measure(args.case)))
        return
    results = [measure(name) for name in sorted(CASES)]
    print_table(results)
    met = all(r["meets_targets"] for r in results)
    print(json.dumps({"cases": results, "all_targets_met": met}))


if __name__ == "__main__":
    main()
