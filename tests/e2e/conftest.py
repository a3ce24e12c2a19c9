"""Browser tests: Playwright (Python) driving Debian's chromium against servers the tests boot.

Fixtures: ``browser`` (one chromium per test process, i.e. per xdist worker), ``page`` (a fresh
context per test; console errors collected and asserted empty at the end; a screenshot of a failing
test kept in test-artifacts/e2e/),
``frontend_stack`` (API + worker + Vite dev server, booted once per module).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_chromium
from tests.e2e.servers import REPO, ViteServer, WorkerProcess
from tests.support.api_server import ApiServer

ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
# Logins from every test come from 127.0.0.1: the default 10/minute would turn them into 429s.
API_TEST_ENV = {
    "RATE_LIMIT_LOGIN": "1000/minute",
    "RATE_LIMIT_DEFAULT": "100000/minute",
    "JWT_SECRET": secrets.token_urlsafe(48),
}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)  # the page fixture reads it to keep a screenshot
    return report


class SharedBrowser:
    """One chromium for every browser test of this process: launched by the first, closed as soon
    as the process goes on to a test outside tests/e2e (or ends), so no chromium idles through the
    rest of the suite and Playwright's event loop never meets another test's asyncio."""

    def __init__(self) -> None:
        self.playwright: Any = None
        self.browser: Any = None

    def get(self, executable: str) -> Any:
        if self.browser is None or not self.browser.is_connected():
            self.close()
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
        return self.browser

    def close(self) -> None:
        browser, playwright, self.browser, self.playwright = self.browser, self.playwright, None, None
        try:
            if browser is not None:
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()


SHARED_BROWSER = SharedBrowser()
E2E = Path(__file__).parent


@pytest.hookimpl(trylast=True)  # after this test's fixtures (pages, contexts) are torn down
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if nextitem is None or E2E not in nextitem.path.parents:
        SHARED_BROWSER.close()


@pytest.fixture(scope="module")
def browser() -> Any:
    """The process's chromium (SharedBrowser); a test opens its own context (``page``)."""
    return SHARED_BROWSER.get(require_chromium())  # skips, or fails under TEST_REQUIRE_ALL (CI)


@dataclass
class ConsoleLog:
    """Console errors and uncaught exceptions of one page. The browser itself logs every non-2xx
    answer as "Failed to load resource ... status of N"; a test names the statuses it provokes."""

    errors: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)
    connection_errors_allowed: bool = False

    def allow_http_errors(self, *statuses: int) -> None:
        self.allowed_statuses.update(statuses)

    def allow_connection_errors(self) -> None:
        """The test stops the server: "Failed to load resource: net::ERR_CONNECTION_REFUSED"."""
        self.connection_errors_allowed = True

    def unexpected(self) -> list[str]:
        out = []
        for text in self.errors:
            match = re.search(r"Failed to load resource: the server responded with a status of (\d+)", text)
            if match and int(match.group(1)) in self.allowed_statuses:
                continue
            if self.connection_errors_allowed and re.search(
                r"Failed to load resource: net::ERR_CONNECTION_", text
            ):
                continue
            out.append(text)
        return out


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:150]


@pytest.fixture
def page(browser: Any, console: ConsoleLog, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("console", lambda msg: console.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))
    yield page
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    if failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = _artifact_name(request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(console.errors) + "\n")
    context.close()
    if not failed and console.unexpected():
        pytest.fail(f"browser console errors: {console.unexpected()}")


@dataclass
class FrontendStack:
    home: Path
    api: ApiServer
    worker: WorkerProcess
    vite: ViteServer

    @property
    def url(self) -> str:
        return self.vite.url


def create_user(api: ApiServer, email: str, *, is_admin: bool = False) -> int:
    from store.accounts import create_user as create
    from store.db import Database

    db = Database(api.database_url)
    try:
        with db.session() as session:
            return create(session, email=email, password=PASSWORD, is_admin=is_admin).id
    finally:
        db.engine.dispose()


@pytest.fixture(scope="module")
def frontend_stack(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontendStack]:
    """API (real gunicorn, SQLite), one example worker on the same database, and the Vite dev server
    proxying to the API: the app as a user reaches it."""
    home = tmp_path_factory.mktemp("frontend-stack")
    # Simulated work keeps a new item pending long enough that the page must poll to see it done.
    with (
        ApiServer(home, env=API_TEST_ENV) as api,
        WorkerProcess(home, database_url=api.database_url, env={"WORKER_SIMULATED_WORK": "1.5"}) as worker,
        ViteServer(api_url=api.url, log_dir=home / "logs") as vite,
    ):
        yield FrontendStack(home, api, worker, vite)


def login(page: Any, base_url: str, email: str, password: str = PASSWORD, *, path: str = "/items") -> None:
    """Sign in through the form and wait for the page the app lands on."""
    page.goto(base_url + path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Log out").wait_for()
