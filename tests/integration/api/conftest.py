"""A real API (gunicorn, 2 workers) per backend, shared by the package's modules, plus users to call it as."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from store.accounts import create_api_key, create_user_with_hash
from store.db import Database
from tests.support import plain_http
from tests.support.api_server import ApiServer
from tests.support.databases import fresh_postgres_database, postgres_server_url
from tests.support.passwords import shared_password

# High limits: these suites test behaviour, not rate limits (tests/integration/api/test_rate_limits.py does).
UNLIMITED = {"RATE_LIMIT_DEFAULT": "1000000/minute", "RATE_LIMIT_LOGIN": "1000000/minute"}


@dataclass
class Caller:
    """A user of the API with a password, an API key and ready-made auth headers."""

    id: int
    email: str
    password: str
    api_key: str
    api_key_id: int
    is_admin: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}


@dataclass
class LiveApi:
    url: str
    database_url: str
    backend: str
    server: ApiServer
    database: Database
    _count: list[int] = field(default_factory=lambda: [0])

    def client(self, **kwargs: object) -> httpx.Client:
        return plain_http.client(base_url=self.url, timeout=30, **kwargs)

    def new_user(self, *, is_admin: bool = False) -> Caller:
        """A new user with an API key and the test process's password (tests.support.passwords)."""
        self._count[0] += 1
        email = f"user{self._count[0]}-{secrets.token_hex(3)}@example.com"
        password, password_hash = shared_password()
        with self.database.session() as session:
            user = create_user_with_hash(session, email=email, password_hash=password_hash, is_admin=is_admin)
            api_key, key = create_api_key(session, user_id=user.id, name="tests")
        return Caller(
            id=user.id, email=email, password=password, api_key=key, api_key_id=api_key.id, is_admin=is_admin
        )


def backend_database(stack: ExitStack, backend: str, home: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{home / 'var' / 'app.db'}"
    server_url = postgres_server_url()
    if not server_url:
        pytest.skip("PostgreSQL not configured: set TEST_DATABASE_URL (CI sets it)")
    return stack.enter_context(fresh_postgres_database(server_url))


def boot_api(
    tmp_path_factory: pytest.TempPathFactory,
    backend: str,
    *,
    workers: int = 2,
    env: dict[str, str] | None = None,
) -> Iterator[LiveApi]:
    home = tmp_path_factory.mktemp(f"api-{backend}")
    (home / "var").mkdir()
    with ExitStack() as stack:
        database_url = backend_database(stack, backend, home)
        server = stack.enter_context(
            ApiServer(home, database_url=database_url, workers=workers, env={**UNLIMITED, **(env or {})})
        )
        database = Database(database_url, pool_size=2, max_overflow=2, application_name="tests")
        stack.callback(database.dispose)
        yield LiveApi(
            url=server.url, database_url=database_url, backend=backend, server=server, database=database
        )


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class SharedApis:
    """The shared APIs of tests/integration/api: one per backend in each test process, booted when a
    test first asks for it and kept until the session ends (shut down and checked gone then).

    A package-scoped parametrized fixture alone is torn down whenever the backend changes, which
    under ``--dist loadfile`` is at every module (each runs its SQLite tests, then its PostgreSQL
    ones): a boot per module and backend instead of one per backend."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, stack: ExitStack) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._stack = stack
        self._apis: dict[str, LiveApi] = {}

    def get(self, backend: str) -> LiveApi:
        if backend not in self._apis:
            booted = contextmanager(boot_api)(self._tmp_path_factory, backend)
            self._apis[backend] = self._stack.enter_context(booted)
        return self._apis[backend]


@pytest.fixture(scope="session")
def shared_apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedApis]:
    with ExitStack() as stack:
        yield SharedApis(tmp_path_factory, stack)


@pytest.fixture(scope="package", params=BACKENDS)
def live_api(request: pytest.FixtureRequest, shared_apis: SharedApis) -> LiveApi:
    """The real API under gunicorn with 2 workers, one per backend for all of tests/integration/api
    (tests make their own users, so they do not see each other's data; suites that need other
    settings boot their own server)."""
    return shared_apis.get(request.param)


@pytest.fixture(scope="module")
def owner(live_api: LiveApi) -> Caller:
    return live_api.new_user()


@pytest.fixture(scope="module")
def other(live_api: LiveApi) -> Caller:
    return live_api.new_user()


@pytest.fixture(scope="module")
def admin(live_api: LiveApi) -> Caller:
    return live_api.new_user(is_admin=True)


@pytest.fixture(scope="module")
def http(live_api: LiveApi) -> Iterator[httpx.Client]:
    with live_api.client() as client:
        yield client
