"""Safe retries and with_options against the real API, sync and async.

The fault is real: the test holds SQLite's write lock, so the server's write waits while the
client's read timeout passes; released, the server carries the request out. Or a port nobody
listens on (nothing is sent).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

import sdk
from tests.integration.sdk.conftest import Account, LiveAPI
from tests.integration.sdk.test_hygiene import open_connections_to
from tests.support.net import free_port
from tests.support.wait import wait_until
from tests.unit.sdk.both_clients import make_client

ANSWER_TOO_LATE = httpx.Timeout(10.0, read=0.5)


@contextmanager
def writes_held(live_api: LiveAPI) -> Iterator[None]:
    """The database's write lock, held by the test: the server's writes wait until it is released."""
    path = live_api.server.database_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_an_update_that_reached_the_server_is_not_sent_again(
    connect, counted, live_api: LiveAPI, account: Account
) -> None:
    counter, http = counted
    sleeps: list[float] = []
    client = connect(api_key=account.api_key, http_client=http, max_retries=3, sleep=sleeps.append)
    item = client.create_item(title="before")
    with writes_held(live_api), pytest.raises(sdk.APITimeoutError):
        client.update_item(item_id=item.id, title="after", timeout=ANSWER_TOO_LATE)
    patches = [r for r in counter.requests if r.method == "PATCH"]
    assert len(patches) == 1 and sleeps == []
    # Why it must not be repeated blindly: the server did carry it out.
    wait_until(
        lambda: client.get_item(item_id=item.id).title == "after", timeout=30, message="update applied"
    )


def test_a_create_retried_after_timeouts_makes_one_item(
    connect, counted, live_api: LiveAPI, account: Account
) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http, max_retries=2, sleep=lambda s: None)
    with writes_held(live_api), pytest.raises(sdk.APITimeoutError):
        client.create_item(title="exactly once", timeout=ANSWER_TOO_LATE)
    keys = {r.headers["Idempotency-Key"] for r in counter.requests}
    assert counter.count == 3 and len(keys) == 1
    wait_until(lambda: client.list_items().total == 1, timeout=30, message="the create carried out")
    assert [i.title for i in client.list_items()] == ["exactly once"]


def test_a_batch_retried_after_timeouts_creates_each_item_once_and_a_rerun_completes_it(
    connect, counted, live_api: LiveAPI, account: Account
) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http, max_retries=2, sleep=lambda s: None)
    wanted = [{"title": f"batch {n}"} for n in range(1500)]
    with writes_held(live_api), pytest.raises(sdk.APITimeoutError):
        client.create_items(wanted, idempotency_key="held", timeout=ANSWER_TOO_LATE)
    assert counter.count == 3 and {r.headers["Idempotency-Key"] for r in counter.requests} == {"held"}

    def count() -> int:
        return sum(1 for _ in client.iter_items(limit=100))

    wait_until(lambda: count() == 1000, timeout=60, message="the first request carried out once")
    created = client.create_items(wanted, idempotency_key="held")  # the same call again
    assert [i.title for i in created] == [w["title"] for w in wanted]
    assert count() == 1500  # the first 1,000 replayed, the last 500 created: none twice


def test_an_update_that_could_not_connect_is_retried(kind: str, counted) -> None:
    counter, http = counted
    sleeps: list[float] = []
    nobody = f"http://127.0.0.1:{free_port()}"
    client = make_client(
        kind, base_url=nobody, api_key="sk_x_y", http_client=http, max_retries=2, sleep=sleeps.append
    )
    try:
        with pytest.raises(sdk.APIConnectionError, match="cannot connect"):
            client.update_item(item_id=1, title="t")
    finally:
        client.close()
    assert counter.count == 3 and len(sleeps) == 2


def test_with_options_shares_the_pool_and_the_login(connect, live_api: LiveAPI, account: Account) -> None:
    client = connect(api_key=None)  # the SDK's own pool
    client.login(email=account.email, password=account.password)
    fast = client.with_options(max_retries=0, timeout=5)
    patient = client.with_options(timeout=30, retry_budget=120)
    item = patient.create_item(title="shared")  # logged in through the original
    for _ in range(5):
        assert fast.get_item(item_id=item.id).title == "shared"
        assert patient.get_item(item_id=item.id).title == "shared"
        assert client.get_item(item_id=item.id).title == "shared"
    assert open_connections_to(live_api.server.port) == 1
    patient.close()
    assert client.get_item(item_id=item.id).id == item.id  # closing a copy leaves the pool open
