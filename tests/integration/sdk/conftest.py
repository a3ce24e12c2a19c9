"""A real API (gunicorn, SQLite, migrations) booted once per test process for the SDK's modules, with
users made in its database."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from store import accounts
from store.db import Database
from tests.support.api_server import ApiServer
from tests.support.passwords import shared_password
from tests.support.wait import wait_until
from tests.unit.sdk.both_clients import KINDS, make_client

# High limits: these tests make thousands of requests on purpose (the rate limiter has its own tests).
SERVER_ENV = {
    "RATE_LIMIT_DEFAULT": "1000000/minute",
    "RATE_LIMIT_LOGIN": "10000/minute",
    "JWT_SECRET": secrets.token_urlsafe(48),
}


@dataclass(frozen=True)
class Account:
    user_id: int
    email: str
    password: str
    api_key: str


@dataclass
class LiveAPI:
    server: ApiServer
    database: Database

    @property
    def url(self) -> str:
        return self.server.url

    def new_account(self) -> Account:
        """A new user with an API key, written straight into the server's database."""
        email = f"user{next(_serial)}-{secrets.token_hex(3)}@example.com"
        password, password_hash = shared_password()  # one per test process, hashed once
        with self.database.session() as session:
            user = accounts.create_user_with_hash(session, email=email, password_hash=password_hash)
            _, key = accounts.create_api_key(session, user_id=user.id, name="sdk tests")
            user_id = user.id
        return Account(user_id, email, password, key)


_serial = itertools.count(1)


@contextmanager
def booted_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    home = tmp_path_factory.mktemp("sdk-api")
    with ApiServer(home, env=SERVER_ENV) as server:
        database = Database(server.database_url)
        try:
            yield LiveAPI(server, database)
        finally:
            database.dispose()


@pytest.fixture(scope="session")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    """One API for the SDK's modules in each test process (each test makes its own account); a
    module that needs a database of its own (one that claims the queue's items) overrides it with
    ``booted_api``."""
    with booted_api(tmp_path_factory) as api:
        yield api


@pytest.fixture
def account(live_api: LiveAPI) -> Account:
    # A test before may leave the server finishing writes it queued behind a held SQLite lock
    # (test_retries_live): wait for the database rather than fail on "database is locked".
    return wait_until(live_api.new_account, timeout=60, message="a new account (database free)")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(kind: str, live_api: LiveAPI) -> Iterator[Callable[..., Any]]:
    """``connect(api_key=..., **options)``: a Client or (blocking) AsyncClient of the live API."""
    made: list[Any] = []

    def factory(**options: Any) -> Any:
        client = make_client(kind, base_url=live_api.url, **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


class RequestCounter:
    """Counts requests, and TCP connections opened, through httpx's event hooks and trace extension."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.requests: list[httpx.Request] = []
        self.connections_opened = 0

    def _on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)
        request.extensions["trace"] = self._trace if self.kind == "sync" else self._atrace

    async def _aon_request(self, request: httpx.Request) -> None:
        self._on_request(request)

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.connections_opened += 1

    async def _atrace(self, event: str, info: dict[str, Any]) -> None:
        self._trace(event, info)

    def http_client(self) -> httpx.Client | httpx.AsyncClient:
        if self.kind == "sync":
            return httpx.Client(event_hooks={"request": [self._on_request]})
        return httpx.AsyncClient(event_hooks={"request": [self._aon_request]})

    @property
    def count(self) -> int:
        return len(self.requests)


@pytest.fixture
def counted(kind: str) -> Iterator[tuple[RequestCounter, Any]]:
    """(counter, http_client) to pass as ``connect(http_client=...)``; closed afterwards."""
    counter = RequestCounter(kind)
    http = counter.http_client()
    yield counter, http
    if isinstance(http, httpx.Client):
        http.close()


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]
