"""What a simulation answers: its results and the inputs it applied, typed field by field.

Money is in the currency of `initial_investment` (the engine is currency-agnostic); rates and
probabilities are fractions (0.05 = 5%) unless a name ends in `_pct`. A statistic that is undefined
for a run (e.g. Sharpe with no volatility) is `null`.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.cash_flows import CashFlowInput, SolveInput, WithdrawalStrategyInput
from app.schemas.metric_definitions import MetricDefinitions
from app.schemas.plan_results import Depletion, SafeWithdrawalResult, Withdrawals
from app.schemas.return_model import NormalModel, ReturnModelInput
from app.schemas.simulation import AssetClass, DataSource, Rebalancing

Money = float | None
InputSource = Literal["request", "assumptions", "bloomberg", "dataset"]
_MONEY = "in the currency of initial_investment"


def _money(what: str) -> Any:
    return Field(description=f"{what}, {_MONEY}.")


def _share(what: str) -> Any:
    return Field(description=f"{what}: a share of paths, a fraction in [0, 1].")


class FinalValueStats(BaseModel):
    """Distribution of the portfolio value at the horizon over all paths."""

    mean: Money = _money("Mean final value")
    median: Money = _money("Median final value")
    std_dev: Money = _money(
        "Sample standard deviation of final values (ddof = 1; null for one path)"
    )
    min: Money = _money("Smallest final value")
    max: Money = _money("Largest final value")
    percentile_5: Money = _money("5th percentile of final values")
    percentile_10: Money = _money("10th percentile of final values")
    percentile_25: Money = _money("25th percentile of final values")
    percentile_75: Money = _money("75th percentile of final values")
    percentile_90: Money = _money("90th percentile of final values")
    percentile_95: Money = _money("95th percentile of final values")


class ValueRisk(BaseModel):
    """Value at Risk and Conditional VaR of the final value."""

    var_95: Money = _money("VaR 95%: the final value 95% of paths end above (5th percentile)")
    var_99: Money = _money("VaR 99%: the 1st percentile of final values")
    cvar_95: Money = _money("Conditional VaR 95%: mean final value of the worst 5% of paths")
    var_95_loss: Money = _money("total_invested - var_95: the loss at that level (< 0: a gain)")
    var_99_loss: Money = _money("total_invested - var_99")
    var_95_relative: Money = _money("mean final value - var_95: the shortfall from the mean")
    var_99_relative: Money = _money("mean final value - var_99")


class RiskMetrics(ValueRisk):
    """Value risk, plus risk-adjusted return and drawdowns of the time-weighted index."""

    sharpe_ratio: float | None = Field(
        description="Per path (12 x mean monthly return - risk_free_rate) / (sqrt(12) x sample std "
        "of monthly returns), averaged over paths with at least 12 months invested; dimensionless; "
        "null if none."
    )
    sharpe_ratio_geometric: float | None = Field(
        description="(mean annualized time-weighted return - risk_free_rate) / mean annualized "
        "volatility, over the same paths; dimensionless."
    )
    sortino_ratio: float | None = Field(
        description="As sharpe_ratio, over sqrt(12) x the downside deviation (root mean square of "
        "the monthly shortfalls below risk_free_rate / 12); dimensionless."
    )
    max_drawdown_pct: float | None = Field(
        description="Median over paths of the largest peak-to-trough fall of the time-weighted "
        "index, in percent (0-100)."
    )
    max_drawdown_pct_95: float | None = Field(
        description="95th percentile over paths of that largest fall, in percent (0-100)."
    )


class ValueProbabilities(BaseModel):
    loss: float | None = _share("P(final value < total_invested); null with nothing net invested")
    positive_return: float | None = _share("1 - loss; null with nothing net invested")
    doubling: float | None = _share(
        "P(final value >= 2 x total_invested); null with nothing net invested"
    )
    depletion: float | None = _share("P(the value reached 0 at some month; it then stays 0)")


class Probabilities(ValueProbabilities):
    success: float | None = _share("P(never depleted over the horizon) = 1 - depletion")
    cagr_below_risk_free: float | None = _share(
        "P(annualized_return < risk_free_rate), over paths with at least 12 months invested"
    )


class AnnualizedReturn(BaseModel):
    """Distribution over paths of the time-weighted CAGR (paths with at least 12 months invested;
    all null when none has)."""

    mean: float | None = Field(description="Mean CAGR, a fraction per year.")
    median: float | None = Field(description="Median CAGR, a fraction per year.")
    percentile_5: float | None = Field(description="5th percentile, a fraction per year.")
    percentile_10: float | None = Field(description="10th percentile, a fraction per year.")
    percentile_25: float | None = Field(description="25th percentile, a fraction per year.")
    percentile_75: float | None = Field(description="75th percentile, a fraction per year.")
    percentile_90: float | None = Field(description="90th percentile, a fraction per year.")
    percentile_95: float | None = Field(description="95th percentile, a fraction per year.")


class RealResults(BaseModel):
    """The same figures in today's money: each amount deflated by (1 + inflation_rate) ** years
    at the time it occurs."""

    final_value_stats: FinalValueStats = Field(description="Final values in today's money.")
    risk_metrics: ValueRisk = Field(description="Value risk in today's money.")
    probabilities: ValueProbabilities = Field(description="Against the real total invested.")
    total_invested: Money = _money("Inflation-adjusted total invested")


class PercentileBands(BaseModel):
    """The fan chart: per month, percentiles of the portfolio value over `paths_used` paths."""

    month: list[int] = Field(description="Month index, 0 = the start; one entry per month.")
    p5: list[float] = _money("5th percentile of the value at each month")
    p25: list[float] = _money("25th percentile of the value at each month")
    p50: list[float] = _money("Median value at each month")
    p75: list[float] = _money("75th percentile of the value at each month")
    p95: list[float] = _money("95th percentile of the value at each month")
    paths_used: int = Field(
        description="Paths the bands are computed over: all of them, or a fixed seeded subset "
        "of very large runs."
    )


class SimulationResults(BaseModel):
    final_value_stats: FinalValueStats = Field(description="Distribution of the final value.")
    risk_metrics: RiskMetrics = Field(description="VaR, CVaR, Sharpe, Sortino and drawdowns.")
    annualized_return: AnnualizedReturn = Field(description="Distribution of the CAGR.")
    probabilities: Probabilities = Field(description="Chances of loss, doubling, depletion.")
    total_invested: Money = _money(
        "initial_investment + 12 x years x monthly_contribution + the cash flows' contributions "
        "(their withdrawals and the strategy's are not subtracted)"
    )
    real: RealResults | None = Field(
        description="Inflation-adjusted results; null when inflation_rate is 0."
    )
    depletion: Depletion = Field(description="How often, and when, the money ran out.")
    survival_by_year: list[float] = Field(
        description="Per year 1..T, the share of paths not yet depleted at the year's end: "
        "non-increasing, the last equal to probabilities.success."
    )
    withdrawals: Withdrawals | None = Field(
        None, description="Money withdrawn; null when the plan withdraws nothing."
    )
    safe_withdrawal: SafeWithdrawalResult | None = Field(
        None, description="With solve.safe_withdrawal_rate: the amount found."
    )
    percentile_bands: PercentileBands = Field(description="The fan chart's percentile bands.")
    sample_paths: list[list[float]] = Field(
        description=f"sample_paths whole paths for charts: one list per path of its value at each "
        f"month (0 = the start), {_MONEY}, rounded to cents."
    )


class AppliedParameters(BaseModel):
    """The request's parameters with every default filled in."""

    initial_investment: float = _money("Invested at the start")
    monthly_contribution: float = _money("Added at the start of each month (< 0: withdrawn)")
    time_horizon_years: int = Field(description="Horizon, in years (12 monthly steps each).")
    num_simulations: int = Field(description="Paths simulated.")
    seed: int = Field(description="The seed used (drawn when the request gave none).")
    rebalancing: Rebalancing = Field(description="How often the weights are restored.")
    risk_free_rate: float = Field(description="Annual risk-free rate used by Sharpe, a fraction.")
    inflation_rate: float = Field(description="Annual inflation rate, a fraction.")
    sample_paths: int = Field(description="Whole paths returned in results.sample_paths.")
    data_source: DataSource = Field(description="Where unspecified market inputs come from.")
    dataset_id: str | None = Field(None, description="The dataset, for data_source `dataset`.")
    return_model: ReturnModelInput = Field(
        default_factory=NormalModel, description="How monthly returns were drawn."
    )
    cash_flows: list[CashFlowInput] = Field(
        default_factory=list, description="The scheduled flows, as given."
    )
    annual_fee: float = Field(0.0, description="The annual fee, a fraction.")
    withdrawal_strategy: WithdrawalStrategyInput | None = Field(
        None, description="The strategy; a solved fixed_real shows the amount found."
    )
    solve: SolveInput | None = Field(None, description="What was solved for.")


