"""A plan's money movements: `parameters.cash_flows`, `annual_fee`, `withdrawal_strategy` (a
union on `type`) and `solve`. Rules that need the horizon are checked by `check_horizon`, each
a 422 naming its field."""

from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.engine.simulate import MAX_YEARS
from app.schemas.text import PlainText

_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
MAX_MONEY = 1e12
MAX_MONTH = 12 * MAX_YEARS
Frequency = Literal["monthly", "quarterly", "annually", "once"]
Month = Annotated[int, Field(ge=1, le=MAX_MONTH)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), PlainText]
_START = "First month it applies, 1 = the first month of the horizon."


class CashFlowInput(BaseModel):
    """A scheduled flow at the start of its months, before that month's return."""

    model_config = _STRICT

    amount: float = Field(
        ge=-MAX_MONEY,
        le=MAX_MONEY,
        description="Per occurrence, in the currency of initial_investment: > 0 adds, < 0 "
        "withdraws; not 0.",
    )
    frequency: Frequency = Field(
        "monthly",
        description="monthly, quarterly or annually (every 1/3/12 months from "
        "start_month), or once (at start_month only).",
    )
    start_month: Month = Field(1, description=_START)
    end_month: Month | None = Field(
        None, description="Last month it may happen (inclusive); default the horizon's last."
    )
    indexed_to_inflation: bool = Field(
        False,
        description="If true, month m pays amount x (1 + inflation_rate) ^ ((m - 1) / 12).",
    )
    label: Label | None = Field(None, description="A name for it, echoed back.")

    @model_validator(mode="after")
    def _check_flow(self) -> "CashFlowInput":
        if self.amount == 0:
            raise ValueError("amount must not be 0")
        if self.end_month is not None and self.end_month < self.start_month:
            raise ValueError(
                f"end_month ({self.end_month}) must not be before start_month ({self.start_month})"
            )
        return self


class FixedRealInput(BaseModel):
    """From start_month, annual_amount / 12 a month, indexed to inflation from start_month."""

    model_config = _STRICT

    type: Literal["fixed_real"] = Field(description="`fixed_real`: a constant real amount.")
    annual_amount: float | None = Field(
        None,
        gt=0,
        le=MAX_MONEY,
        description="Withdrawn per year in the first year (in today's money from then on); "
        "required, except with solve.safe_withdrawal_rate, which finds it.",
    )
    start_month: Month = Field(1, description=_START)


class PercentageInput(BaseModel):
    """From start_month, annual_rate / 12 of the value at each month's start (never depletes)."""

    model_config = _STRICT

    type: Literal["percentage"] = Field(description="`percentage`: a share of the value.")
    annual_rate: float = Field(gt=0, le=1, description="Per year, a fraction (0.04 = 4%).")
    start_month: Month = Field(1, description=_START)


class GuardrailsInput(BaseModel):
    """Guyton-Klinger: W = initial_rate x value at start_month, paid W / 12 a month; at each
    anniversary W grows with inflation, except that it is cut by `adjustment` when W / value >
    initial_rate x (1 + upper_guardrail), raised by it when W / value < initial_rate x
    (1 - lower_guardrail)."""

    model_config = _STRICT

    type: Literal["guardrails"] = Field(description="`guardrails`: Guyton-Klinger rules.")
    initial_rate: float = Field(gt=0, le=1, description="r0, the first year's rate.")
    start_month: Month = Field(1, description=_START)
    upper_guardrail: float = Field(0.2, ge=0, le=1, description="Cut above r0 x (1 + this).")
    lower_guardrail: float = Field(0.2, ge=0, lt=1, description="Raise below r0 x (1 - this).")
    adjustment: float = Field(0.1, ge=0, lt=1, description="The cut or raise, a fraction of W.")


WithdrawalStrategyInput = Annotated[
    FixedRealInput | PercentageInput | GuardrailsInput, Field(discriminator="type")
]


class SafeWithdrawalRateInput(BaseModel):
    model_config = _STRICT

    target_success: float = Field(
        ge=0.5, le=0.999, description="The success rate to reach, 0.5 to 0.999."
    )


class SolveInput(BaseModel):
    """What to solve for instead of simulating the plan as given."""

    model_config = _STRICT

    safe_withdrawal_rate: SafeWithdrawalRateInput = Field(
        description="The largest fixed_real annual_amount whose success rate is at least "
        "target_success (to 0.1% of the initial investment)."
    )


class PlanParameters(Protocol):
    cash_flows: list[CashFlowInput]
    withdrawal_strategy: FixedRealInput | PercentageInput | GuardrailsInput | None
    solve: SolveInput | None


def check_plan(plan: PlanParameters, years: int) -> None:
    """The rules that need the horizon or several fields; a ValueError names the field."""
    months = 12 * years
    for index, flow in enumerate(plan.cash_flows):
        for name in ("start_month", "end_month"):
            month = getattr(flow, name)
            if month is not None and month > months:
                raise ValueError(
                    f"cash_flows[{index}].{name} ({month}) is after the horizon's last month "
                    f"({months})"
                )
    strategy = plan.withdrawal_strategy
    if strategy is not None and strategy.start_month > months:
        raise ValueError(
            f"withdrawal_strategy.start_month ({strategy.start_month}) is after the horizon's "
            f"last month ({months})"
        )
    solving = plan.solve is not None
    if solving and not isinstance(strategy, FixedRealInput):
        raise ValueError(
            "solve.safe_withdrawal_rate needs a withdrawal_strategy of type fixed_real"
        )
    if isinstance(strategy, FixedRealInput):
        if solving and strategy.annual_amount is not None:
            raise ValueError(
                "withdrawal_strategy.annual_amount is what solve.safe_withdrawal_rate finds: "
                "leave it out"
            )
        if not solving and strategy.annual_amount is None:
            raise ValueError("withdrawal_strategy.annual_amount is required (or use solve)")
