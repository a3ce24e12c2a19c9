"""The whole stack under a real supervisord, booted from the repository's own supervisord.conf.

One stack per module (it takes a few seconds to come up); each test reads it, none restarts it,
and the shutdown test, after them, shuts it down.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import plain_http
from tests.support.net import port_is_free
from tests.support.processes import processes_mentioning
from tests.support.stack import REPO, Stack

pytestmark = pytest.mark.stack
SUPERVISORCTL = str(Path(sys.executable).parent / "supervisorctl")


def test_every_program_is_running(stack: Stack) -> None:
    names = {p["name"]: p["statename"] for p in stack.process_info()}
    assert {"api", "frontend", "healthcheck", "worker_0", "worker_1"} <= set(stack.declared_names())
    assert names == {n: "RUNNING" for n in stack.declared_names()}


def test_api_health_answers_healthy(stack: Stack) -> None:
    response = plain_http.get(stack.api_url + "/health", timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["uptime_seconds"] >= 0
    assert "size" in body["connection_pool"]


def test_each_worker_answers_on_its_own_health_port(stack: Stack) -> None:
    for n in range(stack.workers):
        response = plain_http.get(stack.worker_url(n) + "/health", timeout=5)
        assert response.status_code == 200, response.text


def test_frontend_serves_the_app_and_proxies_health(stack: Stack) -> None:
    page = plain_http.get(stack.frontend_url + "/", timeout=10)
    assert page.status_code == 200
    assert '<div id="root">' in page.text
    proxied = plain_http.get(stack.frontend_url + "/health", timeout=10)
    assert proxied.status_code == 200 and proxied.json()["status"] == "healthy"


def test_plain_supervisorctl_works_from_the_stack_home(stack: Stack) -> None:
    # From the home directory the relative serverurl in supervisord.conf finds this stack's socket.
    status = stack.run(SUPERVISORCTL, "-c", str(REPO / "supervisord.conf"), "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "api" in status.stdout and "RUNNING" in status.stdout
    tail = stack.run(SUPERVISORCTL, "-c", str(REPO / "supervisord.conf"), "tail", "api")
    assert tail.returncode == 0
    assert "Booting worker" in tail.stdout or "GET /health" in tail.stdout, tail.stdout


def test_the_socket_is_private_to_its_owner(stack: Stack) -> None:
    mode = stat.S_IMODE(os.stat(stack.socket).st_mode)
    assert mode == 0o700, oct(mode)


def test_logs_are_written_per_program(stack: Stack) -> None:
    logs = {p.name for p in (stack.home / "logs").glob("*.log")}
    assert {"api.log", "frontend.log", "worker_0.log", "worker_1.log", "supervisord.log"} <= logs


def test_shutdown_leaves_nothing_running(stack: Stack) -> None:
    # The module's stack, booted from nothing (every program RUNNING and healthy), shut down by the
    # last test that uses it: no second stack is booted for this.
    pids = [p["pid"] for p in stack.process_info()]
    stack.stop()
    assert not processes_mentioning(str(stack.home))
    assert all(port_is_free(p) for p in stack.ports)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()


def test_supervisorctl_reports_no_stack_when_none_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [SUPERVISORCTL, "-c", str(REPO / "supervisord.conf"), "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "no such file" in (result.stdout + result.stderr).lower()
