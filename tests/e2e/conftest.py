"""Browser tests: Playwright (Python) driving Debian's chromium against servers the tests boot.

Fixtures: ``browser`` (one chromium per test process, i.e. per xdist worker), ``page`` (a fresh
context per test; console errors collected and asserted empty at the end; a screenshot of a failing
test kept in test-artifacts/e2e/),
``frontend_dist`` (the production build of the current sources, built once per run for every
process), ``frontend_stack`` (API + worker + `vite preview` of that build, shared by the modules that
use it one after the other in a process: each adds users and items of its own).

The app is served from the built bundle (`vite preview`, the dev server's proxy settings) unless a
test is about the dev server itself (tests/e2e/test_vite_proxy.py): the dev server makes the browser
fetch, and Vite transform, every unbundled module on each page load.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_chromium
from tests.e2e.servers import REPO, ViteServer, WorkerProcess, built_frontend
from tests.support.api_server import ApiServer
from tests.support.wait import wait_until

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


class SharedFrontendStack:
    """One frontend_stack for the modules of this process that use it one after the other (each adds
    users of its own): booted by the first, stopped after the last test before one that does not use
    it (an idle stack would poll its database meanwhile)."""

    def __init__(self) -> None:
        self.stack: FrontendStack | None = None
        self.servers: ExitStack | None = None

    def get(self, home: Callable[[], Path], dist: Path) -> FrontendStack:
        if self.stack is None:
            self.close()
            with ExitStack() as servers:
                self.stack = boot_frontend_stack(servers, home(), dist)
                self.servers = servers.pop_all()
        return self.stack

    def close(self) -> None:
        servers, self.servers, self.stack = self.servers, None, None
        if servers is not None:
            servers.close()


SHARED_FRONTEND_STACK = SharedFrontendStack()


@pytest.hookimpl(trylast=True)  # after this test's fixtures (pages, contexts) are torn down
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    try:
        if nextitem is None or "frontend_stack" not in getattr(nextitem, "fixturenames", ()):
            SHARED_FRONTEND_STACK.close()
    finally:
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


def seed(database_url: str, write: Callable[[Any], Any]) -> Any:
    """Run ``write(session)`` in one transaction on a running stack's database; its result.

    SQLite answers "database is locked" at once, without its busy timeout, to a transaction that read
    before it writes (create_user checks the email first) when another process wrote in between (the
    API's queue sampler, a worker): on a loaded machine a password hash is time enough for that. The
    whole transaction is then tried again, until a deadline.
    """
    from sqlalchemy.exc import OperationalError

    from store.db import Database

    def attempt() -> tuple[bool, Any] | None:
        db = Database(database_url)
        try:
            with db.session() as session:
                return True, write(session)
        except OperationalError as error:
            if isinstance(error.orig, sqlite3.OperationalError) and "locked" in str(error.orig):
                return None  # not yet: tried again
            return False, error
        except Exception as error:  # noqa: BLE001 - raised below, at once, not waited out
            return False, error
        finally:
            db.engine.dispose()

    outcome = wait_until(attempt, timeout=60, interval=0.2, message="a write to the stack's database")
    assert outcome is not None  # wait_until returns a truthy value only
    done, value = outcome
    if not done:
        raise value
    return value


def create_user(api: ApiServer, email: str, *, is_admin: bool = False) -> int:
    from store.accounts import create_user as create

    return int(
        seed(api.database_url, lambda s: create(s, email=email, password=PASSWORD, is_admin=is_admin).id)
    )


def shared_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's temporary directory that every xdist worker sees (each worker's own is below it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def frontend_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The production bundle of the frontend's current sources, built once per run for every worker
    (built_frontend)."""
    return built_frontend(shared_run_dir(tmp_path_factory))


def boot_frontend_stack(servers: ExitStack, home: Path, dist: Path) -> FrontendStack:
    # Simulated work keeps a new item pending long enough that the page must poll to see it done.
    api = servers.enter_context(ApiServer(home, env=API_TEST_ENV))
    worker = servers.enter_context(
        WorkerProcess(home, database_url=api.database_url, env={"WORKER_SIMULATED_WORK": "1.5"})
    )
    vite = servers.enter_context(
        ViteServer(api_url=api.url, log_dir=home / "logs", mode="preview", dist=dist)
    )
    return FrontendStack(home, api, worker, vite)


@pytest.fixture(scope="module")
def frontend_stack(
    browser: Any, frontend_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> FrontendStack:
    """API (real gunicorn, SQLite), one example worker on the same database, and the production build
    served by `vite preview`, proxying to the API: the app as a user reaches it. Shared by the
    modules of this process (SharedFrontendStack): a module adds users of its own."""
    return SHARED_FRONTEND_STACK.get(lambda: tmp_path_factory.mktemp("frontend-stack"), frontend_dist)


def login(page: Any, base_url: str, email: str, password: str = PASSWORD, *, path: str = "/items") -> None:
    """Sign in through the form and wait for the page the app lands on."""
    page.goto(base_url + path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Log out").wait_for()
