"""The chart data a saved run turns into: money invested, today's money, names, ETags."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from app.charts import fan
from app.charts.fan import FanData, draw_fan
from app.schemas.chart import ChartQuery
from app.services.charts import chart_etag, etag_matches, fan_data, portfolio_name


def saved_inputs(inflation_rate: float, contribution: float = 100.0) -> dict:
    return {
        "parameters": {
            "initial_investment": 1000.0,
            "monthly_contribution": contribution,
            "time_horizon_years": 2,
            "inflation_rate": inflation_rate,
        },
        "assets": [{"ticker": "A", "weight": 0.5}, {"ticker": "B", "weight": 0.5}],
    }


def bands(months: int = 24) -> dict:
    line = np.linspace(1000.0, 4000.0, months + 1)
    return {f"p{p}": (line * p / 50).tolist() for p in (5, 25, 50, 75, 95)}


def test_money_invested_grows_by_each_contribution() -> None:
    data = fan_data(saved_inputs(0.0), bands(), [], real=False)
    assert data.invested[0] == 1000.0 and data.invested[1] == 1100.0
    assert data.invested[-1] == 1000.0 + 24 * 100.0
    assert data.sample_paths.shape == (0, 25)


def test_today_s_money_deflates_each_month_by_its_own_time() -> None:
    inflation = 0.06
    nominal = fan_data(saved_inputs(inflation), bands(), [bands()["p50"]], real=False)
    real = fan_data(saved_inputs(inflation), bands(), [bands()["p50"]], real=True)
    deflator = (1 + inflation) ** (np.arange(25) / 12)
    np.testing.assert_allclose(real.p50, nominal.p50 / deflator)
    np.testing.assert_allclose(real.sample_paths[0], nominal.sample_paths[0] / deflator)
    # The engine's closed form for the final month: initial + sum_k c (1 + i) ** (-k / 12).
    expected = 1000.0 + sum(100.0 * (1 + inflation) ** (-k / 12) for k in range(24))
    assert real.invested[-1] == pytest.approx(expected)


def test_withdrawals_lower_the_money_invested() -> None:
    data = fan_data(saved_inputs(0.0, contribution=-50.0), bands(), [], real=False)
    assert data.invested[-1] == 1000.0 - 24 * 50.0


def test_a_long_portfolio_names_its_first_assets_and_counts_the_rest() -> None:
    assets = [{"ticker": f"T{n}", "weight": 0.1} for n in range(10)]
    assert portfolio_name(assets) == "10% T0 · 10% T1 · 10% T2 · 7 more"
    assert portfolio_name([{"ticker": "X", "weight": 1 / 3}]) == "33.33% X"


def test_etags_differ_by_any_part_of_the_query() -> None:
    base = ChartQuery()
    tags = {
        chart_etag("sim_000000000001", query)
        for query in (
            base,
            base.model_copy(update={"kind": "histogram"}),
            base.model_copy(update={"format": "png"}),
            base.model_copy(update={"real": True}),
            base.model_copy(update={"width": 801}),
            base.model_copy(update={"height": 481}),
        )
    }
    tags.add(chart_etag("sim_000000000002", base))
    assert len(tags) == 7


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        ('"a"', True),
        ('W/"a"', True),
        ('"b", "a"', True),
        ("*", True),
        ('"b"', False),
        ("a", False),
    ],
)
def test_if_none_match_uses_weak_comparison(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"a"') is matches


def drawn_fan_figure(monkeypatch: pytest.MonkeyPatch, data: FanData, width: int = 800) -> Figure:
    """The figure draw_fan builds, taken where it would be encoded, with its layout computed."""
    drawn = []
    monkeypatch.setattr(fan, "encode", lambda figure, *_, **__: drawn.append(figure) or b"")
    draw_fan(data, width=width, height=480, chart_format="svg")
    [figure] = drawn
    figure.canvas.draw()
    return figure


def test_the_fan_chart_draws_bands_median_paths_and_the_money_invested_dashed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    line = np.linspace(1_000_000.0, 9_000_000.0, 121)
    data = FanData(
        portfolio="60% A · 40% B",
        p5=line * 0.7,
        p25=line * 0.85,
        p50=line,
        p75=line * 1.2,
        p95=line * 1.5,
        sample_paths=np.vstack([line * 0.9, line * 1.1, line * 1.05]),
        invested=np.linspace(1_000_000.0, 7_000_000.0, 121),
        real=False,
    )
    figure = drawn_fan_figure(monkeypatch, data)
    [axes] = figure.axes
    assert len(axes.collections) == 2  # p5-p95 and p25-p75, shaded
    lines = {line.get_label(): line for line in axes.lines}
    np.testing.assert_array_equal(lines["median"].get_ydata(), data.p50)
    invested = lines["total invested"]
    assert invested.get_linestyle() == "--"
    np.testing.assert_array_equal(invested.get_ydata(), data.invested)
    thin = [line for line in axes.lines if line.get_linewidth() < 1.0]
    assert len(thin) == 3  # one thin line per sample path
    assert axes.get_xlabel() == "Years" and axes.get_xlim() == (0.0, 10.0)
    ticks = [label.get_text() for label in axes.get_yticklabels() if label.get_text()]
    assert any("," in tick for tick in ticks), ticks  # thousands separators
    assert any("60% A · 40% B" in text.get_text() for text in figure.findobj(Text))  # the title


@pytest.mark.parametrize("width", [320, 333, 480, 1001])
@pytest.mark.parametrize(
    "portfolio", ["WWMM " * 30, "60% SPY · 30% AGG · 10% GLD · " * 4, "il" * 80]
)
def test_the_title_stays_inside_the_figure_cut_with_an_ellipsis(
    monkeypatch: pytest.MonkeyPatch, width: int, portfolio: str
) -> None:
    line = np.linspace(1000.0, 2000.0, 13)
    data = FanData(
        portfolio=portfolio,
        **{f"p{p}": line * p / 50 for p in (5, 25, 50, 75, 95)},
        sample_paths=line[None, :],
        invested=line,
        real=True,
    )
    figure = drawn_fan_figure(monkeypatch, data, width=width)
    renderer = FigureCanvasAgg(figure).get_renderer()
    [title] = [text for text in figure.texts if "Portfolio value" in text.get_text()]
    extent = title.get_window_extent(renderer)
    assert extent.x0 >= 0 and extent.x1 <= width, (extent, title.get_text())
    assert title.get_text().endswith("…")
    assert width - extent.x1 < 0.25 * width  # cut where the room ends, not far before it


def test_money_invested_counts_the_cash_flows_that_add_not_those_that_withdraw() -> None:
    inputs = saved_inputs(0.0, contribution=0.0)
    inputs["parameters"]["cash_flows"] = [
        {
            "amount": 500.0,
            "frequency": "quarterly",
            "start_month": 2,
            "end_month": None,
            "indexed_to_inflation": False,
            "label": None,
        },
        {
            "amount": -300.0,
            "frequency": "monthly",
            "start_month": 1,
            "end_month": 24,
            "indexed_to_inflation": False,
            "label": "rent",
        },
    ]
    data = fan_data(inputs, bands(), [], real=False)
    # Month m's flow is in by the start of month m, so invested[m] includes months 1..m.
    assert data.invested[1] == 1000.0 and data.invested[2] == 1500.0
    assert data.invested[5] == 2000.0  # months 2 and 5
    assert data.invested[-1] == 1000.0 + 8 * 500.0  # months 2, 5, ..., 23
