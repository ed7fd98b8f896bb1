"""Run a portfolio simulation: resolve market inputs, run the engine off the event loop with
bounded concurrency, build the response, save it; and read saved simulations back."""

import secrets
import time
from dataclasses import dataclass

import anyio
import numpy as np
import pydantic_core
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.engine import SimulationInputs, SimulationOutput, compute_metrics, run_simulation
from app.engine.histogram import final_value_histogram
from app.models import Simulation
from app.observability.metrics import observe_simulation
from app.observability.tracing import traced
from app.schemas.simulation import SimulationRequest
from app.schemas.simulation_response import SimulationResponse
from app.services.capacity import SimulationSlots
from app.services.errors import InvalidField, InvalidInput, NotFound
from app.services.market_data import MarketInputs, resolve_market_inputs


@dataclass(frozen=True)
class _Computed:
    output: SimulationOutput
    metrics: dict
    histogram: dict
    seconds: float


@traced("engine.simulate")
def _compute(inputs: SimulationInputs, risk_free_rate: float, inflation_rate: float) -> _Computed:
    started = time.perf_counter()
    output = run_simulation(inputs)
    metrics = compute_metrics(
        output, risk_free_rate=risk_free_rate, inflation_rate=inflation_rate, years=inputs.years
    )
    histogram = final_value_histogram(output.final_values)
    return _Computed(output, metrics, histogram, time.perf_counter() - started)


def _cents(values: np.ndarray) -> list:
    return np.round(values, 2).tolist()


def _percentile_bands(output: SimulationOutput) -> dict:
    bands = output.percentile_bands
    return {
        "month": list(range(bands.shape[0])),
        **{f"p{p}": _cents(bands[:, i]) for i, p in enumerate((5, 25, 50, 75, 95))},
        "paths_used": output.band_paths_used,
    }


def _applied_inputs(
    request: SimulationRequest, market: MarketInputs, output: SimulationOutput
) -> dict:
    parameters = request.parameters.model_dump()
    parameters["num_simulations"] = int(output.final_values.shape[0])
    parameters["seed"] = output.seed
    parameters["sample_paths"] = int(output.sample_paths.shape[0])
    assets = [
        {"weight": asset.weight, "asset_class": asset.asset_class, **source}
        for asset, source in zip(request.portfolio.assets, market.sources, strict=True)
    ]
    return {
        "parameters": parameters,
        "assets": assets,
        "correlation": market.correlation.tolist(),
        "correlation_source": market.correlation_source,
    }


async def _resolve_market(request: SimulationRequest) -> MarketInputs:
    portfolio = request.portfolio
    source = request.parameters.data_source
    if source == "bloomberg":  # xbbg blocks on the network
        return await anyio.to_thread.run_sync(
            resolve_market_inputs, portfolio.assets, portfolio.correlation, source
        )
    return resolve_market_inputs(portfolio.assets, portfolio.correlation, source)


DEFAULT_SIMULATIONS = 10_000


def applied_num_simulations(request: SimulationRequest, settings: Settings) -> int:
    """The paths to simulate, within what this service allows one request to ask for."""
    parameters = request.parameters
    paths = parameters.num_simulations or min(DEFAULT_SIMULATIONS, settings.MAX_SIMULATIONS)
    field = ("body", "parameters", "num_simulations")
    if paths > settings.MAX_SIMULATIONS:
        raise InvalidField(field, f"num_simulations must be at most {settings.MAX_SIMULATIONS:,}")
    steps = paths * 12 * parameters.time_horizon_years * len(request.portfolio.assets)
    if steps > settings.MAX_SIMULATION_STEPS:
        raise InvalidField(
            field,
            f"num_simulations x 12 x time_horizon_years x assets must be at most "
            f"{settings.MAX_SIMULATION_STEPS:,} (here {steps:,}): simulate fewer paths, years "
            "or assets",
        )
    return paths


