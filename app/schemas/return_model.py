"""How monthly returns are drawn: `parameters.return_model`, a union on `type`."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.engine.returns_bootstrap import MAX_BLOCK_MONTHS
from app.engine.returns_t import MAX_DEGREES_OF_FREEDOM, MIN_DEGREES_OF_FREEDOM

_STRICT = ConfigDict(strict=True, extra="forbid")


class NormalModel(BaseModel):
    """Correlated lognormal: log R_i = (mu_i - sigma_i^2 / 2) dt + sigma_i sqrt(dt) Z_i with
    Z ~ N(0, C)."""

    model_config = _STRICT

    type: Literal["normal"] = Field("normal", description="`normal`: correlated lognormal.")


class StudentTModel(BaseModel):
    """Fat tails: as normal, with Z replaced by X = L N sqrt((nu - 2) / W), W ~ chi2_nu drawn once
    per path-month for all assets together (joint crashes); X has unit variance and
    correlation C."""

    model_config = _STRICT

    type: Literal["student_t"] = Field(description="`student_t`: multivariate Student-t.")
    degrees_of_freedom: int = Field(
        5,
        ge=MIN_DEGREES_OF_FREEDOM,
        le=MAX_DEGREES_OF_FREEDOM,
        description="nu, an integer from 3 to 100: lower means fatter tails (kurtosis "
        "3 + 6 / (nu - 4) for nu > 4); 100 is close to normal.",
    )


class BootstrapModel(BaseModel):
    """Historical block bootstrap: each simulated month replays a whole historical month, all
    assets together; blocks of block_months consecutive months (circular). Needs a history:
    data_source `dataset` or `bloomberg`, and no expected_return, volatility or correlation in
    the request."""

    model_config = _STRICT

    type: Literal["bootstrap"] = Field(description="`bootstrap`: resample the history.")
    block_months: int = Field(
        1,
        ge=1,
        le=MAX_BLOCK_MONTHS,
        description="Months per block, 1 to 120: 1 draws months independently; more keeps "
        "the history's autocorrelation within blocks.",
    )


ReturnModelInput = Annotated[
    NormalModel | StudentTModel | BootstrapModel, Field(discriminator="type")
]
