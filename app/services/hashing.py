"""Password hashing off the event loop: bcrypt runs in worker threads, a few at a time."""

import os
from collections.abc import Callable
from typing import TypeVar

import anyio

from app.config import Settings
from app.security import password_hasher

# bcrypt is CPU-bound: more threads than cores only queue inside the OS instead of here.
_hashing_slots = anyio.CapacityLimiter(os.cpu_count() or 1)
T = TypeVar("T")


async def run_hashing(function: Callable[..., T], *args: object) -> T:
    """Run bcrypt work in a worker thread, never on the event loop."""
    return await anyio.to_thread.run_sync(function, *args, limiter=_hashing_slots)


async def hash_password(settings: Settings, password: str) -> str:
    return await run_hashing(password_hasher(settings.BCRYPT_ROUNDS).hash, password)


async def verify_password(
    settings: Settings, password: str, password_hash: str | None
) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one should be upgraded).

    Without a stored hash (no such account) the same time is spent on a dummy one.
    """
    hasher = password_hasher(settings.BCRYPT_ROUNDS)
    if password_hash is None:
        await run_hashing(hasher.verify_dummy, password)
        return False, None
    return await run_hashing(hasher.verify, password, password_hash)
