"""GET /api/v1/simulations/{id}/chart (X-API-Key) and /simulations/{id}/chart (JWT)."""

import asyncio
import io
import re
import threading
from xml.etree import ElementTree

import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.charts.canvas import money
from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import example, simulate
from tests.conftest import AppClient, ClientFactory
from tests.factories import bearer

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


async def saved_run(client: AppClient, **parameters: object) -> tuple[dict, str, dict]:
    """The API-key headers and JWT of a new user, and one simulation of theirs."""
    token, keys = await keys_of_new_user(client, 2)
    headers = {"X-API-Key": keys[0]["key"]}
    run = await simulate(client, headers, example(num_simulations=2000, seed=11, **parameters))
    assert run.status_code == 200, run.text
    return headers, token, run.json()


@pytest.fixture
async def run(client: AppClient) -> tuple[AppClient, dict, str, dict]:
    return client, *await saved_run(client)


def chart_path(simulation: dict, prefix: str = "/api/v1") -> str:
    return f"{prefix}/simulations/{simulation['simulation_id']}/chart"


def parse_svg(content: bytes) -> ElementTree.Element:
    assert b"<!DOCTYPE" not in content and b"<!ENTITY" not in content
    return ElementTree.fromstring(content)  # noqa: S314 (our own output, no entities)


def description(content: bytes) -> str:
    return parse_svg(content).find(f"{SVG}desc").text


