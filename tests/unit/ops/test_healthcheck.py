"""The event listener protocol (supervisor.childutils) and the listener's own check timer."""

from __future__ import annotations

import io
import threading

from config.config import load
from ops.healthcheck import HealthListener, serve
from ops.policy import HealthPolicy, Limits


def event(name: str, payload: str = "when:1 serial:1") -> str:
    header = (
        f"ver:3.0 server:supervisor serial:1 pool:healthcheck poolserial:1 "
        f"eventname:{name} len:{len(payload)}\n"
    )
    return header + payload


def test_protocol_ready_then_result_for_each_event() -> None:
    stdin = io.StringIO(event("TICK_5") + event("PROCESS_STATE_RUNNING", "processname:api groupname:api"))
    stdout = io.StringIO()
    seen: list[tuple[str, str]] = []
    serve(stdin, stdout, lambda h, p: seen.append((h["eventname"], p)))
    assert stdout.getvalue() == "READY\nRESULT 2\nOKREADY\nRESULT 2\nOKREADY\n"
    assert seen == [
        ("TICK_5", "when:1 serial:1"),
        ("PROCESS_STATE_RUNNING", "processname:api groupname:api"),
    ]


class _BlockingClient:
    """A supervisord that hangs on the status call until released (a fault we cannot make for real)."""

    remote_host = None

    def __init__(self) -> None:
        self.release = threading.Event()
        self.called = threading.Event()
        self.calls = 0

    def snapshot(self) -> tuple[str, list[object]]:
        self.calls += 1
        self.called.set()
        self.release.wait(10)
        return "RUNNING", []


def test_a_hung_check_does_not_delay_the_answers_and_runs_one_at_a_time() -> None:
    client = _BlockingClient()
    settings = load(environ={})
    listener = HealthListener(client, settings, HealthPolicy(Limits(interval=0.01)))  # type: ignore[arg-type]
    stdin = io.StringIO(event("TICK_5") * 3)
    stdout = io.StringIO()
    serve(stdin, stdout, listener.on_event)  # returns although the first check is still blocked
    assert stdout.getvalue().count("RESULT 2\nOK") == 3
    assert client.called.wait(5)
    assert client.calls == 1  # every tick found the timer alive: no second check started
    listener.stop()
    client.release.set()
    assert listener._timer is not None
    listener._timer.join(5)
    assert not listener._timer.is_alive()
