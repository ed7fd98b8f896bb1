"""Run a portfolio simulation: resolve market inputs, run the engine and build the response off
the event loop with bounded concurrency, and save it (services.saved_simulations)."""

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import numba
import numpy as np
import pydantic_core
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.engine import SimulationInputs, compute_metrics
from app.engine.histogram import final_value_histogram
from app.engine.shards import RunResult, result_of_output
from app.models import Simulation
from app.observability.metrics import observe_simulation
from app.observability.tracing import traced
from app.schemas.simulation import SimulationRequest
from app.schemas.simulation_response import SimulationResponse
from app.services import datasets, saved_simulations
from app.services.capacity import SimulationSlots
from app.services.compression import pack
from app.services.errors import InvalidField, InvalidInput
from app.services.idempotency import Claim
from app.services.market_data import MarketHistory, MarketInputs, resolve_market_inputs
from app.services.plans import plan_inputs, runs_per_request, simulate_plan
from app.services.return_models import engine_return_model


@dataclass(frozen=True)
class _Computed:
    result: RunResult
    histogram: dict
    seconds: float


@traced("engine.simulate")
def _compute(
    inputs: SimulationInputs,
    risk_free_rate: float,
    inflation_rate: float,
    target_success: float | None = None,
) -> _Computed:
    started = time.perf_counter()
    output, safe_withdrawal = simulate_plan(inputs, target_success)
    metrics = compute_metrics(
        output, risk_free_rate=risk_free_rate, inflation_rate=inflation_rate, years=inputs.years
    )
    if safe_withdrawal is not None:
        metrics["safe_withdrawal"] = safe_withdrawal
    histogram = final_value_histogram(output.final_values)
    return _Computed(result_of_output(output, metrics), histogram, time.perf_counter() - started)


@dataclass(frozen=True)
class _Run:
    """A computed run and the response that will be answered and saved for it."""

    computed: _Computed
    applied_inputs: dict
    created_at: datetime
    body: bytes


def _response_body(
    simulation_id: str, created_at: datetime, computed: _Computed, applied_inputs: dict
) -> bytes:
    """The response's JSON, through the typed model (its fields are the contract)."""
    response = SimulationResponse.model_validate(
        {
            "simulation_id": simulation_id,
            "created_at": created_at,
            "execution_time_seconds": round(computed.seconds, 6),
            "results": {
                "real": None,
                **computed.result.metrics,
                "percentile_bands": _percentile_bands(computed.result),
                "sample_paths": _cents(computed.result.sample_paths),
            },
            "inputs": applied_inputs,
        }
    )
    return pydantic_core.to_json(response)


