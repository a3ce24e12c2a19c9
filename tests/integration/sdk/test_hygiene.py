"""Resource hygiene against the real API: no ResourceWarning, one reused connection, flat over 1,000 calls."""

from __future__ import annotations

import gc
import socket
import warnings

import psutil

from sdk import Client
from tests.integration.sdk.conftest import Account, LiveAPI


def open_connections_to(port: int) -> int:
    """TCP connections this process holds to ``port`` (the OS's view, not the client's)."""
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    )


def test_a_used_and_closed_client_leaves_no_resource_warning(connect, account: Account) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        client = connect(api_key=account.api_key)
        item = client.create_item(title="hygiene")
        client.get_item(item_id=item.id)
        list(client.iter_items(limit=1))
        client.close()
        del client
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_the_resource_warning_check_can_fail() -> None:
    # Guard for the test above: a socket dropped unclosed is noticed by the same recorder.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        leaked = socket.socket()
        del leaked
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)


def test_sequential_calls_reuse_one_connection_and_stay_flat_over_1000_requests(
    connect, counted, live_api: LiveAPI, account: Account
) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    port = live_api.server.port
    samples = []
    for n in range(1, 1001):
        client.health()  # the cheapest request: this is about connections, not endpoints
        if n in (10, 100, 500, 1000):
            samples.append(open_connections_to(port))
    assert counter.count == 1000
    assert counter.connections_opened == 1, "every call after the first must reuse the pooled connection"
    assert samples == [1, 1, 1, 1]
    client.close()


def test_the_sdk_own_pool_reuses_its_connection(live_api: LiveAPI, account: Account) -> None:
    port = live_api.server.port
    with Client(base_url=live_api.url, api_key=account.api_key) as client:
        for _ in range(50):
            client.health()
        assert open_connections_to(port) == 1
    assert open_connections_to(port) == 0
