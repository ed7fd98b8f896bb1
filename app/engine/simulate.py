"""Run a simulation: validate inputs, factor the correlation, seed Philox, call the kernel.

Model (monthly steps, dt = 1/12): asset i's gross monthly return is
exp((mu_i - sigma_i**2 / 2) dt + sigma_i sqrt(dt) Z_i) with Z ~ N(0, C); the contribution c is
added at the start of each month, before that month's return. Per path it returns the final
value, the time-weighted index's drawdown, CAGR and monthly-return moments (Sharpe and Sortino
inputs: the downside is measured below the monthly risk-free rate, risk_free_rate / 12).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import numba
import numpy as np

from app.engine.bands import percentile_rows
from app.engine.cash_flows import CashFlow, check_cash_flows, flow_schedule, scheduled_contributions
from app.engine.kernel import NEVER, simulate_paths
from app.engine.philox import seed_key
from app.engine.returns_bootstrap import BootstrapReturns
from app.engine.returns_normal import NormalReturns
from app.engine.returns_t import StudentTReturns
from app.engine.withdrawal import NoWithdrawals
from app.engine.withdrawal_fixed_real import FixedRealWithdrawals
from app.engine.withdrawal_guardrails import GuardrailsWithdrawals
from app.engine.withdrawal_percentage import PercentageWithdrawals

ReturnModel = NormalReturns | StudentTReturns | BootstrapReturns
WithdrawalStrategy = (
    NoWithdrawals | FixedRealWithdrawals | PercentageWithdrawals | GuardrailsWithdrawals
)
MAX_ANNUAL_FEE = 0.2

REBALANCING_INTERVALS: dict[str, int] = {
    "monthly": 1,
    "quarterly": 3,
    "annually": 12,
    "none": NEVER,
}
BAND_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
BAND_PATH_LIMIT = 10_000
BAND_VALUE_BUDGET = 4_000_000  # band paths x (months + 1) float64 values kept: 32 MB at most
MAX_ASSETS = 50
MAX_YEARS = 100
MAX_PATHS = 10_000_000  # simulated in one call (a shard of a larger run)
MAX_RUN_PATHS = 10_000_000_000
SEED_BOUND = 2**53  # drawn seeds stay exact in JSON numbers
_PSD_TOLERANCE = 1e-10


class InvalidCorrelationError(ValueError):
    """The correlation matrix is malformed or not positive semi-definite."""


@dataclass(frozen=True)
class SimulationInputs:
    """One portfolio and horizon to simulate; see the module docstring for the model."""

    weights: np.ndarray
    annual_returns: np.ndarray
    annual_volatilities: np.ndarray
    correlation: np.ndarray
    initial_investment: float
    monthly_contribution: float
    years: int
    num_paths: int
    seed: int | None = None
    rebalancing: str = "monthly"
    sample_paths: int = 100
    risk_free_rate: float = 0.0  # annual; the Sortino downside is measured below it / 12
    return_model: ReturnModel = field(default_factory=NormalReturns)
    cash_flows: tuple[CashFlow, ...] = ()
    annual_fee: float = 0.0  # the value is multiplied by (1 - fee) ** (1 / 12) at each month's end
    withdrawal_strategy: WithdrawalStrategy = field(default_factory=NoWithdrawals)
    inflation_rate: float = 0.0  # annual; indexes flows and strategies, deflates withdrawals

    @property
    def takes_withdrawals(self) -> bool:
        """Whether money leaves the portfolio: a withdrawal flow or a strategy."""
        return (
            self.monthly_contribution < 0.0
            or any(flow.amount < 0.0 for flow in self.cash_flows)
            or not isinstance(self.withdrawal_strategy, NoWithdrawals)
        )

    def scheduled_contributions(self) -> np.ndarray:
        """What the cash flows add in each month (monthly_contribution aside)."""
        return scheduled_contributions(self.cash_flows, 12 * self.years, self.inflation_rate)

    def total_invested(self) -> float:
        """initial + 12 x years x monthly_contribution + every cash-flow contribution."""
        legacy = self.initial_investment + 12 * self.years * self.monthly_contribution
        return float(legacy + self.scheduled_contributions().sum())


@dataclass(frozen=True)
class SimulationOutput:
    """Per-path results (arrays of length num_paths) and the chart data."""

    seed: int
    final_values: np.ndarray
    max_drawdowns: np.ndarray
    annualized_returns: np.ndarray
    annualized_volatilities: np.ndarray
    mean_monthly_returns: np.ndarray
    annualized_downside_deviations: np.ndarray  # sqrt(12 x mean of min(r - r_f / 12, 0)^2)
    depleted: np.ndarray
    sample_paths: np.ndarray
    percentile_bands: np.ndarray
    band_paths_used: int
    total_invested: float
    initial_investment: float
    monthly_contribution: float
    months: int
    return_months: np.ndarray  # months each path had money invested (its returns' count)
    risk_free_rate: float
    depletion_months: np.ndarray  # month each path ran out (1-based; 0: never): depleted's detail
    first_path: int = 0  # the output covers paths first_path .. first_path + len - 1
    band_values: np.ndarray | None = None  # (months + 1, band paths among them): bands' input
    withdrawn: np.ndarray | None = None  # money withdrawn per path, nominal
    withdrawn_real: np.ndarray | None = None  # the same, each amount in today's money
    annual_withdrawals: np.ndarray | None = None  # (years, spending paths among them)
    takes_withdrawals: bool = False
    scheduled_contributions: np.ndarray | None = None  # (months,) what cash flows add
    inflation_rate: float = 0.0


def correlation_factor(correlation: np.ndarray) -> np.ndarray:
    """Lower-triangular L with L @ L.T == correlation, also for singular PSD matrices.

    A pivot that vanishes (a perfectly dependent asset) gets a zero column instead of failing as
    np.linalg.cholesky would.
    """
    c = np.asarray(correlation, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise InvalidCorrelationError(f"correlation must be a square matrix, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise InvalidCorrelationError("correlation contains non-finite values")
    if not np.allclose(c, c.T, rtol=0.0, atol=1e-12):
        raise InvalidCorrelationError("correlation matrix must be symmetric")
    if not np.allclose(np.diag(c), 1.0, rtol=0.0, atol=1e-12):
        raise InvalidCorrelationError("correlation matrix must have ones on the diagonal")
    if np.any(np.abs(c) > 1.0 + 1e-12):
        raise InvalidCorrelationError("correlations must lie in [-1, 1]")
    smallest = float(np.linalg.eigvalsh(c)[0])
    if smallest < -1e-8:
        raise InvalidCorrelationError(
            f"correlation matrix is not positive semi-definite (smallest eigenvalue {smallest:.3g})"
        )
    n = c.shape[0]
    factor = np.zeros_like(c)
    for j in range(n):
        pivot = c[j, j] - factor[j, :j] @ factor[j, :j]
        if pivot <= _PSD_TOLERANCE:
            continue
        factor[j, j] = np.sqrt(pivot)
        factor[j + 1 :, j] = (c[j + 1 :, j] - factor[j + 1 :, :j] @ factor[j, :j]) / factor[j, j]
    if not np.allclose(factor @ factor.T, c, rtol=0.0, atol=1e-6):
        raise InvalidCorrelationError("correlation matrix is not positive semi-definite")
    return factor


def _vector(name: str, values: np.ndarray, n: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def validate(inputs: SimulationInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked float64 copies of (weights, returns, volatilities, correlation factor)."""
    weights = np.asarray(inputs.weights, dtype=np.float64)
    if weights.ndim != 1 or not 1 <= weights.shape[0] <= MAX_ASSETS:
        raise ValueError(f"weights must be a vector of 1 to {MAX_ASSETS} assets")
    n = weights.shape[0]
    weights = _vector("weights", weights, n)
    if np.any(weights <= 0.0) or abs(weights.sum() - 1.0) > 1e-6:
        raise ValueError("weights must be positive and sum to 1")
    returns = _vector("annual_returns", inputs.annual_returns, n)
    vols = _vector("annual_volatilities", inputs.annual_volatilities, n)
    if np.any(vols < 0.0):
        raise ValueError("annual_volatilities must be non-negative")
    if np.any(np.abs(returns) > 10.0) or np.any(vols > 10.0):
        raise ValueError("annual returns and volatilities must be given as fractions (|x| <= 10)")
    if np.asarray(inputs.correlation).shape != (n, n):
        raise InvalidCorrelationError(f"correlation must have shape ({n}, {n})")
    factor = correlation_factor(inputs.correlation)
    for name in ("initial_investment", "monthly_contribution", "risk_free_rate", "inflation_rate"):
        if not np.isfinite(getattr(inputs, name)):
            raise ValueError(f"{name} must be finite")
    if inputs.initial_investment < 0.0:
        raise ValueError("initial_investment must be non-negative")
    if not isinstance(inputs.years, (int, np.integer)) or not 1 <= inputs.years <= MAX_YEARS:
        raise ValueError(f"years must be an integer from 1 to {MAX_YEARS}")
    months = 12 * int(inputs.years)
    check_cash_flows(inputs.cash_flows, months)
    if (
        inputs.initial_investment <= 0.0
        and inputs.monthly_contribution <= 0.0
        and not any(flow.amount > 0.0 for flow in inputs.cash_flows)
    ):
        raise ValueError("nothing is invested: give an initial investment or a contribution")
    if not 0.0 <= inputs.annual_fee <= MAX_ANNUAL_FEE:
        raise ValueError(f"annual_fee must be from 0 to {MAX_ANNUAL_FEE}")
    if inputs.inflation_rate <= -1.0:
        raise ValueError("inflation_rate must be greater than -1")
    inputs.withdrawal_strategy.check(months)
    if not 1 <= inputs.num_paths <= MAX_RUN_PATHS:
        raise ValueError(f"num_paths must be from 1 to {MAX_RUN_PATHS}")
    if not 0 <= inputs.sample_paths <= inputs.num_paths:
        raise ValueError("sample_paths must be between 0 and num_paths")
    if inputs.rebalancing not in REBALANCING_INTERVALS:
        raise ValueError(f"rebalancing must be one of {sorted(REBALANCING_INTERVALS)}")
    seed = inputs.seed
    if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError("seed must be a non-negative integer")
    inputs.return_model.check(n)
    return weights, returns, vols, factor


