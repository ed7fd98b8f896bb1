"""Simulation request and response bodies.

Requests are strict: numbers must be JSON numbers (no strings), finite, within range, and no
unknown fields are accepted; every violation is a 422 naming its field.
"""

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.engine import InvalidCorrelationError
from app.engine.cash_flows import MAX_CASH_FLOWS
from app.engine.simulate import MAX_ANNUAL_FEE, correlation_factor
from app.schemas.cash_flows import CashFlowInput, SolveInput, WithdrawalStrategyInput, check_plan
from app.schemas.return_model import BootstrapModel, NormalModel, ReturnModelInput
from app.schemas.text import PlainText

AssetClass = Literal["equity", "bonds", "cash", "real_estate", "commodities", "crypto"]
Rebalancing = Literal["monthly", "quarterly", "annually", "none"]
DataSource = Literal["assumptions", "bloomberg", "dataset"]
WEIGHT_SUM_TOLERANCE = 1e-6
MAX_SEED = 2**63 - 1
MAX_SAMPLE_VALUES = 250_000  # sample_paths x (months + 1): bounds the response and the saved row

_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

Ticker = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), PlainText
]
MAX_MONEY = 1e12


class AssetInput(BaseModel):
    model_config = _STRICT

    ticker: Ticker = Field(description="The asset's ticker (a Bloomberg one for bloomberg).")
    weight: float = Field(gt=0, le=1, description="Portfolio weight, a fraction; sum = 1.")
    asset_class: AssetClass = Field(description="Picks the assumptions when none are given.")
    expected_return: float | None = Field(
        None,
        ge=-1,
        le=5,
        description="Annual expected arithmetic return, a fraction (0.07 = 7%); overrides the "
        "data source.",
    )
    volatility: float | None = Field(
        None,
        ge=0,
        le=5,
        description="Annual volatility, a fraction (0.15 = 15%); overrides the data source.",
    )


class PortfolioInput(BaseModel):
    model_config = _STRICT

    assets: list[AssetInput] = Field(
        min_length=1, max_length=50, description="1 to 50 assets, unique tickers."
    )
    correlation: list[list[Annotated[float, Field(ge=-1, le=1)]]] | None = Field(
        None, description="n x n: symmetric, unit diagonal, positive semi-definite."
    )

    @model_validator(mode="after")
    def _check_portfolio(self) -> "PortfolioInput":
        weight_sum = sum(asset.weight for asset in self.assets)
        if abs(weight_sum - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"asset weights must sum to 1 (they sum to {weight_sum:.8g})")
        tickers = [asset.ticker for asset in self.assets]
        duplicates = sorted({t for t in tickers if tickers.count(t) > 1})
        if duplicates:
            raise ValueError(f"tickers must be unique; repeated: {', '.join(duplicates)}")
        if self.correlation is not None:
            _check_correlation(self.correlation, len(self.assets))
        return self


def _check_correlation(rows: list[list[float]], size: int) -> None:
    if len(rows) != size or any(len(row) != size for row in rows):
        raise ValueError(f"correlation must be a {size} x {size} matrix (one row per asset)")
    try:
        correlation_factor(np.array(rows, dtype=float))  # the engine's own rules, one place
    except InvalidCorrelationError as error:
        raise ValueError(str(error)) from None


