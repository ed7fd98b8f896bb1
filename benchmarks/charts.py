"""Chart rendering time: fan and histogram, SVG and PNG, of the spec example's run.

    python -m benchmarks.charts             # a table, then one JSON line
    python -m benchmarks.charts --repeats 41

Per chart: median and 95th percentile milliseconds of drawing and encoding one 800 x 480 image in
one thread (what one request's worker thread does), after a warm-up render; the target is
150 ms. Wall-clock times, and that thread's CPU times: on a quiet machine the two agree, while
other processes on the cores stretch the first far more than the second. Data: a 10,000-path
run of the spec example with an inflation rate, built through the same functions the service
uses to turn a saved run into chart data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from app.charts import draw_fan, draw_histogram
from app.engine import SimulationInputs, compute_metrics, run_simulation
from app.engine.histogram import final_value_histogram
from app.services.charts import SAMPLE_PATHS_SHOWN, fan_data, histogram_data

TARGET_MS = 150.0
WIDTH, HEIGHT = 800, 480


def spec_example_run() -> tuple[dict, dict, dict, list, dict]:
    parameters = {
        "initial_investment": 1_000_000.0,
        "monthly_contribution": 50_000.0,
        "time_horizon_years": 10,
        "inflation_rate": 0.05,
    }
    inputs = SimulationInputs(
        weights=np.array([0.6, 0.4]),
        annual_returns=np.array([0.12, 0.07]),
        annual_volatilities=np.array([0.18, 0.06]),
        correlation=np.array([[1.0, 0.1], [0.1, 1.0]]),
        initial_investment=parameters["initial_investment"],
        monthly_contribution=parameters["monthly_contribution"],
        years=10,
        num_paths=10_000,
        seed=42,
        risk_free_rate=0.02,
    )
    output = run_simulation(inputs)
    summary = compute_metrics(output, risk_free_rate=0.02, inflation_rate=0.05, years=10)
    saved_inputs = {
        "parameters": parameters,
        "assets": [
            {"ticker": "NSEI Index", "weight": 0.6},
            {"ticker": "GIND10YR Index", "weight": 0.4},
        ],
    }
    bands = {
        f"p{p}": output.percentile_bands[:, i].tolist() for i, p in enumerate((5, 25, 50, 75, 95))
    }
    paths = output.sample_paths[:SAMPLE_PATHS_SHOWN].tolist()
    return saved_inputs, summary, bands, paths, final_value_histogram(output.final_values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    inputs, summary, bands, paths, histogram = spec_example_run()
    charts = {
        "fan": (draw_fan, fan_data(inputs, bands, paths, real=False)),
        "fan_real": (draw_fan, fan_data(inputs, bands, paths, real=True)),
        "histogram": (draw_histogram, histogram_data(inputs, summary, histogram, real=False)),
    }
    results = {}
    print(f"{'chart':<16} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8} {'bytes':>8}")
    for name, (draw, data) in charts.items():
        for chart_format in ("svg", "png"):
            draw(data, width=WIDTH, height=HEIGHT, chart_format=chart_format)  # warm-up
            times, cpu_times, size = [], [], 0
            for _ in range(args.repeats):
                started, cpu_started = time.perf_counter(), time.thread_time()
                size = len(draw(data, width=WIDTH, height=HEIGHT, chart_format=chart_format))
                cpu_times.append(1000 * (time.thread_time() - cpu_started))
                times.append(1000 * (time.perf_counter() - started))
            key = f"{name}_{chart_format}"
            row = {
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(float(np.percentile(times, 95)), 1),
                "cpu_p50_ms": round(statistics.median(cpu_times), 1),
                "cpu_p95_ms": round(float(np.percentile(cpu_times, 95)), 1),
                "bytes": size,
            }
            results[key] = row
            print(
                f"{key:<16} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['cpu_p50_ms']:>8.1f}"
                f" {row['cpu_p95_ms']:>8.1f} {size:>8}"
            )
    worst = max(r["p50_ms"] for r in results.values())
    worst_cpu = max(r["cpu_p50_ms"] for r in results.values())
    print(
        json.dumps(
            {
                "charts": results,
                "target_ms": TARGET_MS,
                "within_target": worst < TARGET_MS,
                "cpu_within_target": worst_cpu < TARGET_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
