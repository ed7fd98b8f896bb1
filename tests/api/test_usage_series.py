"""GET /api-keys/usage and /admin/usage: the series per period, as JSON or as CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.schemas.simulation import SPEC_EXAMPLE
from app.services.accounts import make_admin
from app.services.usage_series import MAX_PERIODS, period_starts
from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_usage import _seed_calls
from tests.conftest import AppClient
from tests.factories import bearer, signed_up


def _midnight(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


async def _simulate(client: AppClient, key: dict, paths: int) -> None:
    body = {**SPEC_EXAMPLE, "parameters": {**SPEC_EXAMPLE["parameters"], "num_simulations": paths}}
    response = await client.post("/api/v1/simulate", json=body, headers={"X-API-Key": key["key"]})
    assert response.status_code == 200, response.text


async def _series_of_a_busy_user(client: AppClient) -> tuple[str, dict, datetime]:
    """A user with calls on three of the last five days and two simulations today."""
    token, keys = await keys_of_new_user(client, 1)
    now = datetime.now(UTC)
    await _seed_calls(
        client,
        keys[0],
        [
            ("/api/v1/simulate", 200, 10.0, now - timedelta(days=1)),
            ("/api/v1/simulate", 422, 30.0, now - timedelta(days=1)),
            ("/api/v1/simulations", 500, 4.0, now - timedelta(days=3)),
            ("/api/v1/simulate", 200, 1.0, now - timedelta(days=9)),  # before the window
        ],
    )
    await _simulate(client, keys[0], 1000)
    await _simulate(client, keys[0], 2000)
    await client.flush_call_logs()
    return token, keys[0], now


async def test_a_day_series_counts_calls_errors_time_and_paths(client: AppClient) -> None:
    token, _, now = await _series_of_a_busy_user(client)
    _, other_keys = await keys_of_new_user(client, 1)
    await _simulate(client, other_keys[0], 500)  # someone else's usage
    since = now - timedelta(days=4)

    response = await client.get(
        "/api-keys/usage",
        params={"granularity": "day", "since": since.isoformat()},
        headers=bearer(token),
    )
    assert response.status_code == 200
    report = response.json()
    assert report["granularity"] == "day"
    series = report["series"]
    today = _midnight(now)
    assert [datetime.fromisoformat(p["period_start"]) for p in series] == [
        today - timedelta(days=days) for days in (4, 3, 2, 1, 0)
    ]
    empty = {"calls": 0, "errors": 0, "avg_execution_time_ms": None, "simulations": 0}
    assert series[0] == {**empty, "period_start": series[0]["period_start"], "paths_simulated": 0}
    assert series[1] | {"period_start": None} == {
        "period_start": None,
        "calls": 1,
        "errors": 1,
        "avg_execution_time_ms": 4.0,
        "simulations": 0,
        "paths_simulated": 0,
    }
    assert (series[2]["calls"], series[2]["paths_simulated"]) == (0, 0)
    assert (series[3]["calls"], series[3]["errors"], series[3]["avg_execution_time_ms"]) == (
        2,
        1,
        20.0,
    )
    assert (series[4]["calls"], series[4]["errors"]) == (2, 0)  # the two simulate calls
    assert series[4]["avg_execution_time_ms"] > 0
    assert (series[4]["simulations"], series[4]["paths_simulated"]) == (2, 3000)


async def test_admins_get_everyones_series(client: AppClient, db: AsyncSession) -> None:
    await _series_of_a_busy_user(client)
    _, other_keys = await keys_of_new_user(client, 1)
    await _simulate(client, other_keys[0], 500)
    await client.flush_call_logs()
    admin, tokens = await signed_up(client)
    await make_admin(db, settings=get_settings(), email=admin["email"], password=None)

    report = (
        await client.get("/admin/usage?granularity=week", headers=bearer(tokens["access_token"]))
    ).json()
    assert report["granularity"] == "week"
    assert all(datetime.fromisoformat(p["period_start"]).weekday() == 0 for p in report["series"])
    assert sum(p["paths_simulated"] for p in report["series"]) == 3500
    assert sum(p["calls"] for p in report["series"]) == 7  # 4 seeded in 30 days, 3 simulate


async def test_accept_text_csv_exports_the_same_series(client: AppClient) -> None:
    token, _, now = await _series_of_a_busy_user(client)
    params = {"since": (now - timedelta(days=4)).isoformat()}
    as_json = (await client.get("/api-keys/usage", params=params, headers=bearer(token))).json()
    response = await client.get(
        "/api-keys/usage", params=params, headers={**bearer(token), "Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="usage-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "period_start",
        "calls",
        "errors",
        "avg_execution_time_ms",
        "simulations",
        "paths_simulated",
    ]
    expected = [
        {name: "" if value is None else str(value) for name, value in period.items()}
        for period in as_json["series"]
    ]
    assert [{**row, "period_start": None} for row in rows] == [
        {**row, "period_start": None} for row in expected
    ]
    starts = [datetime.fromisoformat(row["period_start"]) for row in rows]
    assert starts == [datetime.fromisoformat(p["period_start"]) for p in as_json["series"]]


@pytest.mark.parametrize(
    ("accept", "csv_expected"),
    [
        ("text/csv", True),
        ("text/csv;q=0.9, application/json", False),
        ("application/json;q=0.5, text/csv", True),
        ("*/*", False),
        ("text/html, text/csv", True),
        ("", False),
    ],
)
async def test_json_unless_csv_is_preferred(
    client: AppClient, accept: str, csv_expected: bool
) -> None:
    _, tokens = await signed_up(client)
    response = await client.get(
        "/api-keys/usage", headers={**bearer(tokens["access_token"]), "Accept": accept}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv") is csv_expected


@pytest.mark.parametrize(
    "params",
    [
        {"granularity": "fortnight"},
        {"granularity": "hour", "since": "2026-01-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        {"granularity": "day", "since": "1970-01-01T00:00:00Z"},
    ],
)
async def test_unknown_granularities_and_too_long_series_are_422(
    client: AppClient, params: dict
) -> None:
    _, tokens = await signed_up(client)
    response = await client.get(
        "/api-keys/usage", params=params, headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "granularity"]


def test_periods_follow_the_calendar() -> None:
    def utc(*parts: int) -> datetime:
        return datetime(*parts, tzinfo=UTC)

    months = period_starts(utc(2025, 11, 15, 8), utc(2026, 2, 1), "month")
    assert months == [utc(2025, 11, 1), utc(2025, 12, 1), utc(2026, 1, 1)]
    weeks = period_starts(utc(2026, 1, 1), utc(2026, 1, 12), "week")  # Thursday to a Monday
    assert weeks == [utc(2025, 12, 29), utc(2026, 1, 5)]
    hours = period_starts(utc(2026, 1, 1, 22, 30), utc(2026, 1, 2, 0, 0, 1), "hour")
    assert hours == [utc(2026, 1, 1, 22), utc(2026, 1, 1, 23), utc(2026, 1, 2, 0)]
    days = period_starts(utc(2026, 1, 1), utc(2026, 1, 1) + timedelta(days=MAX_PERIODS), "day")
    assert len(days) == MAX_PERIODS