def band_path_count(num_paths: int, months: int) -> int:
    """Paths the percentile bands use: all, or the first ones (an iid, seed-determined subset)."""
    return max(1, min(num_paths, BAND_PATH_LIMIT, BAND_VALUE_BUDGET // (months + 1)))


def run_simulation(
    inputs: SimulationInputs,
    *,
    block_size: int = 512,
    first_path: int = 0,
    path_count: int | None = None,
    charts: bool = True,
) -> SimulationOutput:
    """Simulate the portfolio; results depend only on the inputs and seed, never on threading.

    With first_path / path_count, only that range of the run's paths (a shard): each path is a
    pure function of (seed, path index), so shards give exactly the whole run's paths. Sample
    and band paths are the run's first ones, kept by the shards that hold them; the percentile
    bands are computed only when the output covers every path. Without charts, no sample or
    band path is kept (a trial run of a solve).
    """
    weights, returns, vols, factor = validate(inputs)
    if block_size < 1:
        raise ValueError("block_size must be positive")
    num_paths = int(inputs.num_paths)
    path_count = num_paths - first_path if path_count is None else path_count
    if first_path < 0 or path_count < 1 or first_path + path_count > num_paths:
        raise ValueError("the path range must lie within num_paths")
    if path_count > MAX_PATHS:
        raise ValueError(f"at most {MAX_PATHS} paths are simulated at once: split the run")
    seed = int(inputs.seed) if inputs.seed is not None else secrets.randbelow(SEED_BOUND)
    k0, k1 = seed_key(seed)
    months = 12 * int(inputs.years)
    model = inputs.return_model
    # Centring the per-path sums on the typical monthly return keeps sum-of-squares exact.
    return_shift = model.return_shift(weights, returns)
    band_paths = band_path_count(num_paths, months)

    def kept(count: int) -> int:  # how many of the run's first `count` paths this range holds
        return max(0, min(count, first_path + path_count) - first_path) if charts else 0

    sample_values = np.empty((kept(int(inputs.sample_paths)), months + 1))
    band_values = np.empty((months + 1, kept(band_paths)))
    final_values = np.empty(path_count)
    index_final = np.empty(path_count)
    max_drawdowns = np.empty(path_count)
    sum_dev = np.empty(path_count)
    sum_dev_sq = np.empty(path_count)
    sum_shortfall_sq = np.empty(path_count)
    return_months = np.empty(path_count)
    depletion_months = np.empty(path_count, dtype=np.int64)
    withdrawn = np.empty(path_count)
    withdrawn_real = np.empty(path_count)
    strategy = inputs.withdrawal_strategy
    # Spending per year is reported for strategies whose withdrawals vary by path.
    spending_paths = kept(band_paths) if strategy.varies_by_path else 0
    annual_withdrawals = np.zeros((int(inputs.years), spending_paths))
    inflation = float(inputs.inflation_rate)
    simulate_paths(
        first_path,
        k0,
        k1,
        model.kernel_parameters(returns, vols, factor),
        weights,
        float(inputs.initial_investment),
        flow_schedule(inputs.cash_flows, inputs.monthly_contribution, months, inflation),
        inputs.scheduled_contributions() + max(float(inputs.monthly_contribution), 0.0),
        strategy.kernel_parameters(months, inflation),
        (1.0 - float(inputs.annual_fee)) ** (1.0 / 12.0),
        (1.0 + inflation) ** (-np.arange(months) / 12.0),
        inputs.takes_withdrawals,
        months,
        REBALANCING_INTERVALS[inputs.rebalancing],
        return_shift,
        float(inputs.risk_free_rate) / 12.0,
        int(block_size),
        sample_values,
        band_values,
        final_values,
        index_final,
        max_drawdowns,
        sum_dev,
        sum_dev_sq,
        sum_shortfall_sq,
        return_months,
        depletion_months,
        withdrawn,
        withdrawn_real,
        annual_withdrawals,
        numba.get_num_threads(),
    )
    quantiles = np.array(BAND_PERCENTILES) / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        annualized_returns = np.where(
            return_months > 0, index_final ** (12.0 / return_months) - 1.0, np.nan
        )
        variance = (sum_dev_sq - sum_dev**2 / return_months) / (return_months - 1.0)
        annualized_vols = np.where(
            return_months > 1, np.sqrt(12.0 * np.maximum(variance, 0.0)), np.nan
        )
        mean_monthly_returns = np.where(
            return_months > 0, return_shift + sum_dev / return_months, np.nan
        )
        downside_deviations = np.where(
            return_months > 0, np.sqrt(12.0 * sum_shortfall_sq / return_months), np.nan
        )
    return SimulationOutput(
        seed=seed,
        final_values=final_values,
        max_drawdowns=max_drawdowns,
        annualized_returns=annualized_returns,
        annualized_volatilities=annualized_vols,
        mean_monthly_returns=mean_monthly_returns,
        annualized_downside_deviations=downside_deviations,
        depleted=depletion_months > 0,
        sample_paths=sample_values,
        percentile_bands=(
            percentile_rows(band_values, quantiles)
            if path_count == num_paths and charts
            else np.empty((0, quantiles.shape[0]))
        ),
        band_paths_used=band_paths,
        total_invested=inputs.total_invested(),
        initial_investment=float(inputs.initial_investment),
        monthly_contribution=float(inputs.monthly_contribution),
        months=months,
        return_months=return_months,
        risk_free_rate=float(inputs.risk_free_rate),
        first_path=first_path,
        band_values=band_values,
        depletion_months=depletion_months,
        withdrawn=withdrawn,
        withdrawn_real=withdrawn_real,
        annual_withdrawals=annual_withdrawals,
        takes_withdrawals=inputs.takes_withdrawals,
        scheduled_contributions=inputs.scheduled_contributions(),
        inflation_rate=inflation,
    )
