"""The service as production runs it (`python -m app serve`), in a subprocess on a free port, and
raw-socket helpers to talk to it the way hostile clients do."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT
from tests.conftest import TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET, email_queue
from tests.faults.services import free_port


class ServedApp:
    """`python -m app serve` with some settings, starting; `ready()` waits for its health,
    `stop()` sends SIGTERM and waits for the exit."""

    def __init__(self, database_url: str, data_dir: Path, *, workers: int = 1, **settings: str):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL_ASYNC": database_url,
            "DATA_DIR": str(data_dir),
            "JWT_SECRET_KEY": TEST_JWT_SECRET,
            # The key of in-process test apps: each process reads what the others wrote.
            "DATA_ENCRYPTION_KEY": TEST_DATA_ENCRYPTION_KEY,
            "BCRYPT_ROUNDS": "4",
            "LOG_LEVEL": "WARNING",
            "AUTH_RATE_LIMIT": "10000/minute",
            "LOGIN_RATE_LIMIT": "10000/minute",
            "API_RATE_LIMIT": "10000/minute",
            # Its own email queue: no other test's app or worker takes its emails, nor it theirs.
            "EMAIL_QUEUE": email_queue(),
            **settings,
        }
        env.pop("REDIS_URL", None)
        command = ["-m", "app", "serve", "--port", str(self.port), "--workers", str(workers)]
        self.process = subprocess.Popen(
            [sys.executable, *command], cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE
        )

    def ready(self, timeout: float = 300) -> "ServedApp":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.process.stderr.read().decode()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise TimeoutError("the server did not become healthy")

    def rss_bytes(self) -> int:
        """The server's resident memory (its uvicorn worker when there is one)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        return int(kib) * 1024

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
        finally:
            self.process.stderr.close()


async def open_socket(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def read_until_closed(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sends until it closes the connection (or `within` seconds pass)."""
    received = b""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(within):
            while chunk := await reader.read(65536):
                received += chunk
    return received


def status_of(response: bytes) -> int | None:
    first_line = response.split(b"\r\n", 1)[0].split()
    return int(first_line[1]) if len(first_line) > 1 else None


def body_of(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


def idle_sockets(port: int, count: int) -> list[socket.socket]:
    """`count` connections that send nothing."""
    sockets = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        sockets.append(connection)
    return sockets
