"""bin/monitor.py against a real stack: status, JSON, watch, restart (named, hung, nothing to do)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.ops.conftest import MONITOR, freeze, info, monitor, thaw
from tests.support.processes import interrupt
from tests.support.stack import REPO, Stack
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack
# The monitor finds and restarts a hung program here: the health listener must not restart it first
# (on a busy machine it did, between the test's two monitor runs). The listener has its own tests.
STACK_SETTINGS = {"HEALTHCHECK_FAILURES": "1000", "API_WORKERS": "1"}
# Nothing here touches the frontend: no Vite dev server (the process list follows the conf; the
# monitor's probe of Vite is test_start_all's).
STACK_OPTIONS = {"frontend": False}


def test_status_table_every_process_healthy_exit_0(stack: Stack) -> None:
    done = monitor(stack)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "PID", "UPTIME", "HEALTH", "DETAIL"]
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert sorted(rows) == stack.declared_names()  # api, frontend, healthcheck, worker_0, worker_1, ...
    assert rows["api"][1] == "RUNNING" and rows["api"][4] == "ok"
    assert rows["api"][-1] == f"{stack.api_url}/health"
    assert rows["worker_1"][-1] == f"{stack.worker_url(1)}/health"
    assert lines[-1] == f"supervisord RUNNING, {len(rows)} processes, all healthy"


def test_json_status(stack: Stack) -> None:
    done = monitor(stack, "--json")
    assert done.returncode == 0
    body = json.loads(done.stdout)
    assert body["supervisord"] == "RUNNING" and body["healthy"] is True
    api = next(p for p in body["processes"] if p["name"] == "api")
    assert api["pid"] == info(stack, "api")["pid"] and api["health"]["status"] == 200


def test_restart_with_nothing_failed_does_nothing(stack: Stack) -> None:
    pid = info(stack, "api")["pid"]
    done = monitor(stack, "--restart")
    assert done.returncode == 0
    count = len(stack.declared_names())
    assert done.stdout.startswith(f"nothing to restart: all {count} processes are RUNNING and healthy")
    assert info(stack, "api")["pid"] == pid


def test_restart_named_program_waits_until_healthy(stack: Stack) -> None:
    pid = info(stack, "worker_0")["pid"]
    done = monitor(stack, "--restart", "worker_0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restarting worker_0 (RUNNING)" in done.stdout
    assert "restarted worker_0: healthy" in done.stdout
    after = info(stack, "worker_0")
    assert after["statename"] == "RUNNING" and after["pid"] != pid


def test_unknown_name_is_one_line_exit_1(stack: Stack) -> None:
    done = monitor(stack, "--restart", "nosuch")
    assert done.returncode == 1
    known = ", ".join(stack.declared_groups())  # api, frontend, healthcheck, worker, ...
    assert done.stderr.startswith(f"monitor.py: no program named 'nosuch' (known: {known})")
    assert "Traceback" not in done.stderr


def test_hung_api_is_found_and_restarted(stack: Stack) -> None:
    pid = freeze(stack, "api")
    try:
        status = monitor(stack)
        assert status.returncode == 1
        assert "health check failed: timed out" in status.stdout
        done = monitor(stack, "--restart")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "restarting api (RUNNING: health check failed: timed out" in done.stdout
        assert "restarted api: healthy" in done.stdout
        assert info(stack, "api")["pid"] != pid
    finally:
        thaw(pid)
    assert monitor(stack).returncode == 0


def test_watch_marks_changes_and_ends_cleanly_on_ctrl_c(stack: Stack) -> None:
    watcher = subprocess.Popen(
        [sys.executable, MONITOR, "--watch", "--interval", "0.3"],
        cwd=REPO,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert watcher.stdout is not None
        while "all healthy" not in "".join(lines):
            lines.append(watcher.stdout.readline())
            assert lines[-1] or watcher.poll() is None, "watch ended early:\n" + "".join(lines)
        stack.rpc().supervisor.stopProcess("worker:worker_1")
        stack.rpc().supervisor.startProcess("worker:worker_1", False)
        wait_until(
            lambda: lines.append(watcher.stdout.readline()) or "* worker_1: RUNNING" in "".join(lines),
            timeout=60,
            message=lambda: "watch to mark worker_1 running again:\n" + "".join(lines),
        )
    finally:
        _out, err = interrupt(watcher)
    text = "".join(lines)
    assert "* worker_1: STOPPED" in text or "* worker_1: STARTING" in text
    assert watcher.returncode == 0 and "Traceback" not in err
