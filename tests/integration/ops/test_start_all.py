"""``monitor.py --start-all``: boots supervisord from nothing, waits for health, ends with table and URLs.

The stack is started by the command under test; Stack is used only for its ports, environment and
the shutdown that checks nothing is left behind.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ops.conftest import monitor
from tests.support.stack import Stack
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack


@pytest.fixture
def unstarted(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    stack.started = True  # whatever --start-all starts, stop() shuts down and checks
    try:
        yield stack
    finally:
        if stack.socket.exists():
            stack.stop()


def worker_names(stack: Stack) -> list[str]:
    """The example workers' processes as the conf declares them: the end of --start-all lists each."""
    return [p.name for p in stack.declared() if p.group == "worker"]


def test_start_all_from_nothing_then_again(unstarted: Stack) -> None:
    done = monitor(unstarted, "--start-all", "--timeout", "150")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    assert out[0].startswith("started supervisord (") and str(unstarted.home) in out[0]
    assert any(line.startswith("[") and "healthy" in line for line in out)  # progress
    summary = f"supervisord RUNNING, {len(unstarted.declared_names())} processes, all healthy"
    assert summary in out
    # The table and then where to go: bin/run prints exactly this (the API, the app, each worker).
    workers = worker_names(unstarted)
    assert workers[:2] == ["worker_0", "worker_1"]
    api = unstarted.api_url
    assert out[-3 - len(workers) :] == [
        summary,
        f"API       {api}   (health: {api}/health, docs: {api}/docs)",
        f"Frontend  {unstarted.frontend_url}",
        *(f"{name}  {unstarted.worker_url(n)}/health" for n, name in enumerate(workers)),
    ]
    pids = {p["name"]: p["pid"] for p in unstarted.process_info()}

    again = monitor(unstarted, "--start-all", "--timeout", "60")
    assert again.returncode == 0
    assert again.stdout.startswith("supervisord already running\n")
    assert {p["name"]: p["pid"] for p in unstarted.process_info()} == pids  # nothing started twice


@pytest.mark.parametrize(
    ("program", "reason"),
    [
        ("worker_0", "Address already in use"),
        ("api", "Address already in use"),
    ],
)
def test_a_taken_port_is_named_with_the_end_of_the_log(unstarted: Stack, program: str, reason: str) -> None:
    port = unstarted.api_port if program == "api" else unstarted.worker_port  # worker_0's health port
    # The health listener would start the FATAL program again after HEALTHCHECK_BACKOFF_MIN (and
    # again, failing each time, while the test waits): retrying FATAL programs is test_listener's.
    unstarted.env["HEALTHCHECK_BACKOFF_MIN"] = "3600"
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    try:
        done = monitor(unstarted, "--start-all", "--timeout", "25")
        # It fails loudly and stays failed: nothing moved to another port or kept restarting
        # quietly (supervisord gives up after startretries: FATAL, however long each start takes).
        states = wait_until(
            lambda: (
                (s := {p["name"]: p["statename"] for p in unstarted.process_info()})[program] == "FATAL" and s
            ),
            timeout=90,
            interval=0.2,
            message=f"{program} FATAL",
        )
    finally:
        squatter.close()
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert first.startswith("monitor.py: ") and program in first
    assert all(other not in first for other in ("worker_1", "frontend") if other != program)
    assert f"--- end of {program}'s log:" in done.stderr
    assert reason in done.stderr
    assert "Traceback" not in done.stderr
    assert states[program] == "FATAL", states
    summary = done.stdout.splitlines()[-3 - len(worker_names(unstarted))]  # the table still ends the output
    assert f"not healthy: {program}" in summary
