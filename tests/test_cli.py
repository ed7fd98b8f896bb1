"""`python -m app create-admin EMAIL`: creates or promotes, through the same settings as the app."""

import asyncio
import os
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import PROJECT_ROOT
from tests.factories import login, register


async def _create_admin(database_url: str, tmp_path, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BCRYPT_ROUNDS": "4",
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "create-admin",
        *args,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_create_admin_promotes_an_existing_user(
    client, db: AsyncSession, database_url: str, tmp_path
) -> None:
    user = await register(client, "boss@example.com")
    output = await _create_admin(database_url, tmp_path, "Boss@Example.com")
    assert "boss@example.com" in output and "is an admin" in output
    role = await db.scalar(text("SELECT role FROM users WHERE id = :id"), {"id": user["id"]})
    assert role == "admin"


async def test_create_admin_creates_an_account_with_a_shown_password(
    client, db: AsyncSession, database_url: str, tmp_path
) -> None:
    output = await _create_admin(database_url, tmp_path, "new-admin@example.com")
    password = output.split("Account created with password: ")[1].strip()
    assert await db.scalar(text("SELECT role FROM users")) == "admin"
    assert (await login(client, "new-admin@example.com", password))["access_token"]


async def test_create_admin_refuses_a_weak_password(database_url: str, tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "create-admin",
        "x@example.com",
        "--password",
        "weak",
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode != 0
    assert b"create-admin: Password must" in stderr
    assert b"Traceback" not in stderr
