"""The supervisord client's error mapping, against real unix sockets (no supervisord needed)."""

from __future__ import annotations

import socket
import threading
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from supervisor.xmlrpc import Faults

from ops.errors import (
    OpsError,
    ProgramFailed,
    SupervisorAccessDenied,
    SupervisorFault,
    SupervisorUnreachable,
    UnknownProgram,
)
from ops.rpc import SupervisorClient, SupervisorTransport


def test_missing_socket_means_not_running_exit_2(tmp_path: Path) -> None:
    client = SupervisorClient(str(tmp_path / "nope.sock"))
    with pytest.raises(SupervisorUnreachable) as caught:
        client.snapshot()
    assert caught.value.exit_code == 2
    assert "not running" in str(caught.value) and "nope.sock" in str(caught.value)


def test_stale_socket_nobody_listening_means_not_running(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the file stays, nobody listens: what a killed supervisord leaves behind
    with pytest.raises(SupervisorUnreachable) as caught:
        SupervisorClient(str(path)).snapshot()
    assert caught.value.exit_code == 2 and "stale socket" in str(caught.value)


@pytest.fixture
def silent_server(tmp_path: Path) -> Iterator[str]:
    """A unix socket that accepts connections and never answers: a hung supervisord."""
    path = str(tmp_path / "hung.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_hung_supervisord_times_out_instead_of_blocking(silent_server: str) -> None:
    client = SupervisorClient(silent_server, timeout=0.3)
    with pytest.raises(SupervisorUnreachable, match=r"did not answer within 0.3s"):
        client.snapshot()


class FakeProxy:
    """A stand-in proxy for faults a root test user cannot provoke for real (permission denied)."""

    def __init__(self, error: BaseException | None = None, result: object = None) -> None:
        self.error, self.result = error, result

    def __getattr__(self, method: str) -> object:
        def call(*params: object) -> object:
            if self.error:
                raise self.error
            return self.result

        return call


def test_permission_denied_is_its_own_exit_code() -> None:
    client = SupervisorClient("/x.sock", proxy_factory=lambda: FakeProxy(PermissionError(13, "denied")))
    with pytest.raises(SupervisorAccessDenied) as caught:
        client.call("supervisor.getState")
    assert caught.value.exit_code == 3 and "permission denied" in str(caught.value)


def test_http_401_is_access_denied() -> None:
    error = xmlrpc.client.ProtocolError("localhost/RPC2", 401, "Unauthorized", {})
    client = SupervisorClient("/x.sock", proxy_factory=lambda: FakeProxy(error))
    with pytest.raises(SupervisorAccessDenied):
        client.call("supervisor.getState")


def test_a_new_proxy_is_built_after_a_transport_error() -> None:
    proxies = iter([FakeProxy(ConnectionResetError()), FakeProxy(result={"statename": "RUNNING"})])
    made: list[FakeProxy] = []

    def factory() -> FakeProxy:
        made.append(next(proxies))
        return made[-1]

    client = SupervisorClient("/x.sock", proxy_factory=factory)
    with pytest.raises(SupervisorUnreachable, match=r"cannot talk to supervisord at /x.sock"):
        client.call("supervisor.getState")
    assert client.call("supervisor.getState") == {"statename": "RUNNING"}
    assert len(made) == 2


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (Faults.BAD_NAME, UnknownProgram),
        (Faults.SPAWN_ERROR, ProgramFailed),
        (Faults.SHUTDOWN_STATE, SupervisorUnreachable),
        (Faults.FAILED, SupervisorFault),
    ],
)
def test_faults_map_to_named_errors(code: int, error: type[OpsError]) -> None:
    fault = xmlrpc.client.Fault(code, "text")
    client = SupervisorClient("/x.sock", proxy_factory=lambda: FakeProxy(fault))
    with pytest.raises(error):
        client.call("supervisor.getState", "api")


def test_control_characters_in_log_text_survive_decoding() -> None:
    # supervisord puts raw log text (colour codes included) into its XML; expat alone rejects it.
    from ops.rpc import _log_bytes

    text = "\x1b[32mVITE ready\x1b[0m\x07 tab\there"
    body = (
        "<?xml version='1.0'?><methodResponse><params><param><value><array><data>"
        f"<value><string>{text}</string></value><value><int>42</int></value>"
        "<value><boolean>0</boolean></value></data></array></value></param></params>"
        "</methodResponse>"
    ).encode()
    # What supervisor's transport feeds its parser: the body, non-ASCII as character references.
    parser, unmarshaller = SupervisorTransport("unix:///x.sock", timeout=1).getparser()
    parser.feed(body.decode().encode("ascii", "xmlcharrefreplace"))
    parser.close()
    ((data, offset, overflow),) = unmarshaller.close()
    assert (_log_bytes(data), offset, overflow) == (text.encode(), 42, False)


def test_a_start_without_wait_that_died_at_once_is_left_to_the_callers_wait() -> None:
    # supervisord reaps right after spawning: an instant exit may answer SPAWN_ERROR (a race the
    # real supervisord does not lose on demand, hence the fake). Without wait it is a start made;
    # wait_healthy then finds it FATAL and shows its log. With wait, it is the failure itself.
    fault = xmlrpc.client.Fault(Faults.SPAWN_ERROR, "SPAWN_ERROR: flaky")
    client = SupervisorClient("/x.sock", proxy_factory=lambda: FakeProxy(fault))
    assert client.start("flaky", wait=False) is True
    with pytest.raises(ProgramFailed, match="flaky failed to start"):
        client.start("flaky", wait=True)
    missing = xmlrpc.client.Fault(Faults.NO_FILE, "NO_FILE: /nope")
    client = SupervisorClient("/x.sock", proxy_factory=lambda: FakeProxy(missing))
    with pytest.raises(ProgramFailed, match="cannot be started"):
        client.start("flaky", wait=False)
