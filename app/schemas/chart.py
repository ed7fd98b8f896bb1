"""Query of a chart image: which picture, in which format, money, and size."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ChartKind = Literal["fan", "histogram"]
MIN_WIDTH, MAX_WIDTH = 320, 2400
MIN_HEIGHT, MAX_HEIGHT = 200, 1600


class ChartQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ChartKind = Field(
        "fan",
        description="fan: the value over time (percentile bands, median, sample paths, money "
        "invested); histogram: final values with VaR 95/99 and CVaR 95 marked.",
    )
    format: Literal["svg", "png"] = Field("svg", description="SVG (scalable, with a title) or PNG.")
    real: bool = Field(
        False,
        description="In today's money (deflated by the run's inflation_rate); with no inflation "
        "rate, real = nominal.",
    )
    width: int = Field(800, ge=MIN_WIDTH, le=MAX_WIDTH, description="Pixels.")
    height: int = Field(480, ge=MIN_HEIGHT, le=MAX_HEIGHT, description="Pixels.")
