"""Schemathesis, every check, over every operation of our OpenAPI document against a real
server: unauthenticated, with an API key, and with a JWT.

Bounded in examples per operation and seeded (SCHEMATHESIS_SEED overrides it), so a run is
repeatable and takes well under two minutes; `st replay` reproduces a failure from its output.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.contract.conftest import LiveAccount, new_live_account

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 8
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261203")
SIGN_OUTS = r"^/auth/(logout|sessions/\{session_id\})$"


def schemathesis(base_url: str, *arguments: str) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        SEED,
        "--request-timeout",
        "30",
        *arguments,
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-12_000:] + run.stderr[-2_000:]


@pytest.fixture(scope="module")
async def admin(live_server: str, engine: AsyncEngine) -> LiveAccount:
    return await new_live_account(live_server, engine, "fuzz-admin@example.com", admin=True)


def test_schemathesis_finds_nothing_unauthenticated(live_server: str) -> None:
    schemathesis(live_server)


def test_schemathesis_finds_nothing_with_an_api_key(admin: LiveAccount) -> None:
    schemathesis(admin.base_url, "--header", f"X-API-Key: {admin.api_key}")


def test_schemathesis_finds_nothing_with_a_jwt(admin: LiveAccount) -> None:
    """Every operation but the two that end the session being used (they come next)."""
    authorization = f"Authorization: Bearer {admin.token}"
    schemathesis(admin.base_url, "--header", authorization, "--exclude-path-regex", SIGN_OUTS)


async def test_schemathesis_finds_nothing_in_signing_out_with_a_jwt(
    live_server: str, engine: AsyncEngine
) -> None:
    account = await new_live_account(live_server, engine, "fuzz-sign-out@example.com")
    authorization = f"Authorization: Bearer {account.token}"
    schemathesis(live_server, "--header", authorization, "--include-path-regex", SIGN_OUTS)