class SimulationParameters(BaseModel):
    model_config = _STRICT

    initial_investment: float = Field(
        ge=0, le=MAX_MONEY, description="Invested at the start, in any currency."
    )
    monthly_contribution: float = Field(
        0.0,
        ge=-MAX_MONEY,
        le=MAX_MONEY,
        description="Added at the start of each month, in the currency of "
        "initial_investment; negative = a withdrawal.",
    )
    time_horizon_years: int = Field(ge=1, le=100, description="Horizon, in years.")
    num_simulations: int | None = Field(
        None,
        ge=1,
        description="Paths to simulate; default 10,000; at most MAX_SIMULATIONS (1,000,000).",
    )
    seed: int | None = Field(
        None, ge=0, le=MAX_SEED, description="Same seed and inputs give the same numbers."
    )
    rebalancing: Rebalancing = Field("monthly", description="How often weights are restored.")
    risk_free_rate: float = Field(
        0.02, ge=-0.5, le=1, description="Annual risk-free rate for Sharpe, a fraction."
    )
    inflation_rate: float = Field(
        0.0,
        gt=-1,
        le=1,
        description="Annual inflation, a fraction; when non-zero, real (inflation-adjusted) "
        "results too.",
    )
    sample_paths: int = Field(100, ge=0, le=1000, description="Whole paths returned for charts.")
    data_source: DataSource = Field(
        "assumptions",
        description="Where expected returns, volatilities and correlations not given come from; "
        "for `bootstrap`, the history resampled. `dataset`: one of your datasets, dataset_id.",
    )
    dataset_id: str | None = Field(
        None,
        pattern=r"^ds_[0-9a-f]{12}$",
        description="For data_source `dataset`: the dataset (POST /api/v1/datasets) whose "
        "columns include every portfolio ticker.",
        examples=["ds_a3b4c5d6e7f8"],
    )
    return_model: ReturnModelInput = Field(
        default_factory=NormalModel,
        description="How monthly returns are drawn: `normal` (default), `student_t` (fat "
        "tails) or `bootstrap` (resampled history).",
    )
    cash_flows: list[CashFlowInput] = Field(
        default_factory=list,
        max_length=MAX_CASH_FLOWS,
        description=f"Up to {MAX_CASH_FLOWS} scheduled flows, on top of monthly_contribution.",
    )
    annual_fee: float = Field(
        0.0,
        ge=0,
        le=MAX_ANNUAL_FEE,
        description="The value is multiplied by (1 - annual_fee) ^ (1 / 12) at each month's "
        "end; 0 to 0.2.",
    )
    withdrawal_strategy: WithdrawalStrategyInput | None = Field(
        None, description="Withdrawals on top of cash_flows: fixed_real, percentage, guardrails."
    )
    solve: SolveInput | None = Field(
        None, description="Find the safe withdrawal rate of a fixed_real strategy."
    )

    @model_validator(mode="after")
    def _check_plan(self) -> "SimulationParameters":
        check_plan(self, self.time_horizon_years)
        return self

    @model_validator(mode="after")
    def _bootstrap_needs_a_history(self) -> "SimulationParameters":
        if isinstance(self.return_model, BootstrapModel) and self.data_source == "assumptions":
            raise ValueError(
                "the bootstrap return model needs a history: set data_source to "
                "`dataset` or `bloomberg` (assumptions have none)"
            )
        return self

    @model_validator(mode="after")
    def _dataset_id_with_the_dataset_source(self) -> "SimulationParameters":
        if (self.data_source == "dataset") != (self.dataset_id is not None):
            raise ValueError("dataset_id goes with data_source `dataset`: give both or neither")
        return self

    @model_validator(mode="after")
    def _bound_sample_paths(self) -> "SimulationParameters":
        values = self.sample_paths * (12 * self.time_horizon_years + 1)
        if values > MAX_SAMPLE_VALUES:
            raise ValueError(
                f"sample_paths x (12 x time_horizon_years + 1) must be at most "
                f"{MAX_SAMPLE_VALUES:,} values (here {values:,}): lower sample_paths"
            )
        return self


# The request of the spec's "Run Monte Carlo Simulation" example.
SPEC_EXAMPLE = {
    "portfolio": {
        "assets": [
            {"ticker": "NSEI Index", "weight": 0.6, "asset_class": "equity"},
            {"ticker": "GIND10YR Index", "weight": 0.4, "asset_class": "bonds"},
        ]
    },
    "parameters": {
        "initial_investment": 1000000,
        "monthly_contribution": 50000,
        "time_horizon_years": 10,
        "num_simulations": 10000,
    },
}


class SimulationRequest(BaseModel):
    model_config = ConfigDict(
        strict=True, extra="forbid", json_schema_extra={"examples": [SPEC_EXAMPLE]}
    )

    portfolio: PortfolioInput = Field(description="What to simulate.")
    parameters: SimulationParameters = Field(description="How: amounts, horizon, paths, seed.")

    @model_validator(mode="after")
    def _bootstrap_takes_the_history_as_it_is(self) -> "SimulationRequest":
        if not isinstance(self.parameters.return_model, BootstrapModel):
            return self
        for asset in self.portfolio.assets:
            for name in ("expected_return", "volatility"):
                if getattr(asset, name) is not None:
                    raise ValueError(
                        f"{name} of {asset.ticker} cannot be given with the bootstrap return "
                        "model: it resamples the history's own returns"
                    )
        if self.portfolio.correlation is not None:
            raise ValueError(
                "correlation cannot be given with the bootstrap return model: the history's "
                "months keep their own co-movement"
            )
        return self
