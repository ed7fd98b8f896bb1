"""Helpers that build real rows through the public API."""

import itertools

import httpx

PASSWORD = "SecurePass123"
_numbers = itertools.count(1)


def unique_email() -> str:
    return f"user{next(_numbers)}@example.com"


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, **extra: str
) -> dict:
    response = await client.post(
        "/auth/register", json={"email": email or unique_email(), "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def signed_up(client: httpx.AsyncClient, email: str | None = None) -> tuple[dict, dict]:
    """A registered user and the tokens of a fresh login."""
    user = await register(client, email)
    return user, await login(client, user["email"])


async def fail_login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": "Wrong1234"})