def engine_threads(runs_in_flight: int) -> int:
    """Engine threads for one run: this process's cores shared by the runs it has in flight.

    A lone run gets every core; under load each run already has a core, and splitting it over
    more threads only adds OpenMP wake-ups and idle waits at its barriers (one worker, 16
    clients, 2 cores: 33 -> 56 requests/s). Results do not depend on the count.
    """
    return max(1, numba.config.NUMBA_NUM_THREADS // max(1, runs_in_flight))


def _run(
    inputs: SimulationInputs,
    request: SimulationRequest,
    market: MarketInputs,
    simulation_id: str,
    slots: SimulationSlots,
) -> _Run:
    """Simulate and build the response, all in the worker thread: a large response takes
    milliseconds to serialize, which must not stall the event loop."""
    numba.set_num_threads(engine_threads(slots.in_use))  # this thread's count only
    parameters = request.parameters
    solve = parameters.solve
    target = None if solve is None else solve.safe_withdrawal_rate.target_success
    computed = _compute(inputs, parameters.risk_free_rate, parameters.inflation_rate, target)
    return _finished(computed, request, market, simulation_id)


def finished_run(
    result: RunResult,
    histogram: dict,
    seconds: float,
    request: SimulationRequest,
    market: MarketInputs,
    simulation_id: str,
) -> _Run:
    """A run computed elsewhere (a job's shards), and its response: the same as simulate's."""
    return _finished(_Computed(result, histogram, seconds), request, market, simulation_id)


def _finished(
    computed: _Computed, request: SimulationRequest, market: MarketInputs, simulation_id: str
) -> _Run:
    applied = _applied_inputs(request, market, computed.result)
    created_at = datetime.now(UTC)
    return _Run(
        computed, applied, created_at, _response_body(simulation_id, created_at, computed, applied)
    )


def _cents(values: np.ndarray) -> list:
    return np.round(values, 2).tolist()


def _percentile_bands(output: RunResult) -> dict:
    bands = output.percentile_bands
    return {
        "month": list(range(bands.shape[0])),
        **{f"p{p}": _cents(bands[:, i]) for i, p in enumerate((5, 25, 50, 75, 95))},
        "paths_used": output.band_paths_used,
    }


def _applied_inputs(request: SimulationRequest, market: MarketInputs, output: RunResult) -> dict:
    parameters = request.parameters.model_dump()
    parameters["num_simulations"] = output.num_paths
    parameters["seed"] = output.seed
    parameters["sample_paths"] = int(output.sample_paths.shape[0])
    if "safe_withdrawal" in output.metrics:  # the amount solved for
        parameters["withdrawal_strategy"]["annual_amount"] = output.metrics["safe_withdrawal"][
            "annual_amount"
        ]
    assets = [
        {"weight": asset.weight, "asset_class": asset.asset_class, **source}
        for asset, source in zip(request.portfolio.assets, market.sources, strict=True)
    ]
    return {
        "parameters": parameters,
        "assets": assets,
        "correlation": market.correlation.tolist(),
        "correlation_source": market.correlation_source,
        "history": None if market.history is None else market.history.echo(),
    }


async def resolve_market(
    request: SimulationRequest, dataset: MarketHistory | None = None
) -> MarketInputs:
    """The market inputs; `dataset` is the history of data source `dataset`
    (datasets.history_for_request)."""
    portfolio = request.portfolio
    source = request.parameters.data_source
    if source == "bloomberg":  # xbbg blocks on the network
        return await anyio.to_thread.run_sync(
            resolve_market_inputs, portfolio.assets, portfolio.correlation, source
        )
    return resolve_market_inputs(portfolio.assets, portfolio.correlation, source, dataset)


DEFAULT_SIMULATIONS = 10_000


def applied_num_simulations(
    request: SimulationRequest,
    settings: Settings,
    *,
    max_paths: int | None = None,
    max_steps: int | None = None,
) -> int:
    """The paths to simulate, within what this service allows one request (by default) or
    one job (max_paths, max_steps) to ask for."""
    max_paths = max_paths or settings.MAX_SIMULATIONS
    max_steps = max_steps or settings.MAX_SIMULATION_STEPS
    parameters = request.parameters
    paths = parameters.num_simulations or min(DEFAULT_SIMULATIONS, max_paths)
    field = ("body", "parameters", "num_simulations")
    if paths > max_paths:
        raise InvalidField(field, f"num_simulations must be at most {max_paths:,}")
    runs = runs_per_request(parameters)
    steps = paths * 12 * parameters.time_horizon_years * len(request.portfolio.assets) * runs
    if steps > max_steps:
        solving = f" x {runs} runs of the solve" if runs > 1 else ""
        raise InvalidField(
            field,
            f"num_simulations x 12 x time_horizon_years x assets{solving} must be at most "
            f"{max_steps:,} (here {steps:,}): simulate fewer paths, years or assets",
        )
    return paths


def engine_inputs(
    request: SimulationRequest, market: MarketInputs, num_paths: int
) -> SimulationInputs:
    """The engine's inputs for the request (the request's seed, or None to draw one)."""
    parameters = request.parameters
    return SimulationInputs(
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
        return_model=engine_return_model(parameters.return_model, market),
        **plan_inputs(parameters),
    )


async def simulate_and_save(
    db: AsyncSession,
    *,
    settings: Settings,
    slots: SimulationSlots,
    request: SimulationRequest,
    user_id: int,
    api_key_id: int | None,
    claim: Claim | None = None,
) -> bytes:
    """Simulate the request's portfolio, save the run (completing its idempotency claim), and
    return the response body."""
    num_paths = applied_num_simulations(request, settings)
    dataset = await datasets.history_for_request(db, user_id=user_id, request=request)
    market = await resolve_market(request, dataset)
    parameters = request.parameters
    inputs = engine_inputs(request, market, num_paths)
    simulation_id = saved_simulations.new_simulation_id()
    try:
        run = await slots.run(
            _run,
            inputs,
            request,
            market,
            simulation_id,
            slots,
            account=user_id,
            path_months=num_paths
            * 12
            * parameters.time_horizon_years
            * runs_per_request(parameters),
        )
    except ValueError as error:  # the engine's own checks; the schema should catch these first
        raise InvalidInput(str(error)) from error
    computed = run.computed
    observe_simulation(seconds=computed.seconds, paths=num_paths)
    body = run.body
    for attempt in itertools.count(1):
        try:
            await saved_simulations.save(
                db,
                saved_row(run, simulation_id, body, user_id, api_key_id),
                settings=settings,
                claim=claim,
            )
            return body
        except IntegrityError as error:
            if attempt == 3 or not await saved_simulations.is_taken(db, error):
                raise
        simulation_id = saved_simulations.new_simulation_id()
        body = _response_body(simulation_id, run.created_at, computed, run.applied_inputs)
    raise AssertionError("unreachable")


def saved_row(
    run: _Run, simulation_id: str, body: bytes, user_id: int, api_key_id: int | None
) -> Simulation:
    packed = pack(body)
    return Simulation(
        id=simulation_id,
        user_id=user_id,
        api_key_id=api_key_id,
        inputs=run.applied_inputs,
        summary=run.computed.result.metrics,
        final_value_histogram=run.computed.histogram,
        response_body=packed,
        stored_bytes=len(packed),
        execution_time_seconds=round(run.computed.seconds, 6),
        created_at=run.created_at,
    )
