"""Real loopback sockets that misbehave: each ends in the right exception, with a clear message, in time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import sdk
from tests.support.net import free_port
from tests.unit.sdk.both_clients import make_client

Behaviour = Callable[[socket.socket], None]


class RawServer:
    """A TCP server on 127.0.0.1 running ``behaviour`` on every accepted connection, in a thread."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)
            self.behaviour(conn)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for conn in self.accepted:
            conn.close()
        self.listener.close()


def read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def never_answer(conn: socket.socket) -> None:
    """Accept, then say nothing: the connection stays open until the test ends."""


def cut_off_body(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"id": 1,')
    conn.close()


def html_404(conn: socket.socket) -> None:
    read_request(conn)
    body = b"<html><body><h1>Not Found</h1>The requested URL was not found on this server.</body></html>"
    conn.sendall(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    conn.close()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client_for(kind: str, sleeps: list[float]) -> Iterator[Callable[..., object]]:
    made = []

    def factory(url: str, **options: object) -> object:
        client = make_client(kind, sleep=sleeps.append, base_url=url, api_key="sk_test1234_secret", **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()  # type: ignore[attr-defined]


def test_a_hanging_server_ends_in_a_timeout_error_within_the_timeout(client_for, sleeps) -> None:
    with RawServer(never_answer) as server:
        client = client_for(server.url, timeout=0.3, max_retries=1)
        started = time.monotonic()
        with pytest.raises(sdk.APITimeoutError) as caught:
            client.get_item(item_id=1)  # type: ignore[attr-defined]
        elapsed = time.monotonic() - started
        assert len(server.accepted) == 2  # the first attempt and one retry, each on a fresh connection
    assert len(sleeps) == 1
    assert elapsed < 5, "two 0.3 s timeouts must not take seconds: the client is not hanging"
    assert "no response in time" in str(caught.value) and server.url in str(caught.value)


def test_a_body_cut_off_mid_way_is_a_connection_error_after_retries(client_for) -> None:
    with RawServer(cut_off_body) as server:
        client = client_for(server.url, max_retries=2)
        with pytest.raises(sdk.APIConnectionError) as caught:
            client.get_item(item_id=1)  # type: ignore[attr-defined]
        assert len(server.accepted) == 3
    assert "broke off" in str(caught.value)


def test_an_unreachable_server_is_a_connection_error_naming_the_setting(client_for) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = client_for(url, max_retries=0)
    with pytest.raises(sdk.APIConnectionError) as caught:
        client.health()  # type: ignore[attr-defined]
    message = str(caught.value)
    assert "cannot connect" in message and url in message and "APP_BASE_URL" in message
    assert not isinstance(caught.value, sdk.APITimeoutError)


def test_a_base_url_pointing_at_some_other_web_server_says_what_it_got(client_for) -> None:
    with RawServer(html_404) as server:
        client = client_for(server.url)
        with pytest.raises(sdk.NotFoundError) as caught:
            client.get_item(item_id=1)  # type: ignore[attr-defined]
    assert "Not Found" in str(caught.value) and "/api/v1/items/1" in str(caught.value)