async def test_fan_chart_is_valid_svg_with_a_title_naming_the_portfolio(run) -> None:
    client, headers, _, simulation = run
    response = await client.get(chart_path(simulation), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    root = parse_svg(response.content)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == ("800", "480")
    title = root.find(f"{SVG}title").text
    assert "60% NSEI Index" in title and "40% GIND10YR Index" in title
    p50 = simulation["results"]["percentile_bands"]["p50"][-1]
    assert f"median {money(p50)}" in description(response.content)
    assert "total invested 7,000,000" in description(response.content)
    assert response.headers["content-disposition"].endswith('-fan.svg"')


async def test_svg_refers_to_nothing_outside_itself(run) -> None:
    client, headers, _, simulation = run
    for kind in ("fan", "histogram"):
        content = (
            await client.get(chart_path(simulation), params={"kind": kind}, headers=headers)
        ).content
        for element in parse_svg(content).iter():
            for name, value in element.attrib.items():
                if name in ("href", XLINK_HREF):
                    assert value.startswith("#"), (name, value)
                assert not re.search(r"url\((?!#)", value), value
            assert element.tag.split("}")[-1] not in ("script", "image", "foreignObject")


@pytest.mark.parametrize(("width", "height"), [(320, 200), (333, 247), (1001, 599), (2400, 1600)])
async def test_png_is_a_valid_image_of_the_asked_size(run, width: int, height: int) -> None:
    client, headers, _, simulation = run
    params = {"format": "png", "width": width, "height": height, "kind": "histogram"}
    response = await client.get(chart_path(simulation), params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.verify()
    assert image.format == "PNG" and image.size == (width, height)


async def test_same_chart_same_bytes_same_etag_and_304_when_current(run) -> None:
    client, headers, _, simulation = run
    first = await client.get(chart_path(simulation), params={"format": "png"}, headers=headers)
    again = await client.get(chart_path(simulation), params={"format": "png"}, headers=headers)
    assert first.content == again.content
    etag = first.headers["etag"]
    assert etag == again.headers["etag"] and re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["cache-control"] == "private, max-age=3600"
    assert "Authorization" in first.headers["vary"]

    for presented in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = await client.get(
            chart_path(simulation),
            params={"format": "png"},
            headers={**headers, "If-None-Match": presented},
        )
        assert cached.status_code == 304, presented
        assert cached.content == b"" and cached.headers["etag"] == etag
        assert cached.headers["cache-control"] == "private, max-age=3600"
    stale = await client.get(
        chart_path(simulation),
        params={"format": "png"},
        headers={**headers, "If-None-Match": '"x"'},
    )
    assert stale.status_code == 200 and stale.content == first.content

    other_size = await client.get(
        chart_path(simulation), params={"format": "png", "width": 640}, headers=headers
    )
    assert other_size.headers["etag"] != etag


async def test_the_dashboard_route_takes_a_jwt_and_draws_the_same_chart(run) -> None:
    client, headers, token, simulation = run
    with_key = await client.get(chart_path(simulation), headers=headers)
    with_jwt = await client.get(chart_path(simulation, prefix=""), headers=bearer(token))
    assert with_jwt.status_code == 200, with_jwt.text
    assert with_jwt.content == with_key.content
    assert with_jwt.headers["etag"] == with_key.headers["etag"]
    assert (await client.get(chart_path(simulation, prefix=""), headers=headers)).status_code == 401
    assert (await client.get(chart_path(simulation), headers=bearer(token))).status_code == 401


async def test_another_accounts_simulation_is_404(run) -> None:
    client, _, _, simulation = run
    other_token, other_keys = await keys_of_new_user(client, 2)
    other = {"X-API-Key": other_keys[0]["key"]}
    for path, auth in (
        (chart_path(simulation), other),
        (chart_path(simulation, ""), bearer(other_token)),
    ):
        response = await client.get(path, headers={**auth, "If-None-Match": "*"})
        assert response.status_code == 404
        assert response.json() == {"detail": "Simulation not found"}
    missing = await client.get("/api/v1/simulations/sim_000000000000/chart", headers=other)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "pie"},
        {"format": "gif"},
        {"real": "maybe"},
        {"width": 10},
        {"width": 100_000},
        {"height": "tall"},
        {"height": 1601},
        {"colour": "red"},
    ],
)
async def test_bad_query_values_are_422(run, params: dict) -> None:
    client, headers, _, simulation = run
    response = await client.get(chart_path(simulation), params=params, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


async def test_histogram_marks_the_run_s_var_and_cvar(run) -> None:
    client, headers, _, simulation = run
    response = await client.get(
        chart_path(simulation), params={"kind": "histogram"}, headers=headers
    )
    assert response.status_code == 200, response.text
    risk = simulation["results"]["risk_metrics"]
    text_of_chart = description(response.content)
    assert "final values of 2,000 paths" in text_of_chart
    for label, field in (("VaR 95%", "var_95"), ("VaR 99%", "var_99"), ("CVaR 95%", "cvar_95")):
        assert f"{label} {money(risk[field])}" in text_of_chart
    title = parse_svg(response.content).find(f"{SVG}title").text
    assert title.startswith("Value after 10 years")


async def test_real_charts_are_in_today_s_money(client: AppClient) -> None:
    headers, _, simulation = await saved_run(client, inflation_rate=0.05)
    real_risk = simulation["results"]["real"]["risk_metrics"]
    histogram = await client.get(
        chart_path(simulation), params={"kind": "histogram", "real": "true"}, headers=headers
    )
    assert f"VaR 95% {money(real_risk['var_95'])}" in description(histogram.content)
    assert "today's money" in parse_svg(histogram.content).find(f"{SVG}title").text

    fan = await client.get(chart_path(simulation), params={"real": "true"}, headers=headers)
    p50 = simulation["results"]["percentile_bands"]["p50"][-1]
    assert f"median {money(p50 / 1.05**10)}" in description(fan.content)
    nominal = await client.get(chart_path(simulation), headers=headers)
    assert nominal.headers["etag"] != fan.headers["etag"]


async def test_real_is_nominal_without_an_inflation_rate(run) -> None:
    client, headers, _, simulation = run
    nominal = await client.get(chart_path(simulation), headers=headers)
    real = await client.get(chart_path(simulation), params={"real": "true"}, headers=headers)
    assert real.content == nominal.content and real.headers["etag"] == nominal.headers["etag"]


async def test_a_run_saved_without_a_histogram_explains_why(run, db: AsyncSession) -> None:
    client, headers, _, simulation = run
    await db.execute(
        text("UPDATE simulations SET final_value_histogram = NULL WHERE id = :id"),
        {"id": simulation["simulation_id"]},
    )
    await db.commit()
    response = await client.get(
        chart_path(simulation), params={"kind": "histogram"}, headers=headers
    )
    assert response.status_code == 404
    assert "run it again" in response.json()["detail"]
    assert (await client.get(chart_path(simulation), headers=headers)).status_code == 200


async def test_rendering_waits_for_a_slot_off_the_event_loop_then_answers_503(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(CHART_MAX_CONCURRENCY=1, CHART_QUEUE_SECONDS=0.2)
    headers, _, simulation = await saved_run(client)
    release = threading.Event()
    holder = asyncio.create_task(
        client.app.state.chart_slots.run(release.wait, 10, account=0, path_months=0)
    )
    await asyncio.sleep(0.05)
    try:
        busy = await client.get(chart_path(simulation), headers=headers)
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert busy.json() == {
            "detail": "All chart rendering slots you may use are busy; retry shortly"
        }
        assert (await client.get("/health")).status_code == 200
    finally:
        release.set()
        await holder
    assert (await client.get(chart_path(simulation), headers=headers)).status_code == 200
