"""The request's return model as the engine's: the normal and Student-t models take the market
inputs' mu, sigma and C; the bootstrap resamples the market inputs' monthly history."""

from app.engine import BootstrapReturns, NormalReturns, ReturnModel, StudentTReturns
from app.schemas.return_model import BootstrapModel, ReturnModelInput, StudentTModel
from app.services.errors import InvalidField
from app.services.market_data import MarketInputs

_FIELD = ("body", "parameters", "return_model")


def engine_return_model(model: ReturnModelInput, market: MarketInputs) -> ReturnModel:
    """The engine's model for `model`; a bootstrap without a history is a 422."""
    if isinstance(model, StudentTModel):
        return StudentTReturns(model.degrees_of_freedom)
    if isinstance(model, BootstrapModel):
        if market.history is None:
            raise InvalidField(_FIELD, "the bootstrap return model needs a monthly history")
        return BootstrapReturns(market.history.monthly_returns, model.block_months)
    return NormalReturns()
