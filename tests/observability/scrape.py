"""Reading /metrics the way Prometheus does: parsed by prometheus-client's own parser."""

import httpx
from prometheus_client.parser import text_string_to_metric_families


def sample(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples `name` whose labels include `labels` (0 if none), as PromQL sums."""
    return sum(
        found.value
        for family in text_string_to_metric_families(exposition)
        for found in family.samples
        if found.name == name and labels.items() <= found.labels.items()
    )


def series_names(exposition: str) -> set[str]:
    """Each metric's name as written in queries: counters with their `_total`."""
    return {
        family.name + ("_total" if family.type == "counter" else "")
        for family in text_string_to_metric_families(exposition)
    }


async def scrape(client: httpx.AsyncClient, **headers: str) -> str:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text
