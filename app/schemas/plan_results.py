"""What a plan's cash flows answer in `results`: depletion, survival, withdrawals, the solve."""

from pydantic import BaseModel, Field

_MONEY = "in the currency of initial_investment"


class DepletionMonths(BaseModel):
    """Percentiles of the month the money ran out (1 = the first month), over depleted paths."""

    p10: float = Field(description="10th percentile of the depletion month.")
    p25: float = Field(description="25th percentile of the depletion month.")
    p50: float = Field(description="Median depletion month.")


class Depletion(BaseModel):
    probability: float = Field(
        description="P(the value ran out at some month): a share of paths = 1 - success."
    )
    month_percentiles: DepletionMonths | None = Field(
        description="When the depleted paths ran out; null when none did."
    )


class WithdrawnTotals(BaseModel):
    """The distribution over paths of the total a path withdrew over the horizon."""

    mean: float = Field(description=f"Mean total withdrawn, {_MONEY}.")
    median: float = Field(description=f"Median total withdrawn, {_MONEY}.")
    p5: float = Field(description=f"5th percentile, {_MONEY}.")
    p95: float = Field(description=f"95th percentile, {_MONEY}.")


class AnnualWithdrawals(BaseModel):
    """Per year, percentiles over `paths_used` paths of what the strategy paid a path in that
    year (scheduled withdrawals aside)."""

    year: list[int] = Field(description="Year 1..time_horizon_years.")
    p5: list[float] = Field(description=f"5th percentile of the year's withdrawals, {_MONEY}.")
    p50: list[float] = Field(description=f"Median of the year's withdrawals, {_MONEY}.")
    p95: list[float] = Field(description=f"95th percentile of the year's withdrawals, {_MONEY}.")
    paths_used: int = Field(description="Paths they are computed over (the band paths).")


class Withdrawals(BaseModel):
    """Money that left the portfolio: negative flows and the strategy, as actually paid."""

    total: WithdrawnTotals = Field(description="Nominal totals per path.")
    total_real: WithdrawnTotals = Field(
        description="Totals per path, each amount deflated by (1 + inflation_rate) ^ (t in "
        "years) when withdrawn."
    )
    annual: AnnualWithdrawals | None = Field(
        description="Spending per year, for percentage and guardrails strategies; else null."
    )


class SafeWithdrawalResult(BaseModel):
    """The solve's answer; the results above are those of a run at annual_amount."""

    annual_amount: float = Field(
        description=f"The largest fixed_real annual_amount found with success >= "
        f"target_success (to 0.1% of the initial investment), {_MONEY}."
    )
    rate: float | None = Field(
        description="annual_amount / initial_investment; null without an initial investment."
    )
    success: float = Field(description="The success rate at annual_amount.")
    target_success: float = Field(description="The target asked for.")
    iterations: int = Field(description="Engine runs the solve took (at most 25).")
