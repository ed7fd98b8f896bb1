"""A figure of an exact pixel size, money axes, and deterministic SVG and PNG output.

Determinism: a fixed SVG hash salt (element ids), no date or software metadata, glyphs drawn as
paths from the fonts matplotlib ships (no dependency on the viewer's fonts). The SVG has no
DOCTYPE (its DTD address would be an external reference) and no RDF metadata block.
"""

import io
import re
from typing import Literal
from xml.sax.saxutils import escape

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FuncFormatter

ChartFormat = Literal["svg", "png"]
# An SVG opened on its own is a document: no script, no fetches, only its own inline styles.
MEDIA_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}
DPI = 100
SVG_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
TITLE_SIZE = 10  # points, bold
TITLE_MARGIN = 8  # pixels from the top-left corner, and kept free on the right

# Process-wide constants, set once: rc_context() would be shared state across render threads.
mpl.rcParams.update(
    {
        "svg.hashsalt": "monte-carlo-chart",
        "svg.fonttype": "path",
        "text.parse_math": False,  # a ticker such as "$SPX" is text, not mathtext
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#d9dde3",
        "grid.linewidth": 0.6,
        "legend.frameon": True,
        "legend.framealpha": 0.85,
        "legend.edgecolor": "none",
    }
)

_SVG_PROLOG = re.compile(r"<!DOCTYPE[^>]*>\s*", re.DOTALL)
_SVG_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_SVG_SIZE = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*"')


def new_figure(width: int, height: int) -> tuple[Figure, Axes]:
    """A figure of `width` x `height` pixels with one axes."""
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    axes = figure.add_subplot()
    return figure, axes


def money(value: float, _position: object = None) -> str:
    """12,345,678 (whole units, thousands separators)."""
    return f"{value:,.0f}"


def money_axis(axis: object) -> None:
    axis.set_major_formatter(FuncFormatter(money))  # type: ignore[attr-defined]


def legend_size(width: int) -> float:
    return 8.0 if width >= 560 else 6.5


def _text_width(text: str, font: FontProperties) -> float:
    """The width of one line of text in pixels as Agg draws it: its hinting makes narrow glyphs
    wider than their outlines (the SVG's paths), so this bound holds for both formats."""
    width, _height, _descent = RendererAgg(1, 1, DPI).get_text_width_height_descent(
        text, font, ismath=False
    )
    return width


def set_title(figure: Figure, title: str) -> None:
    """A one-line title at the top left, cut with an ellipsis where the figure is too narrow."""
    width, height = figure.get_size_inches() * DPI
    font = FontProperties(family=mpl.rcParams["font.family"], size=TITLE_SIZE, weight="bold")
    room = width - 2 * TITLE_MARGIN
    shown = title
    if _text_width(title, font) > room:
        fitting, too_long = 0, len(title)  # the longest prefix that fits with its ellipsis
        while too_long - fitting > 1:
            middle = (fitting + too_long) // 2
            if _text_width(title[:middle].rstrip() + "…", font) <= room:
                fitting = middle
            else:
                too_long = middle
        shown = title[: max(fitting, 1)].rstrip() + "…"
    figure.text(
        TITLE_MARGIN / width,
        1 - TITLE_MARGIN / height,
        shown,
        ha="left",
        va="top",
        fontproperties=font,
    )


def fit_layout(figure: Figure, axes: Axes) -> None:
    """Margins and axis label places in pixels, sized to the y tick labels: a layout engine, or
    matplotlib placing the labels itself, measures every tick label and doubles the time."""
    width, height = figure.get_size_inches() * DPI
    labels = axes.yaxis.get_major_formatter().format_ticks(axes.get_yticks())
    widest = max((len(label) for label in labels), default=6)
    left, right, top, bottom = 36 + 7.6 * widest, 16, 34, 46  # about 8 px a digit at 9 pt
    figure.subplots_adjust(
        left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height
    )
    axes.yaxis.set_label_coords(-(left - 6) / (width - left - right), 0.5)
    axes.yaxis.label.set_verticalalignment("top")
    axes.xaxis.set_label_coords(0.5, -(bottom - 6) / (height - top - bottom))
    axes.xaxis.label.set_verticalalignment("bottom")


def _svg(figure: Figure, title: str, description: str) -> bytes:
    buffer = io.StringIO()
    FigureCanvasSVG(figure).print_svg(
        buffer,
        metadata={"Title": title, "Date": None, "Creator": None, "Format": None, "Type": None},
    )
    svg = _SVG_PROLOG.sub("", buffer.getvalue(), count=1)
    svg = _SVG_METADATA.sub("", svg, count=1)
    # The asked size in CSS pixels (matplotlib writes points); the viewBox keeps the drawing.
    width, height = (round(v) for v in figure.get_size_inches() * DPI)
    svg = _SVG_SIZE.sub(rf'<svg\1 width="{width}" height="{height}" role="img"', svg, count=1)
    svg = svg.replace("</title>", f"</title>\n <desc>{escape(description)}</desc>", 1)
    return svg.encode()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


def encode(figure: Figure, chart_format: ChartFormat, *, title: str, description: str) -> bytes:
    """The figure as SVG (with <title> and <desc> for screen readers) or PNG bytes."""
    if chart_format == "svg":
        return _svg(figure, title, description)
    return _png(figure)
