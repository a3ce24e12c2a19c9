"""Fixtures shared by the whole suite. Helpers live in tests/support/."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import schedule, timing
from tests.support.databases import fresh_postgres_database, postgres_server_url, sqlite_url

# Settings from a developer's shell or .env must not leak into tests: each test states its own.
for _name in (
    "DATABASE_URL",
    "DB_HOST",
    "REDIS_URL",
    "APP_HOME",
    "API_PORT",
    "FRONTEND_PORT",
    "WORKER_HEALTH_PORT",
    "SUPERVISOR_SOCKET",
    "LOG_DIR",
    "VAR_DIR",
    "APP_ENV",
):
    os.environ.pop(_name, None)


def pytest_configure(config: pytest.Config) -> None:
    timing.register(config)  # the ten slowest tests and the time per directory, at the end
    config.pluginmanager.register(schedule, "suite_schedule")  # the longest files first
    # A suite started in the background by a non-interactive shell (`nohup bin/test &`, a CI step)
    # inherits SIGINT ignored, and so would every command it starts: Python then installs no
    # KeyboardInterrupt, and a followed command's Ctrl-C (monitor --watch, ctl logs -f) would do
    # nothing. A handler of our own is reset to the default in each child it starts.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


REQUIRE_ALL = bool(os.environ.get("TEST_REQUIRE_ALL"))  # CI: a missing service fails, never skips


def skip_or_fail(reason: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (TEST_REQUIRE_ALL is set)")
    pytest.skip(reason)


def require_postgres() -> str:
    url = postgres_server_url()
    if not url:
        skip_or_fail("PostgreSQL not configured: set TEST_DATABASE_URL (CI sets it)")
    assert url
    return url


def require_redis() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        skip_or_fail("Redis not configured: set TEST_REDIS_URL (CI sets it)")
    assert url
    return url


def require_chromium() -> str:
    path = chromium_path()
    if not path:
        skip_or_fail("no browser: /usr/bin/chromium is missing (apt-get install chromium; CI installs it)")
    assert path
    return path


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres_database(require_postgres()) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on each backend: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        (tmp_path / "var").mkdir(exist_ok=True)
        yield sqlite_url(tmp_path / "var")
    else:
        with fresh_postgres_database(require_postgres()) as url:
            yield url


def chromium_path() -> str | None:
    return shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium") or None
