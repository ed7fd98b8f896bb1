"""Fan chart: the value over time as percentile bands, the median, a few paths, the money in."""

from dataclasses import dataclass

import numpy as np

from app.charts.canvas import (
    ChartFormat,
    encode,
    fit_layout,
    legend_size,
    money,
    money_axis,
    new_figure,
    set_title,
)

BAND_COLOR = "#2f6db5"
PATH_COLOR = "#5b6675"
INVESTED_COLOR = "#c2410c"


@dataclass(frozen=True)
class FanData:
    """Per month (0 = start): the 5/25/50/75/95th percentile values, sample paths (k x months+1),
    and the total invested so far, in one currency unit (nominal or today's money)."""

    portfolio: str
    p5: np.ndarray
    p25: np.ndarray
    p50: np.ndarray
    p75: np.ndarray
    p95: np.ndarray
    sample_paths: np.ndarray
    invested: np.ndarray
    real: bool


def _title(data: FanData) -> str:
    money_kind = " (today's money)" if data.real else ""
    return f"Portfolio value{money_kind}: {data.portfolio}"


def _description(data: FanData, years: float) -> str:
    return (
        f"Fan chart over {years:g} years. Final value: median {money(data.p50[-1])}, "
        f"50% of paths between {money(data.p25[-1])} and {money(data.p75[-1])}, "
        f"90% between {money(data.p5[-1])} and {money(data.p95[-1])}; "
        f"total invested {money(data.invested[-1])}."
    )


def draw_fan(data: FanData, *, width: int, height: int, chart_format: ChartFormat) -> bytes:
    """The fan chart as SVG or PNG bytes of `width` x `height` pixels."""
    years = np.arange(data.p50.shape[0]) / 12.0
    figure, axes = new_figure(width, height)
    axes.fill_between(years, data.p5, data.p95, color=BAND_COLOR, alpha=0.16, lw=0, label="5-95%")
    axes.fill_between(years, data.p25, data.p75, color=BAND_COLOR, alpha=0.32, lw=0, label="25-75%")
    for index, path in enumerate(data.sample_paths):
        axes.plot(
            years,
            path,
            color=PATH_COLOR,
            lw=0.6,
            alpha=0.7,
            label="sample paths" if index == 0 else None,
        )
    axes.plot(years, data.p50, color=BAND_COLOR, lw=2, label="median")
    axes.plot(years, data.invested, color=INVESTED_COLOR, lw=1.3, ls="--", label="total invested")

    top = max(float(data.p95.max()), float(data.invested.max()), 1.0)
    axes.set_ylim(min(0.0, float(data.invested.min())), top * 1.08)
    axes.set_xlim(0, years[-1])
    axes.set_xlabel("Years")
    axes.set_ylabel("Value")
    money_axis(axes.yaxis)
    title = _title(data)
    set_title(figure, title)
    axes.legend(loc="upper left", fontsize=legend_size(width), ncols=2 if height < 360 else 1)
    fit_layout(figure, axes)
    return encode(figure, chart_format, title=title, description=_description(data, years[-1]))
