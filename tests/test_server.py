"""The served HTTP layer (`python -m app serve`) against slow and hostile clients, over raw
sockets: header size limit, header and body read timeouts, a connection cap, many idle
connections, X-Forwarded-For trusted only from FORWARDED_ALLOW_IPS; and a graceful SIGTERM."""

import asyncio
import contextlib
import json
import signal
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import ApiCallLog
from tests.api.test_api_keys import keys_of_new_user
from tests.api.test_simulation import example
from tests.serving import (
    ServedApp,
    body_of,
    idle_sockets,
    open_socket,
    read_until_closed,
    status_of,
)

LOGIN_LIMIT = 3
SEND_BUFFER_BYTES = 65536


@pytest.fixture(scope="module")
def servers(engine: AsyncEngine, database_url: str, tmp_path_factory) -> Iterator[dict]:
    """Two servers, started at once (each takes seconds to load the engine): `served` with the
    default HTTP limits and no trusted proxy; `strict` with short read timeouts, a small
    connection cap and a trusted local proxy. The last test of this module shuts `strict` down."""
    login_limit = f"{LOGIN_LIMIT}/minute"
    started = {
        "served": ServedApp(
            database_url, tmp_path_factory.mktemp("served"), LOGIN_RATE_LIMIT=login_limit
        ),
        "strict": ServedApp(
            database_url,
            tmp_path_factory.mktemp("strict"),
            HEADER_READ_TIMEOUT_SECONDS="1",
            BODY_READ_TIMEOUT_SECONDS="1",
            MAX_CONNECTIONS_PER_WORKER="20",
            FORWARDED_ALLOW_IPS="127.0.0.1",
            LOGIN_RATE_LIMIT=login_limit,
        ),
    }
    try:
        yield {name: server.ready() for name, server in started.items()}
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def served(servers: dict) -> ServedApp:
    return servers["served"]


@pytest.fixture(scope="module")
def strict(servers: dict) -> ServedApp:
    return servers["strict"]


def health_request(*extra_headers: bytes) -> bytes:
    return b"\r\n".join([b"GET /health HTTP/1.1", b"Host: test", *extra_headers, b"", b""])


async def exchange(port: int, request: bytes, within: float = 5) -> bytes:
    reader, writer = await open_socket(port)
    writer.write(request)
    response = await read_until_closed(reader, within)
    writer.close()
    return response


async def test_headers_past_16_kib_get_431_and_smaller_ones_pass(served: ServedApp) -> None:
    large = await exchange(served.port, health_request(b"X-Padding: " + b"a" * 17_000))
    assert status_of(large) == 431
    assert "limit of 16384 bytes" in json.loads(body_of(large))["detail"]
    long_url = b"GET /health?" + b"q" * 17_000 + b" HTTP/1.1\r\nHost: test\r\n\r\n"
    assert status_of(await exchange(served.port, long_url)) == 431
    fine = await exchange(
        served.port, health_request(b"X-Padding: " + b"a" * 15_000, b"Connection: close")
    )
    assert status_of(fine) == 200


