"""Usage over time, for billing and dashboards: per period (UTC hour, day, ISO week or month) the
API calls, their errors and mean time, and the simulations saved with their paths."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, Integer, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiCallLog, Simulation
from app.schemas.usage import Granularity
from app.services.errors import InvalidField

MAX_PERIODS = 1000  # rows one series may have: a year of days, six weeks of hours

_STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}


def period_start(moment: datetime, granularity: Granularity) -> datetime:
    """The start (UTC) of the period that holds `moment`: as PostgreSQL's date_trunc."""
    moment = moment.astimezone(UTC)
    if granularity == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    return day.replace(day=1)


def _next_period(start: datetime, granularity: Granularity) -> datetime:
    if granularity == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start + _STEPS[granularity]


def period_starts(since: datetime, until: datetime, granularity: Granularity) -> list[datetime]:
    """Every period that overlaps [since, until); InvalidField past MAX_PERIODS of them."""
    starts = [period_start(since, granularity)]
    while (following := _next_period(starts[-1], granularity)) < until:
        if len(starts) == MAX_PERIODS:
            raise InvalidField(
                ("query", "granularity"),
                f"At most {MAX_PERIODS} periods per series: shorten the window from since to "
                "until, or choose a coarser granularity",
            )
        starts.append(following)
    return starts


async def usage_series(
    db: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    granularity: Granularity,
    user_id: int | None = None,
) -> list[dict]:
    """One row per period of [since, until), empty periods included, oldest first.

    Only what happened inside the window counts, so the first and last periods may be partial.
    """
    starts = period_starts(since, until, granularity)
    calls = await _calls_per_period(db, since, until, granularity, user_id)
    simulations = await _simulations_per_period(db, since, until, granularity, user_id)
    rows = []
    for start in starts:
        count, errors, mean_ms = calls.get(start, (0, 0, None))
        runs, paths = simulations.get(start, (0, 0))
        rows.append(
            {
                "period_start": start,
                "calls": count,
                "errors": errors,
                "avg_execution_time_ms": None if mean_ms is None else round(float(mean_ms), 3),
                "simulations": runs,
                "paths_simulated": paths,
            }
        )
    return rows


async def _calls_per_period(
    db: AsyncSession, since: datetime, until: datetime, granularity: str, user_id: int | None
) -> dict[datetime, tuple[int, int, float | None]]:
    period = func.date_trunc(granularity, ApiCallLog.created_at, "UTC").label("period")
    window = and_(ApiCallLog.created_at >= since, ApiCallLog.created_at < until)
    if user_id is not None:
        window = and_(window, ApiCallLog.user_id == user_id)
    is_error = case((ApiCallLog.status_code >= 400, 1), else_=0)
    result = await db.execute(
        select(
            period,
            func.count(),
            cast(func.sum(is_error), Integer),
            func.avg(ApiCallLog.execution_time_ms),
        )
        .where(window)
        .group_by(period)
    )
    return {start: (count, errors, mean) for start, count, errors, mean in result}


async def _simulations_per_period(
    db: AsyncSession, since: datetime, until: datetime, granularity: str, user_id: int | None
) -> dict[datetime, tuple[int, int]]:
    period = func.date_trunc(granularity, Simulation.created_at, "UTC").label("period")
    window = and_(Simulation.created_at >= since, Simulation.created_at < until)
    if user_id is not None:
        window = and_(window, Simulation.user_id == user_id)
    # The applied path count, as saved with the run (after defaults and caps).
    paths = cast(Simulation.inputs["parameters"]["num_simulations"].astext, BigInteger)
    result = await db.execute(
        select(period, func.count(), cast(func.sum(paths), BigInteger))
        .where(window)
        .group_by(period)
    )
    return {start: (runs, total) for start, runs, total in result}