class AppliedHistory(BaseModel):
    """The monthly history behind the estimates, or resampled by the bootstrap."""

    source: Literal["bloomberg", "dataset"] = Field(description="Where it came from.")
    months: int = Field(description="Monthly returns in it.")
    dataset_id: str | None = Field(None, description="The dataset, for `dataset`.")
    first_month: str | None = Field(None, description="Its first return's month, YYYY-MM.")
    last_month: str | None = Field(None, description="Its last return's month, YYYY-MM.")


class AppliedAsset(BaseModel):
    ticker: str = Field(description="The asset's ticker, as given.")
    weight: float = Field(description="Portfolio weight, a fraction; weights sum to 1.")
    asset_class: AssetClass = Field(description="The asset class, as given.")
    expected_return: float = Field(description="Annual expected arithmetic return, a fraction.")
    volatility: float = Field(description="Annual volatility, a fraction.")
    return_source: InputSource = Field(
        description="Where expected_return came from: `request`, `assumptions`, `bloomberg` or "
        "`dataset`."
    )
    volatility_source: InputSource = Field(
        description="Where volatility came from: `request`, `assumptions`, `bloomberg` or "
        "`dataset`."
    )


class AppliedInputs(BaseModel):
    parameters: AppliedParameters = Field(description="The parameters, defaults filled in.")
    assets: list[AppliedAsset] = Field(description="The assets in request order, with sources.")
    correlation: list[list[float]] = Field(
        description="The correlation matrix applied, n x n in asset order; dimensionless."
    )
    correlation_source: InputSource = Field(
        description="Where it came from: `request`, `assumptions`, `bloomberg` or `dataset`."
    )
    history: AppliedHistory | None = Field(
        None, description="The monthly history used, when the data source has one."
    )


