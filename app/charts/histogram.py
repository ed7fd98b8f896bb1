"""Histogram of final values with VaR 95, VaR 99 and CVaR 95 marked."""

from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import MaxNLocator

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

BAR_COLOR = "#2f6db5"
MARKERS = (  # (label, field, colour, line style)
    ("VaR 95%", "var_95", "#b45309", "--"),
    ("VaR 99%", "var_99", "#b91c1c", "--"),
    ("CVaR 95%", "cvar_95", "#7c2d12", ":"),
)


@dataclass(frozen=True)
class HistogramData:
    """Counts of final values per bin (edges has one more entry than counts); paths beyond the
    edges are counted in `below` and `above`. Risk figures are in the same unit as the edges."""

    portfolio: str
    years: int
    edges: np.ndarray
    counts: np.ndarray
    below: int
    above: int
    var_95: float | None
    var_99: float | None
    cvar_95: float | None
    total_invested: float | None
    real: bool


def _title(data: HistogramData) -> str:
    money_kind = " (today's money)" if data.real else ""
    return f"Value after {data.years} years{money_kind}: {data.portfolio}"


def _description(data: HistogramData, paths: int) -> str:
    marked = ", ".join(
        f"{label} {money(getattr(data, field))}"
        for label, field, _, _ in MARKERS
        if getattr(data, field) is not None
    )
    return (
        f"Histogram of the final values of {paths:,} paths, from {money(data.edges[0])} to "
        f"{money(data.edges[-1])}. {marked}."
    )


def draw_histogram(
    data: HistogramData, *, width: int, height: int, chart_format: ChartFormat
) -> bytes:
    """The histogram as SVG or PNG bytes of `width` x `height` pixels."""
    paths = int(data.counts.sum()) + data.below + data.above
    share = 100.0 * data.counts / max(paths, 1)
    figure, axes = new_figure(width, height)
    axes.stairs(share, data.edges, fill=True, color=BAR_COLOR, alpha=0.55, lw=0)
    for label, field, color, style in MARKERS:
        value = getattr(data, field)
        if value is not None:
            axes.axvline(value, color=color, ls=style, lw=1.4, label=f"{label}: {money(value)}")
    if data.total_invested is not None:
        axes.axvline(
            data.total_invested,
            color="#111827",
            lw=1,
            label=f"total invested: {money(data.total_invested)}",
        )
    marks = [v for v in (data.var_95, data.var_99, data.cvar_95, data.total_invested) if v]
    left, right = min([data.edges[0], *marks]), max([data.edges[-1], *marks])
    pad = 0.02 * (right - left)
    axes.set_xlim(left - pad if left < data.edges[0] else left, right + pad)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=max(3, width // 140)))
    axes.set_ylim(0, max(float(share.max()), 1e-9) * 1.12)
    axes.set_xlabel("Final value")
    axes.set_ylabel("Share of paths (%)")
    money_axis(axes.xaxis)
    title = _title(data)
    set_title(figure, title)
    if data.below or data.above:
        beyond = f"not shown: {data.below:,} paths below, {data.above:,} above"
        axes.plot([], [], " ", label=beyond)
    axes.legend(loc="upper right", fontsize=legend_size(width))
    fit_layout(figure, axes)
    return encode(figure, chart_format, title=title, description=_description(data, paths))