async def test_half_sent_huge_headers_are_cut_early_and_cost_no_memory(served: ServedApp) -> None:
    before = served.rss_bytes()

    async def endless_header() -> tuple[int, bytes]:
        """How many 64 KiB chunks of one header the server took before cutting the connection."""
        reader, writer = await open_socket(served.port)
        # A fixed, small send buffer: what `sent` counts is then what the server read (plus a
        # few chunks in flight), not what a loaded machine's kernel buffered (up to 4 MiB).
        writer.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES
        )
        sent = 0
        with contextlib.suppress(ConnectionError):
            writer.write(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Huge: ")
            while sent < 128:  # up to 8 MiB, never finished
                writer.write(b"h" * 65536)
                await writer.drain()
                sent += 1
                await asyncio.sleep(0)
        response = await read_until_closed(reader, 5)
        writer.close()
        return sent, response

    results = await asyncio.gather(*[endless_header() for _ in range(8)])
    growth = served.rss_bytes() - before
    # Cut long before 8 MiB (the socket buffers hold a few chunks); a 431 when it could still be
    # read. Without the limit the server reads on and every connection sends all 128 chunks.
    assert all(sent < 16 for sent, _ in results), [sent for sent, _ in results]
    assert all(status_of(response) in (431, None) for _, response in results)
    assert growth < 16 * 2**20, f"the server grew by {growth / 2**20:.1f} MiB"
    health = await asyncio.to_thread(httpx.get, f"{served.base_url}/health", timeout=30)
    assert health.status_code == 200


async def test_slowloris_connections_are_cut_by_the_header_timeout(strict: ServedApp) -> None:
    async def trickle() -> tuple[bytes, float]:
        started = time.perf_counter()
        reader, writer = await open_socket(strict.port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: ")

        async def drip() -> None:
            with contextlib.suppress(ConnectionError):
                while True:
                    writer.write(b"z")
                    await writer.drain()
                    await asyncio.sleep(0.2)

        dripping = asyncio.create_task(drip())
        response = await read_until_closed(reader, 5)
        dripping.cancel()
        writer.close()
        return response, time.perf_counter() - started

    for response, seconds in await asyncio.gather(*[trickle() for _ in range(10)]):
        assert status_of(response) == 408
        assert seconds < 3


async def test_a_body_that_trickles_in_is_cut_by_the_body_timeout(strict: ServedApp) -> None:
    request = (
        b"POST /auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"email":'
    )
    started = time.perf_counter()
    response = await exchange(strict.port, request)
    assert status_of(response) == 408
    assert time.perf_counter() - started < 3


async def test_connections_past_the_cap_get_a_json_503(strict: ServedApp) -> None:
    held = await asyncio.to_thread(idle_sockets, strict.port, 20)
    try:
        refused = await exchange(strict.port, health_request(), within=2)
    finally:
        for connection in held:
            connection.close()
    assert status_of(refused) == 503
    assert b"retry-after: 1" in refused.lower()
    assert json.loads(body_of(refused)) == {"detail": "Service temporarily unavailable"}


async def test_health_answers_with_a_thousand_idle_connections_open(served: ServedApp) -> None:
    held = await asyncio.to_thread(idle_sockets, served.port, 1000)
    try:
        started = time.perf_counter()
        response = await asyncio.to_thread(httpx.get, f"{served.base_url}/health", timeout=10)
        seconds = time.perf_counter() - started
    finally:
        for connection in held:
            connection.close()
    assert response.status_code == 200
    assert seconds < 2


async def _logins_from(server: ServedApp, addresses: list[str]) -> list[int]:
    # The limit counts per calendar minute: a burst that straddles a minute's end is two windows.
    seconds_into_minute = time.time() % 60
    if seconds_into_minute > 50:
        await asyncio.sleep(60.5 - seconds_into_minute)
    statuses = []
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        for number, address in enumerate(addresses):
            body = {"email": f"xff{number}-{server.port}@example.com", "password": "Wrong1234"}
            answer = await client.post(
                "/auth/login", json=body, headers={"X-Forwarded-For": address}
            )
            statuses.append(answer.status_code)
    return statuses


async def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    served: ServedApp, strict: ServedApp
) -> None:
    spoofed = [f"203.0.113.{n}" for n in range(1, LOGIN_LIMIT + 2)]
    # No trusted proxy (the default): every attempt counts against 127.0.0.1.
    assert (await _logins_from(served, spoofed))[-1] == 429
    # 127.0.0.1 trusted: each forwarded client has its own count.
    assert 429 not in await _logins_from(strict, spoofed)


async def test_sigterm_lets_a_running_simulation_finish_and_writes_its_call_log(
    strict: ServedApp, engine: AsyncEngine
) -> None:
    doomed = strict
    async with httpx.AsyncClient(base_url=doomed.base_url, timeout=60) as client:
        _, keys = await keys_of_new_user(client, 1)
        headers = {"X-API-Key": keys[0]["key"]}
        quick = [await client.get("/api/v1/api-key", headers=headers) for _ in range(5)]
        assert {r.status_code for r in quick} == {200}
        large = example(num_simulations=500_000, time_horizon_years=30, sample_paths=0)
        running = asyncio.create_task(client.post("/api/v1/simulate", json=large, headers=headers))
        await asyncio.sleep(0.5)  # well inside the run (seconds on these cores)
        doomed.process.send_signal(signal.SIGTERM)
        response = await running
    assert response.status_code == 200, response.text
    assert await asyncio.to_thread(doomed.stop) == 0  # exits on its own, cleanly
    async with engine.connect() as connection:
        logged = await connection.execute(
            select(ApiCallLog.endpoint).where(ApiCallLog.api_key_id == keys[0]["id"])
        )
        endpoints = sorted(row.endpoint for row in logged)
    assert endpoints == ["/api/v1/api-key"] * 5 + ["/api/v1/simulate"]