class SimulationResponse(BaseModel):
    """A completed simulation: saved, and answered again byte for byte by GET."""

    simulation_id: str = Field(
        description="The saved simulation's id: `sim_` + 12 hex digits.",
        examples=["sim_a3b4c5d6e7f8"],
    )
    status: Literal["completed"] = Field("completed", description="Always `completed`.")
    created_at: datetime = Field(description="When it was saved (ISO 8601, UTC).")
    execution_time_seconds: float = Field(
        description="Engine time to simulate and compute the metrics, in seconds."
    )
    results: SimulationResults = Field(description="Statistics, risk metrics and chart data.")
    inputs: AppliedInputs = Field(description="What was simulated, defaults and sources included.")
    definitions: MetricDefinitions = Field(
        default_factory=MetricDefinitions,
        description="What each figure of results means, in words (the same for every run).",
    )


class SimulationSummary(BaseModel):
    """A saved simulation in a list: its headline figures, without the chart data."""

    simulation_id: str = Field(description="Open it with GET /simulations/{simulation_id}.")
    created_at: datetime = Field(description="When it was saved (ISO 8601, UTC).")
    execution_time_seconds: float = Field(description="Engine time, in seconds.")
    tickers: list[str] = Field(description="The portfolio's tickers, in request order.")
    num_simulations: int = Field(description="Paths simulated.")
    time_horizon_years: int = Field(description="Horizon, in years.")
    seed: int = Field(description="The seed used; rerun with it for the same numbers.")
    mean_final_value: Money = _money("Mean final value")
    probability_of_loss: float | None = _share("P(final value < total_invested)")


class SimulationPage(BaseModel):
    items: list[SimulationSummary] = Field(description="Newest first.")
    total: int = Field(description="All your saved simulations, across pages.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Items skipped before this page.")
