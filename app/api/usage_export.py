"""The usage report as JSON, or its per-period series as CSV when the client asks for text/csv."""

import csv
import io
from typing import Annotated

from fastapi import Query, Request, Response

from app.schemas.usage import Granularity, UsagePeriod, UsageReport

CSV = "text/csv"
GranularityQuery = Annotated[
    Granularity, Query(description="Length of each period of the series (UTC).")
]
# The alternative body, for the OpenAPI document.
CSV_RESPONSE = {
    200: {
        "content": {CSV: {"schema": {"type": "string"}, "example": "period_start,calls,...\n"}},
        "description": "The report as JSON; with `Accept: text/csv`, its `series` as CSV.",
    }
}


def _prefers_csv(accept: str) -> bool:
    """True when text/csv ranks above JSON in the Accept header (q values, then order)."""
    ranked = []
    for position, part in enumerate(accept.split(",")):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, media_type.lower()))
    for quality, _, media_type in sorted(ranked):
        if quality < 0 and media_type in (CSV, "application/json", "*/*", "application/*"):
            return media_type == CSV
    return False


def usage_csv(report: UsageReport) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(UsagePeriod.model_fields), lineterminator="\n")
    writer.writeheader()
    for period in report.series:
        writer.writerow(period.model_dump(mode="json"))
    return buffer.getvalue()


def usage_response(request: Request, report: UsageReport) -> UsageReport | Response:
    if not _prefers_csv(request.headers.get("accept", "")):
        return report
    name = f"usage-{report.since:%Y%m%d}-{report.until:%Y%m%d}-{report.granularity}.csv"
    return Response(
        usage_csv(report),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
