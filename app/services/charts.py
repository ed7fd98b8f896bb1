"""Chart images of saved simulations: the fan chart and the final-value histogram.

A chart is a pure function of the saved simulation, the query and the drawing code, so its ETag
is a hash of those (no rendering needed to answer If-None-Match). Rendering runs in worker
threads, at most CHART_MAX_CONCURRENCY at once.
"""

import hashlib
from pathlib import Path

import matplotlib
import numpy as np
import pydantic_core
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.charts import FanData, HistogramData, draw_fan, draw_histogram
from app.engine.cash_flows import CashFlow, scheduled_contributions
from app.models import Simulation
from app.schemas.chart import ChartQuery
from app.services.capacity import SimulationSlots
from app.services.compression import unpack
from app.services.errors import NotFound

SAMPLE_PATHS_SHOWN = 5
PORTFOLIO_ASSETS_NAMED = 4
NOT_FOUND = "Simulation not found"
NO_HISTOGRAM = (
    "This simulation was saved before final-value histograms were kept: run it again "
    "(the same seed gives the same numbers) to get its histogram"
)


def _drawing_code_digest() -> str:
    digest = hashlib.sha256(matplotlib.__version__.encode())
    for source in sorted((Path(__file__).parent.parent / "charts").glob("*.py")):
        digest.update(source.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


_DRAWING_CODE = _drawing_code_digest()


def _effective(query: ChartQuery, inflation_rate: float) -> ChartQuery:
    """Real money is nominal money when the run has no inflation rate: one image, one ETag."""
    return query if inflation_rate else query.model_copy(update={"real": False})


def chart_etag(simulation_id: str, query: ChartQuery) -> str:
    key = f"{_DRAWING_CODE}|{simulation_id}|{query.model_dump_json()}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of If-None-Match against our (strong) ETag."""
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


async def current_etag(
    db: AsyncSession, *, user_id: int, simulation_id: str, query: ChartQuery
) -> str:
    """The ETag the chart would have; NotFound unless the simulation is the user's."""
    row = (
        await db.execute(
            select(Simulation.inputs["parameters"]["inflation_rate"].as_float()).where(
                Simulation.id == simulation_id, Simulation.user_id == user_id
            )
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return chart_etag(simulation_id, _effective(query, row[0]))


def portfolio_name(assets: list[dict]) -> str:
    """ "60% NSEI Index · 40% GIND10YR Index", the first few assets of a long list."""
    named = [f"{asset['weight'] * 100:.4g}% {asset['ticker']}" for asset in assets]
    if len(named) > PORTFOLIO_ASSETS_NAMED:
        hidden = len(named) - PORTFOLIO_ASSETS_NAMED + 1
        named = [*named[: PORTFOLIO_ASSETS_NAMED - 1], f"{hidden} more"]
    return " · ".join(named)


def _invested(parameters: dict, months: int, real: bool) -> np.ndarray:
    """Money put in by the start of each month (0 = start), deflated when `real`: the monthly
    contribution and the cash flows' positive parts, as total_invested counts them."""
    flows = tuple(
        CashFlow(
            flow["amount"],
            flow["frequency"],
            flow["start_month"],
            flow["end_month"],
            flow["indexed_to_inflation"],
        )
        for flow in parameters.get("cash_flows") or ()
    )
    inflation = parameters["inflation_rate"]
    contributions = float(parameters["monthly_contribution"]) + scheduled_contributions(
        flows, months, inflation
    )
    if real:
        contributions *= (1.0 + inflation) ** (-np.arange(months) / 12.0)
    return parameters["initial_investment"] + np.concatenate(([0.0], np.cumsum(contributions)))


def fan_data(inputs: dict, bands: dict, sample_paths: list, *, real: bool) -> FanData:
    """The fan chart's series from a saved run; real values divide by (1 + i) ** years."""
    parameters = inputs["parameters"]
    months = len(bands["p50"]) - 1
    deflator = (1.0 + parameters["inflation_rate"]) ** (np.arange(months + 1) / 12.0)
    scale = 1.0 / deflator if real else np.ones(months + 1)
    series = {
        p: np.asarray(bands[p], dtype=float) * scale for p in ("p5", "p25", "p50", "p75", "p95")
    }
    paths = np.asarray(sample_paths, dtype=float).reshape(-1, months + 1) * scale
    return FanData(
        portfolio=portfolio_name(inputs["assets"]),
        sample_paths=paths,
        invested=_invested(parameters, months, real),
        real=real,
        **series,
    )


def histogram_data(inputs: dict, summary: dict, histogram: dict, *, real: bool) -> HistogramData:
    """The histogram's bins and risk marks from a saved run, in nominal or today's money."""
    parameters = inputs["parameters"]
    years = parameters["time_horizon_years"]
    figures = summary["real"] if real else summary
    scale = (1.0 + parameters["inflation_rate"]) ** -years if real else 1.0
    risk = figures["risk_metrics"]
    return HistogramData(
        portfolio=portfolio_name(inputs["assets"]),
        years=years,
        edges=np.asarray(histogram["edges"], dtype=float) * scale,
        counts=np.asarray(histogram["counts"], dtype=np.int64),
        below=histogram["below"],
        above=histogram["above"],
        var_95=risk["var_95"],
        var_99=risk["var_99"],
        cvar_95=risk["cvar_95"],
        total_invested=figures["total_invested"],
        real=real,
    )


async def _load(db: AsyncSession, user_id: int, simulation_id: str, kind: str) -> dict:
    columns = (
        (Simulation.response_body,)
        if kind == "fan"
        else (Simulation.summary, Simulation.final_value_histogram)
    )
    row = (
        await db.execute(
            select(Simulation.inputs, *columns).where(
                Simulation.id == simulation_id, Simulation.user_id == user_id
            )
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    loaded = row._asdict()
    if kind == "fan":  # the bands and sample paths live in the saved response only
        results = pydantic_core.from_json(unpack(loaded.pop("response_body")))["results"]
        loaded["percentile_bands"] = results["percentile_bands"]
        loaded["sample_paths"] = results["sample_paths"][:SAMPLE_PATHS_SHOWN]
    return loaded


async def render_chart(
    db: AsyncSession,
    *,
    slots: SimulationSlots,
    user_id: int,
    simulation_id: str,
    query: ChartQuery,
) -> bytes:
    """The chart image of one of the user's simulations, drawn in a worker thread."""
    row = await _load(db, user_id, simulation_id, query.kind)
    real = _effective(query, row["inputs"]["parameters"]["inflation_rate"]).real
    size = {"width": query.width, "height": query.height, "chart_format": query.format}
    if query.kind == "fan":
        data = fan_data(row["inputs"], row["percentile_bands"], row["sample_paths"], real=real)
        return await slots.run(lambda: draw_fan(data, **size), account=user_id, path_months=0)
    if row["final_value_histogram"] is None:
        raise NotFound(NO_HISTOGRAM)
    data = histogram_data(row["inputs"], row["summary"], row["final_value_histogram"], real=real)
    return await slots.run(lambda: draw_histogram(data, **size), account=user_id, path_months=0)
