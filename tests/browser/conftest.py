"""A real service (uvicorn on a free loopback port, the test database) and Debian's Chromium,
driven by Playwright. No browser is ever downloaded: Chromium is /usr/bin/chromium (`.ci/run`
installs the `chromium` package when it is missing)."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import PROJECT_ROOT
from tests.conftest import TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET, email_queue

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = PROJECT_ROOT / "tests" / "browser" / "screenshots"
# Nothing but the page under test: no update checks, sync, field trials or QUIC probes.
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--no-default-browser-check",
]


# On a loaded machine a simulation and its charts can take several seconds: each assertion waits
# for its state up to this long (Playwright's default is 5 s). Nothing is asserted less.
expect.set_options(timeout=20_000)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(database_url: str, data_dir: Path, **settings: str) -> Iterator[str]:
    """The service as `python -m uvicorn` runs it, on the (migrated) test database."""
    port = _free_port()
    environment = {
        **os.environ,
        "DATABASE_URL_ASYNC": database_url,
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        # The key of in-process test apps: each process reads what the others wrote.
        "DATA_ENCRYPTION_KEY": TEST_DATA_ENCRYPTION_KEY,
        "BCRYPT_ROUNDS": "4",
        "DATA_DIR": str(data_dir),
        "AUTH_RATE_LIMIT": "10000/minute",
        "LOGIN_RATE_LIMIT": "10000/minute",
        "API_RATE_LIMIT": "10000/minute",
        "LOG_LEVEL": "WARNING",
        "EMAIL_QUEUE": email_queue(),  # its emails are its own
        **settings,
    }
    environment.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env=environment,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the test server exited with {process.returncode}")
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not answer /health within 90 s")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Package-scoped: a served app runs periodic jobs on the shared test database; it must be gone
# before the tests of other packages run theirs. (Its emails go to a queue of its own.)
@pytest.fixture(scope="package")
def server(
    engine: AsyncEngine,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    compiled_engine: None,
) -> Iterator[str]:
    with serving(database_url, tmp_path_factory.mktemp("browser-data")) as base_url:
        yield base_url


@pytest.fixture(scope="package")
def throttled_server(
    engine: AsyncEngine,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    compiled_engine: None,
) -> Iterator[str]:
    """The service with the production-like sign-in limit of a few attempts a minute."""
    data_dir = tmp_path_factory.mktemp("throttled-data")
    with serving(database_url, data_dir, LOGIN_RATE_LIMIT="3/minute") as base_url:
        yield base_url


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (what .ci/run does)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    args = [*CHROMIUM_ARGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=args
        )
        yield browser
        await browser.close()


@dataclass
class Watched:
    """What a browser context did that a test must check: every request's URL, console errors,
    uncaught exceptions and Content-Security-Policy violations."""

    context: BrowserContext
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    async def new_page(self) -> Page:
        page = await self.context.new_page()
        page.on(
            "console",
            lambda message: message.type == "error" and self.console_errors.append(message.text),
        )
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        return page

    @staticmethod
    async def csp_violations(page: Page) -> list[str]:
        return await page.evaluate("window.__cspViolations")


# Installed by the browser itself, outside the page's CSP: records violations the page causes.
_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@contextlib.asynccontextmanager
async def watching(browser: Browser, base_url: str) -> AsyncIterator[Watched]:
    """A fresh browser context (no cookies) on base_url, watched."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 900})
    await context.add_init_script(_RECORD_CSP_VIOLATIONS)
    watched = Watched(context)
    context.on("request", lambda request: watched.requests.append(request.url))
    try:
        yield watched
    finally:
        await context.close()


@pytest.fixture
async def watched(browser: Browser, server: str) -> AsyncIterator[Watched]:
    async with watching(browser, server) as watched:
        yield watched


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
