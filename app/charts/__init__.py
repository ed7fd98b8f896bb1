"""Chart images drawn with matplotlib's object API (no pyplot, no global figure state).

Pure functions of plain data: no I/O, nothing from FastAPI, SQLAlchemy or the settings. The same
data and size give the same bytes, so a chart can be cached by what it was drawn from.
"""

from functools import cache

import numpy as np

from app.charts.canvas import MEDIA_TYPES, SVG_CONTENT_SECURITY_POLICY, ChartFormat
from app.charts.fan import FanData, draw_fan
from app.charts.histogram import HistogramData, draw_histogram


@cache
def warm_up() -> None:
    """Load fonts and backends with one small chart of each kind and format (once a process)."""
    line = np.linspace(1.0, 2.0, 13)
    fan = FanData(
        portfolio="warm-up",
        **{f"p{p}": line * p / 50 for p in (5, 25, 50, 75, 95)},
        sample_paths=line[None, :],
        invested=line,
        real=False,
    )
    histogram = HistogramData(
        portfolio="warm-up",
        years=1,
        edges=line[:5],
        counts=np.ones(4, dtype=np.int64),
        below=0,
        above=0,
        var_95=1.1,
        var_99=1.05,
        cvar_95=1.0,
        total_invested=1.2,
        real=False,
    )
    for chart_format in ("svg", "png"):
        draw_fan(fan, width=320, height=200, chart_format=chart_format)
        draw_histogram(histogram, width=320, height=200, chart_format=chart_format)


__all__ = [
    "MEDIA_TYPES",
    "SVG_CONTENT_SECURITY_POLICY",
    "ChartFormat",
    "FanData",
    "HistogramData",
    "draw_fan",
    "draw_histogram",
    "warm_up",
]
