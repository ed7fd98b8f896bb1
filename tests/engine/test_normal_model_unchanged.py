"""The normal model gives today's numbers bit for bit, whatever the other return models add.

Every per-path output array is covered (the metrics are functions of them).

data/normal_model_fingerprints.json was recorded by `record()` below with the engine of commit
218646e (before return models existed): check that commit out in a worktree and run this module's
`record()` there to record it again. It holds, for fixed seeds:
- SHA-256 digests of every output array, per CPU model: the kernel lets LLVM contract a*b+c into
  fused multiply-adds, so CPUs that differ in vector width or FMA support may differ in the last
  bits (every machine of one cluster computes the same bits; tests/jobs check shards against that);
- evenly spaced samples of every array, which any CPU must reproduce to 1e-9 relative: a change of
  model would move them by far more.
"""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from llvmlite import binding as llvm

from app.engine import SimulationInputs, run_simulation

RECORDED = json.loads((Path(__file__).parent / "data/normal_model_fingerprints.json").read_text())
FIELDS = (
    "final_values",
    "max_drawdowns",
    "annualized_returns",
    "annualized_volatilities",
    "mean_monthly_returns",
    "annualized_downside_deviations",
    "return_months",
    "sample_paths",
    "percentile_bands",
)


def cases() -> Iterator[tuple[str, SimulationInputs]]:
    three = {
        "weights": np.array([0.5, 0.3, 0.2]),
        "annual_returns": np.array([0.08, 0.035, 0.12]),
        "annual_volatilities": np.array([0.16, 0.06, 0.35]),
        "correlation": np.array([[1.0, 0.2, 0.5], [0.2, 1.0, -0.1], [0.5, -0.1, 1.0]]),
    }
    yield (
        "three_monthly",
        SimulationInputs(
            **three,
            initial_investment=100_000.0,
            monthly_contribution=1_000.0,
            years=10,
            num_paths=1_000,
            seed=11,
            sample_paths=5,
            risk_free_rate=0.03,
        ),
    )
    yield (
        "three_quarterly_withdrawals",
        SimulationInputs(
            **three,
            initial_investment=100_000.0,
            monthly_contribution=-700.0,
            years=25,
            num_paths=700,
            seed=2**40 + 3,
            rebalancing="quarterly",
            sample_paths=3,
        ),
    )
    yield (
        "one_none",
        SimulationInputs(
            weights=np.array([1.0]),
            annual_returns=np.array([0.07]),
            annual_volatilities=np.array([0.2]),
            correlation=np.eye(1),
            initial_investment=10_000.0,
            monthly_contribution=500.0,
            years=30,
            num_paths=513,
            seed=1,
            rebalancing="none",
            sample_paths=2,
        ),
    )
    singular = np.full((5, 5), 0.4)
    np.fill_diagonal(singular, 1.0)
    singular[3, :] = singular[1, :]  # asset 3 duplicates asset 1
    singular[:, 3] = singular[:, 1]
    yield (
        "five_singular_annually",
        SimulationInputs(
            weights=np.full(5, 0.2),
            annual_returns=np.linspace(0.02, 0.1, 5),
            annual_volatilities=np.linspace(0.05, 0.3, 5),
            correlation=singular,
            initial_investment=1e6,
            monthly_contribution=5e4,
            years=7,
            num_paths=900,
            seed=2026,
            rebalancing="annually",
            sample_paths=4,
            risk_free_rate=0.01,
        ),
    )


def fingerprint(inputs: SimulationInputs, block_size: int = 512) -> str:
    output = run_simulation(inputs, block_size=block_size)
    digest = hashlib.sha256()
    for field in FIELDS:
        digest.update(np.ascontiguousarray(getattr(output, field), dtype=np.float64).tobytes())
    return digest.hexdigest()


SAMPLES_PER_FIELD = 16


def samples(inputs: SimulationInputs) -> dict[str, list[float]]:
    output = run_simulation(inputs)
    taken = {}
    for field in FIELDS:
        values = np.asarray(getattr(output, field), dtype=np.float64).ravel()
        indices = np.linspace(0, values.size - 1, SAMPLES_PER_FIELD).round().astype(int)
        taken[field] = [*values[indices].tolist(), float(values.sum())]
    return taken


def record() -> dict:
    return {
        "engine_commit": "218646e",
        "fingerprints_by_cpu": {
            llvm.get_host_cpu_name(): {name: fingerprint(inputs) for name, inputs in cases()}
        },
        "samples": {name: samples(inputs) for name, inputs in cases()},
    }


CASES = list(cases())
CASE_IDS = [name for name, _ in CASES]


@pytest.mark.parametrize(("name", "inputs"), CASES, ids=CASE_IDS)
def test_normal_model_outputs_match_before_return_models_on_any_cpu(name, inputs):
    recorded = RECORDED["samples"][name]
    for field, values in samples(inputs).items():
        np.testing.assert_allclose(values, recorded[field], rtol=1e-9, atol=1e-12, err_msg=field)


CPU = llvm.get_host_cpu_name()


@pytest.mark.skipif(
    CPU not in RECORDED.get("fingerprints_by_cpu", {}),
    reason=f"no fingerprints recorded on a {CPU} CPU (run record() at commit 218646e)",
)
@pytest.mark.parametrize(("name", "inputs"), CASES, ids=CASE_IDS)
def test_normal_model_outputs_are_bit_identical_to_before_return_models(name, inputs):
    expected = RECORDED["fingerprints_by_cpu"][CPU][name]
    assert fingerprint(inputs) == expected
    assert fingerprint(inputs, block_size=97) == expected
