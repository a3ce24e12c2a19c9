"""The event listener protocol and that a slow check never holds up the answer to supervisord."""

from __future__ import annotations

import io
import threading

from config.config import load
from ops.healthcheck import HealthListener, parse_header, serve
from ops.policy import HealthPolicy, Limits


def event(name: str, payload: bytes = b"when:1 serial:1") -> bytes:
    header = (
        f"ver:3.0 server:supervisor serial:1 pool:healthcheck poolserial:1 "
        f"eventname:{name} len:{len(payload)}\n"
    ).encode()
    return header + payload


def test_protocol_ready_then_result_for_each_event() -> None:
    stdin = io.BytesIO(event("TICK_5") + event("PROCESS_STATE_RUNNING", b"processname:api groupname:api"))
    stdout = io.BytesIO()
    seen: list[tuple[str, bytes]] = []
    serve(stdin, stdout, lambda h, p: seen.append((h["eventname"], p)))
    assert stdout.getvalue() == b"READY\nRESULT 2\nOKREADY\nRESULT 2\nOKREADY\n"
    assert seen == [
        ("TICK_5", b"when:1 serial:1"),
        ("PROCESS_STATE_RUNNING", b"processname:api groupname:api"),
    ]


def test_header_parsing() -> None:
    header = parse_header(b"ver:3.0 eventname:TICK_5 len:15\n")
    assert header == {"ver": "3.0", "eventname": "TICK_5", "len": "15"}


class _BlockingClient:
    """A supervisord that hangs on the status call until released (a fault we cannot make for real)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def snapshot(self) -> tuple[str, list[object]]:
        self.calls += 1
        self.release.wait(10)
        return "RUNNING", []


def test_a_hung_check_does_not_delay_the_answer_and_skips_later_ticks() -> None:
    client = _BlockingClient()
    listener = HealthListener(client, settings=load(environ={}), policy=HealthPolicy(Limits()))  # type: ignore[arg-type]
    stdin = io.BytesIO(event("TICK_5") * 3)
    stdout = io.BytesIO()
    serve(stdin, stdout, listener.on_event)  # returns although the first check is still blocked
    assert stdout.getvalue().count(b"RESULT 2\nOK") == 3
    assert client.calls == 1
    client.release.set()
    assert listener._check is not None
    listener._check.join(5)