async def simulate_and_save(
    db: AsyncSession,
    *,
    settings: Settings,
    slots: SimulationSlots,
    request: SimulationRequest,
    user_id: int,
    api_key_id: int | None,
) -> bytes:
    """Simulate the request's portfolio, save the run, and return the response body."""
    num_paths = applied_num_simulations(request, settings)
    market = await _resolve_market(request)
    parameters = request.parameters
    inputs = SimulationInputs(
        weights=np.array([asset.weight for asset in request.portfolio.assets]),
        annual_returns=market.annual_returns,
        annual_volatilities=market.annual_volatilities,
        correlation=market.correlation,
        initial_investment=parameters.initial_investment,
        monthly_contribution=parameters.monthly_contribution,
        years=parameters.time_horizon_years,
        num_paths=num_paths,
        seed=parameters.seed,
        rebalancing=parameters.rebalancing,
        sample_paths=min(parameters.sample_paths, num_paths),
        risk_free_rate=parameters.risk_free_rate,
    )
    try:
        computed = await slots.run(
            _compute,
            inputs,
            parameters.risk_free_rate,
            parameters.inflation_rate,
            account=user_id,
            path_months=num_paths * 12 * parameters.time_horizon_years,
        )
    except ValueError as error:  # the engine's own checks; the schema should catch these first
        raise InvalidInput(str(error)) from error
    observe_simulation(seconds=computed.seconds, paths=num_paths)
    simulation = Simulation(
        user_id=user_id,
        api_key_id=api_key_id,
        inputs=_applied_inputs(request, market, computed.output),
        summary=computed.metrics,
        percentile_bands=_percentile_bands(computed.output),
        sample_paths=_cents(computed.output.sample_paths),
        final_value_histogram=computed.histogram,
        execution_time_seconds=round(computed.seconds, 6),
    )
    await _save_with_new_id(db, simulation)
    return response_body(simulation)


async def _save_with_new_id(db: AsyncSession, simulation: Simulation) -> None:
    for attempt in range(3):
        simulation.id = "sim_" + secrets.token_hex(6)
        # The caller gets the results in this response whatever happens; not waiting for the
        # WAL flush halves the save. A database crash can lose the last moment's saved runs,
        # never corrupt them. (Call logs, used for billing, keep the synchronous commit.)
        await db.execute(text("SET LOCAL synchronous_commit = off"))
        db.add(simulation)
        try:
            await db.commit()
            return
        except IntegrityError:  # an id collision: 48 random bits make it rare, not impossible
            await db.rollback()
            if attempt == 2:
                raise


def response_body(simulation: Simulation) -> bytes:
    """The response's JSON, in the order of the typed model (its fields are the contract)."""
    response = SimulationResponse.model_validate(
        {
            "simulation_id": simulation.id,
            "created_at": simulation.created_at,
            "execution_time_seconds": simulation.execution_time_seconds,
            "results": {
                "real": None,
                **simulation.summary,
                "percentile_bands": simulation.percentile_bands,
                "sample_paths": simulation.sample_paths,
            },
            "inputs": simulation.inputs,
        }
    )
    return pydantic_core.to_json(response)


async def saved_response(db: AsyncSession, *, user_id: int, simulation_id: str) -> bytes:
    """The saved simulation's response body, as its POST answered it."""
    simulation = await db.scalar(
        select(Simulation).where(Simulation.id == simulation_id, Simulation.user_id == user_id)
    )
    if simulation is None:
        raise NotFound("Simulation not found")
    return response_body(simulation)


async def list_simulations(
    db: AsyncSession, *, user_id: int, limit: int, offset: int
) -> tuple[list[dict], int]:
    """A page of the user's simulations, newest first, without their paths."""
    total = await db.scalar(
        select(func.count()).select_from(Simulation).where(Simulation.user_id == user_id)
    )
    rows = await db.execute(
        select(
            Simulation.id,
            Simulation.created_at,
            Simulation.execution_time_seconds,
            Simulation.inputs,
            Simulation.summary["final_value_stats"]["mean"].label("mean"),
            Simulation.summary["probabilities"]["loss"].label("loss"),
        )
        .where(Simulation.user_id == user_id)
        .order_by(Simulation.created_at.desc(), Simulation.id)
        .limit(limit)
        .offset(offset)
    )
    items = [
        {
            "simulation_id": row.id,
            "created_at": row.created_at,
            "execution_time_seconds": row.execution_time_seconds,
            "tickers": [asset["ticker"] for asset in row.inputs["assets"]],
            "num_simulations": row.inputs["parameters"]["num_simulations"],
            "time_horizon_years": row.inputs["parameters"]["time_horizon_years"],
            "seed": row.inputs["parameters"]["seed"],
            "mean_final_value": row.mean,
            "probability_of_loss": row.loss,
        }
        for row in rows
    ]
    return items, total or 0
