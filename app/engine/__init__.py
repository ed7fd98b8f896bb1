"""Monte Carlo engine: pure functions on NumPy arrays (no I/O, no web, no database).

The web service calls the engine from several threads at once, so Numba must use a thread-safe
threading layer (OpenMP or TBB, never the default-fallback workqueue); it is chosen here, before
anything is compiled, unless NUMBA_THREADING_LAYER says otherwise.

Numba's disk cache only notices edits to the file that defines a compiled function, while the
kernels inline helpers from other files of this package: the cache lives in a folder named after
a hash of all the engine's sources, so any edit here compiles afresh instead of loading stale code.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "threadsafe"
# OpenMP threads wait for work asleep, not spinning (read when libgomp loads, at the first
# parallel run): with several workers and requests sharing the cores, a spinning thread burns
# CPU another run needs, a third of the engine's CPU time at 16 concurrent requests on 2 cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _cache_dir() -> str:
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for source in sorted(package.glob("*.py")):
        digest.update(source.read_bytes())
    base = os.environ.get("NUMBA_CACHE_DIR") or package / "__pycache__"
    return str(Path(base) / f"engine-{digest.hexdigest()[:16]}")


numba.config.CACHE_DIR = _cache_dir()

# Imported only now: the kernels read the cache folder when they are decorated.
from app.engine.metrics import compute_metrics  # noqa: E402
from app.engine.returns_bootstrap import BootstrapReturns  # noqa: E402
from app.engine.returns_normal import NormalReturns  # noqa: E402
from app.engine.returns_t import StudentTReturns  # noqa: E402
from app.engine.simulate import (  # noqa: E402
    REBALANCING_INTERVALS,
    InvalidCorrelationError,
    ReturnModel,
    SimulationInputs,
    SimulationOutput,
    run_simulation,
)
from app.engine.withdrawal_fixed_real import FixedRealWithdrawals  # noqa: E402
from app.engine.withdrawal_guardrails import GuardrailsWithdrawals  # noqa: E402
from app.engine.withdrawal_percentage import PercentageWithdrawals  # noqa: E402

__all__ = [
    "REBALANCING_INTERVALS",
    "BootstrapReturns",
    "InvalidCorrelationError",
    "NormalReturns",
    "ReturnModel",
    "SimulationInputs",
    "SimulationOutput",
    "StudentTReturns",
    "compute_metrics",
    "run_simulation",
    "warm_up",
]


def warm_up() -> str:
    """Load (or compile) every kernel with a tiny run; return the Numba threading layer in use.

    Raises RuntimeError when the layer is not thread safe (workqueue), since concurrent requests
    would then crash the process.
    """
    from dataclasses import replace

    import numpy as np

    inputs = SimulationInputs(
        weights=np.array([0.6, 0.4]),
        annual_returns=np.array([0.07, 0.03]),
        annual_volatilities=np.array([0.15, 0.05]),
        correlation=np.array([[1.0, 0.2], [0.2, 1.0]]),
        initial_investment=1000.0,
        monthly_contribution=10.0,
        years=1,
        num_paths=64,
        seed=0,
        sample_paths=2,
    )
    for rebalancing in ("monthly", "none"):
        output = run_simulation(replace(inputs, rebalancing=rebalancing), block_size=16)
    # Each return model compiles its own kernel.
    history = np.full((24, 2), 0.005)
    for model in (StudentTReturns(), BootstrapReturns(history)):
        run_simulation(replace(inputs, return_model=model), block_size=16)
    # So does each withdrawal strategy (with the default return model; others compile on use).
    for strategy in (
        FixedRealWithdrawals(40.0),
        PercentageWithdrawals(0.04),
        GuardrailsWithdrawals(0.04),
    ):
        run_simulation(replace(inputs, withdrawal_strategy=strategy), block_size=16)
    compute_metrics(output, risk_free_rate=0.0, inflation_rate=0.02, years=1)
    layer = numba.threading_layer()
    if layer == "workqueue":
        raise RuntimeError(
            "Numba is using the 'workqueue' threading layer, which is not thread safe; install "
            "OpenMP (libgomp) or TBB, or set NUMBA_THREADING_LAYER=omp"
        )
    return layer
