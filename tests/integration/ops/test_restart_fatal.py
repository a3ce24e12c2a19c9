"""``monitor.py --restart`` on a FATAL program: says why it fails, and brings it back once it can run."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration.ops.conftest import info, monitor
from tests.integration.ops.test_listener import FLAKY
from tests.support.stack import Stack
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The listener would retry flaky on its own; a one-hour first delay keeps it out of this test.
    # flaky is the program under test: no Vite, one example worker, one API worker.
    env = {"HEALTHCHECK_BACKOFF_MIN": "3600", "API_WORKERS": "1"}
    home = tmp_path_factory.mktemp("fatal")
    with Stack(home, env=env, extra_programs=FLAKY, frontend=False, workers=1) as running:
        wait_until(lambda: info(running, "flaky")["statename"] == "FATAL", timeout=60, message="flaky FATAL")
        # Everything else healthy first: on a busy machine Vite can still be starting, and an
        # unnamed --restart would then restart it too.
        wait_until(
            lambda: all_healthy_but_flaky(running), timeout=120, message="every program but flaky healthy"
        )
        yield running


def all_healthy_but_flaky(stack: Stack) -> bool:
    processes = json.loads(monitor(stack, "--json").stdout)["processes"]
    return all(p["healthy"] for p in processes if p["name"] != "flaky")


def test_status_names_the_fatal_program(stack: Stack) -> None:
    done = monitor(stack)
    assert done.returncode == 1
    row = next(line for line in done.stdout.splitlines() if line.startswith("flaky "))
    assert row.split()[1] == "FATAL" and "Exited too quickly" in row


def test_restart_of_a_program_that_still_fails_shows_its_log(stack: Stack) -> None:
    done = monitor(stack, "--restart", "--timeout", "30")
    assert done.returncode == 1
    assert "restarting flaky (FATAL: Exited too quickly" in done.stdout
    assert done.stderr.startswith("monitor.py: flaky failed to start\n")
    assert "--- end of flaky's log:\nflaky: var/flaky-ok is missing" in done.stderr
    assert "Traceback" not in done.stderr


def test_restart_brings_a_fatal_program_back(stack: Stack) -> None:
    (stack.home / "var" / "flaky-ok").touch()
    done = monitor(stack, "--restart", "--timeout", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restarted flaky: healthy" in done.stdout
    assert info(stack, "flaky")["statename"] == "RUNNING"
