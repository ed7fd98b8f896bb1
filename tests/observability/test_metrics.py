"""GET /metrics: who may read it, and that each series moves when its event happens."""

import asyncio
import re
import socket
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.config import PROJECT_ROOT
from app.observability.metrics import observe_pool
from app.schemas.simulation import SPEC_EXAMPLE
from app.services.capacity import SimulationSlots
from app.services.errors import Unavailable
from app.services.usage import ApiCall, CallLogWriter
from tests.api.test_api_keys import keys_of_new_user
from tests.conftest import AppClient, ClientFactory
from tests.factories import bearer, fail_login, register
from tests.observability.scrape import sample, scrape, series_names


async def test_remote_clients_get_404_without_a_token(client: AppClient) -> None:
    await scrape(client)  # loopback
    for address in ("203.0.113.7", "10.0.0.8", "::ffff:198.51.100.1"):
        response = await client.from_address(address).get("/metrics")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found"}


async def test_with_a_token_only_its_bearer_reads_from_anywhere(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(METRICS_TOKEN="s3cret-scrape-token")
    remote = client.from_address("203.0.113.7")
    for headers in ({}, bearer("wrong"), {"Authorization": "Basic s3cret-scrape-token"}):
        for caller in (client, remote):
            response = await caller.get("/metrics", headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
    assert "mc_http_requests_total" in await scrape(remote, **bearer("s3cret-scrape-token"))


async def test_requests_are_counted_by_route_template_method_and_status(
    client: AppClient,
) -> None:
    before = await scrape(client)
    for _ in range(2):
        assert (await client.get("/simulations/sim_00000000abcd")).status_code == 401
    assert (await client.get("/no/such/page")).status_code == 404
    assert (await client.request("BREW", "/api/v1/simulate")).status_code == 405
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    detail = {"route": "/simulations/{simulation_id}", "method": "GET", "status": "401"}
    assert delta("mc_http_requests_total", **detail) == 2
    assert delta("mc_http_request_duration_seconds_count", **detail) == 2
    assert delta("mc_http_request_duration_seconds_bucket", le="+Inf", **detail) == 2
    assert delta("mc_http_requests_total", route="(unrouted)", method="GET", status="404") == 1
    assert delta("mc_http_requests_total", method="OTHER", status="405") == 1
    assert "/no/such/page" not in after and "BREW" not in after


async def test_a_simulation_counts_its_paths_duration_and_frees_its_slot(
    client_factory: ClientFactory,
) -> None:
    client = await client_factory(SIMULATION_MAX_CONCURRENCY=3)
    _, keys = await keys_of_new_user(client, 2)
    body = {**SPEC_EXAMPLE, "parameters": {**SPEC_EXAMPLE["parameters"], "num_simulations": 2000}}
    before = await scrape(client)
    response = await client.post(
        "/api/v1/simulate", json=body, headers={"X-API-Key": keys[0]["key"]}
    )
    assert response.status_code == 200, response.text
    after = await scrape(client)

    assert sample(after, "mc_simulations_total") - sample(before, "mc_simulations_total") == 1
    paths = sample(after, "mc_simulation_paths_total") - sample(before, "mc_simulation_paths_total")
    assert paths == 2000
    engine_seconds = sample(after, "mc_simulation_duration_seconds_sum") - sample(
        before, "mc_simulation_duration_seconds_sum"
    )
    assert engine_seconds == pytest.approx(response.json()["execution_time_seconds"], abs=1e-5)
    assert sample(after, "mc_slots", work="simulation") == 3
    assert sample(after, "mc_slots_in_use", work="simulation") == 0


async def test_busy_slots_show_in_use_and_count_the_503s() -> None:
    slots = SimulationSlots(1, 0)
    running, release = threading.Event(), threading.Event()

    def hold_the_slot() -> bool:
        running.set()
        return release.wait(10)

    first = asyncio.create_task(slots.run(hold_the_slot, account=1, path_months=1))
    assert await asyncio.to_thread(running.wait, 10)
    busy_before = _registry_value("mc_slots_busy_total", work="simulation")
    with pytest.raises(Unavailable):
        await slots.run(lambda: None, account=2, path_months=1)
    assert _registry_value("mc_slots_busy_total", work="simulation") == busy_before + 1
    assert sample_in_use() == 1
    release.set()
    assert await first is True
    assert sample_in_use() == 0


async def test_failed_logins_and_lockouts_are_counted(client_factory: ClientFactory) -> None:
    client = await client_factory(LOCKOUT_THRESHOLD=2)
    user = await register(client)
    before = await scrape(client)
    assert (await fail_login(client, user["email"])).status_code == 401
    assert (await fail_login(client, user["email"])).status_code == 423  # this one locks
    assert (await fail_login(client, user["email"])).status_code == 423  # refused, locked
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("mc_login_failures_total", reason="bad_credentials") == 2
    assert delta("mc_login_failures_total", reason="locked") == 1
    assert delta("mc_account_lockouts_total") == 1


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_call_logs_waiting_for_a_down_database_are_visible() -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{_unused_port()}/none")
    writer = CallLogWriter(async_sessionmaker(engine))
    failures_before = _registry_value("mc_call_log_flush_failures_total")
    lost_before = _registry_value("mc_call_log_dropped_rows_total", reason="shutdown")
    for _ in range(3):
        writer.record(ApiCall("/api/v1/simulate", "POST", 200, 1.0, datetime.now(UTC), 1, 1))
    assert _registry_value("mc_call_log_pending_rows") == 3
    await writer.flush()
    assert _registry_value("mc_call_log_pending_rows") == 3  # kept for the next attempt
    assert _registry_value("mc_call_log_flush_failures_total") == failures_before + 1
    await writer.close()
    assert _registry_value("mc_call_log_dropped_rows_total", reason="shutdown") == lost_before + 3
    await engine.dispose()


async def test_connections_checked_out_of_the_pool(client: AppClient) -> None:
    engine = client.app.state.database.engine
    idle = sample(await scrape(client), "mc_db_pool_checked_out_connections")
    async with engine.connect(), engine.connect():
        assert sample(await scrape(client), "mc_db_pool_checked_out_connections") == idle + 2
    assert sample(await scrape(client), "mc_db_pool_checked_out_connections") == idle


async def test_the_readme_lists_every_series(client: AppClient) -> None:
    exposed = {name for name in series_names(await scrape(client)) if name.startswith("mc_")}
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n## Metrics and traces", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"^\| `(mc_\w+)`", section, re.MULTILINE)) == exposed


async def test_failed_connections_never_count_as_checked_out() -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{_unused_port()}/none")
    observe_pool(engine)
    for _ in range(3):
        with pytest.raises(OSError):
            async with engine.connect():
                pass
    assert _registry_value("mc_db_pool_checked_out_connections") == 0
    await engine.dispose()


def _registry_value(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def sample_in_use() -> float:
    return _registry_value("mc_slots_in_use", work="simulation")
