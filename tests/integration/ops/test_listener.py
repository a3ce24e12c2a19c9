"""The health listener inside a real supervisord: hung programs restarted, FATAL ones retried with
backoff, and the restart limit holding. Short settings (K=2, grace 15 s, 1 restart per window)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.integration.ops.conftest import freeze, healthy, info, listener_log, thaw
from tests.support.stack import Stack
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack

SETTINGS = {
    "HEALTHCHECK_FAILURES": "2",
    "HEALTHCHECK_GRACE_SECONDS": "15",
    "HEALTHCHECK_MAX_RESTARTS": "1",
    "HEALTHCHECK_WINDOW_SECONDS": "600",
    "HEALTHCHECK_BACKOFF_MIN": "3",
    "HEALTHCHECK_BACKOFF_MAX": "60",
    "HEALTH_PROBE_TIMEOUT": "1",
    "API_WORKERS": "1",
}
# Exits at once until var/flaky-ok exists: FATAL after its first try (startretries = 0).
FLAKY = """
[program:flaky]
command = /bin/sh -c 'test -f var/flaky-ok && exec sleep 3600; echo "flaky: var/flaky-ok is missing"; exit 3'
startsecs = 1
startretries = 0
autorestart = true
redirect_stderr = true
stdout_logfile = logs/flaky.log
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The api and flaky are the programs under test: no Vite, one example worker.
    home = tmp_path_factory.mktemp("listener")
    with Stack(home, env=SETTINGS, extra_programs=FLAKY, frontend=False, workers=1) as running:
        wait_until(lambda: healthy(running.api_url + "/health"), timeout=90, message="the api")
        yield running


def log_lines(stack: Stack, pattern: str) -> list[tuple[datetime, str]]:
    found = []
    for line in listener_log(stack).splitlines():
        if re.search(pattern, line):
            found.append((datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f"), line))
    return found


def uptime(stack: Stack, name: str) -> int:
    p = info(stack, name)
    return p["now"] - p["start"] if p["statename"] == "RUNNING" else 0


def test_hung_api_is_restarted_after_k_failed_probes(stack: Stack) -> None:
    wait_until(lambda: uptime(stack, "api") > 15, timeout=60, interval=0.5, message="the api past its grace")
    pid = freeze(stack, "api")
    try:
        wait_until(
            lambda: info(stack, "api")["pid"] not in (pid, 0) and healthy(stack.api_url + "/health"),
            timeout=90,
            message=lambda: "a new, healthy api\n" + listener_log(stack),
        )
    finally:
        thaw(pid)
    failures = log_lines(stack, r"api liveness check failed: timed out")
    restarts = log_lines(
        stack, r"WARNING healthcheck\[\d+\]: restart: api: 2 consecutive failed liveness checks"
    )
    assert len(restarts) == 1, listener_log(stack)
    assert len([f for f in failures if f[0] <= restarts[0][0]]) >= 2  # K probes failed before it acted


def test_restart_limit_holds_then_the_program_is_left_alone(stack: Stack) -> None:
    wait_until(lambda: uptime(stack, "api") > 15, timeout=60, interval=0.5, message="the api past its grace")
    pid = freeze(stack, "api")
    try:
        wait_until(
            lambda: log_lines(
                stack,
                r"ERROR healthcheck\[\d+\]: api: .*already restarted 1 times in 600s: "
                r"leaving it alone",
            ),
            timeout=60,
            message=lambda: "the listener to give up\n" + listener_log(stack),
        )
        assert info(stack, "api")["pid"] == pid  # not restarted again
        assert len(log_lines(stack, r"restart: api:")) == 1
    finally:
        thaw(pid)
    wait_until(
        lambda: healthy(stack.api_url + "/health"), timeout=30, message="the api to answer once continued"
    )


def test_fatal_program_is_started_again_with_growing_delays(stack: Stack) -> None:
    attempts = lambda: log_lines(stack, r"start: flaky: FATAL; starting it again")  # noqa: E731
    wait_until(
        lambda: len(attempts()) >= 2,
        timeout=90,
        message=lambda: "two starts of flaky\n" + listener_log(stack),
    )
    first, second = attempts()[:2]
    assert "attempt 1, next delay 6s" in first[1] and "attempt 2, next delay 12s" in second[1]
    # The second start waited at least the doubled delay after flaky went FATAL again.
    assert (second[0] - first[0]).total_seconds() >= 6
    (stack.home / "var" / "flaky-ok").touch()
    wait_until(
        lambda: info(stack, "flaky")["statename"] == "RUNNING",
        timeout=60,
        message=lambda: "flaky to run once it can\n" + listener_log(stack),
    )
