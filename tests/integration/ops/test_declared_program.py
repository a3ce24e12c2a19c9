"""A supervised program added by one conf file, dropped into a running stack: bin/monitor.py,
``ctl status``, the health listener and the admin services endpoint all show (and act on) its
declared health check; and the tools' probes stay out of the API's access log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.ops.conftest import ctl, freeze, healthy, info, listener_log, monitor, thaw
from tests.support import plain_http
from tests.support.net import free_port
from tests.support.stack import REPO, Stack
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack

GUIDE = REPO / "docs" / "extending.md"
RECIPE = re.compile(r"<!-- recipe: conf/supervisord.d/reports.conf -->\n```ini\n(?P<code>.*?)```", re.DOTALL)
SETTINGS = {"HEALTHCHECK_GRACE_SECONDS": "3", "HEALTH_PROBE_TIMEOUT": "1", "API_WORKERS": "1"}
PASSWORD = "correct horse battery staple"


def reports_conf(port: int) -> str:
    """docs/extending.md's recipe as written: only its port is swapped for a free one, and its
    checkout-relative paths (the file lives in this stack's conf.d/) point at the repository."""
    recipe = RECIPE.search(GUIDE.read_text())
    assert recipe is not None, "docs/extending.md lost its reports.conf recipe"
    return recipe["code"].replace("8200", str(port)).replace("%(here)s/../../", f"{REPO}/")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("declared")
    extra = "; programs dropped in by the test\n"
    # The programs under test are the ones dropped in: no Vite, one example worker beside them.
    with Stack(home, env=SETTINGS, extra_programs=extra, frontend=False, workers=1) as running:
        running.wait_running()
        running.wait_healthy()
        port = free_port()
        (home / "conf.d" / "reports.conf").write_text(reports_conf(port))
        rpc = running.rpc().supervisor
        rpc.reloadConfig()  # what `supervisorctl update` does
        rpc.addProcessGroup("reports")
        running.reports_url = f"http://127.0.0.1:{port}/"  # type: ignore[attr-defined]
        wait_until(lambda: reports_up(running), timeout=30, message="reports RUNNING and answering")
        yield running


def reports_up(stack: Stack) -> bool:
    """RUNNING for supervisord (past startsecs) and answering: what the tools call healthy."""
    return info(stack, "reports")["statename"] == "RUNNING" and healthy(stack.reports_url)  # type: ignore[attr-defined]


def test_monitor_shows_the_new_programs_health(stack: Stack) -> None:
    done = monitor(stack, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    reports = next(p for p in json.loads(done.stdout)["processes"] if p["name"] == "reports")
    assert reports["health_url"] == stack.reports_url  # type: ignore[attr-defined]
    assert reports["health"]["ok"] is True and reports["healthy"] is True


def test_ctl_status_shows_the_new_programs_health(stack: Stack) -> None:
    done = ctl(stack, "status")
    assert done.returncode == 0, done.stdout + done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("reports "))
    assert re.search(r"RUNNING .* ok \d+ms +" + re.escape(stack.reports_url), row), row  # type: ignore[attr-defined]
    assert f"{len(stack.declared_names())} processes, all healthy" in done.stdout  # reports among them


def test_the_services_endpoint_shows_the_new_programs_health(stack: Stack) -> None:
    from store.accounts import create_user
    from store.db import Database

    db = Database(f"sqlite:///{stack.home / 'var' / 'app.db'}")
    try:
        with db.session() as session:
            create_user(session, email="ops@example.com", password=PASSWORD, is_admin=True)
    finally:
        db.engine.dispose()
    login = plain_http.post(
        stack.api_url + "/api/v1/auth/login",
        json={"email": "ops@example.com", "password": PASSWORD},
        timeout=10,
    )
    token = login.json()["access_token"]
    r = plain_http.get(
        stack.api_url + "/api/v1/admin/services", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert r.status_code == 200, r.text
    reports = next(p for p in r.json()["programs"] if p["name"] == "reports")
    assert reports["health_url"] == stack.reports_url and reports["health"]["ok"] is True  # type: ignore[attr-defined]


def test_the_listener_restarts_the_new_program_when_it_hangs(stack: Stack) -> None:
    wait_until(
        lambda: info(stack, "reports")["now"] - info(stack, "reports")["start"] > 3,
        timeout=30,
        message="reports past the listener's grace",
    )
    pid = freeze(stack, "reports")
    try:
        wait_until(
            lambda: info(stack, "reports")["pid"] not in (pid, 0) and reports_up(stack),
            timeout=60,
            message=lambda: "a new, healthy reports\n" + listener_log(stack),
        )
    finally:
        thaw(pid)
    assert re.search(r"restart: reports: 2 consecutive failed liveness checks", listener_log(stack))


def health_lines(home: Path) -> int:
    return sum("GET /health" in line for line in (home / "logs" / "api.log").read_text().splitlines())


def test_probes_stay_out_of_the_access_log_other_requests_do_not(stack: Stack) -> None:
    before = health_lines(stack.home)
    for _ in range(3):
        assert monitor(stack).returncode == 0  # each probes the API's /health
    assert health_lines(stack.home) == before
    assert plain_http.get(stack.api_url + "/health", timeout=5).status_code == 200
    wait_until(lambda: health_lines(stack.home) == before + 1, timeout=10, message="the access line")


def team_conf(port: int) -> str:
    """A team's program in the pattern workers.conf uses, with its own health port in environment=:
    the example worker reads WORKER_HEALTH_PORT from its environment (--health-port auto)."""
    return f"""[program:team]
command = {REPO}/.venv/bin/python -m workers.example_worker --worker-id %(process_num)d --health-port auto
process_name = %(program_name)s_%(process_num)d
numprocs = 1
environment = PATH="{REPO}/.venv/bin:%(ENV_PATH)s",WORKER_HEALTH_PORT="{port}"
health_check = http://{{WORKER_HEALTH_HOST}}:{{WORKER_HEALTH_PORT+process_num}}/health
liveness_check = http://{{WORKER_HEALTH_HOST}}:{{WORKER_HEALTH_PORT+process_num}}/livez
startsecs = 1
stopasgroup = true
killasgroup = true
redirect_stderr = true
stdout_logfile = logs/team.log
"""


def test_a_programs_own_environment_fills_its_health_urls(stack: Stack) -> None:
    port = free_port()
    (stack.home / "conf.d" / "team.conf").write_text(team_conf(port))
    rpc = stack.rpc().supervisor
    rpc.reloadConfig()
    rpc.addProcessGroup("team")
    try:
        wait_until(lambda: healthy(f"http://127.0.0.1:{port}/livez"), timeout=60, message="team_0 answering")

        def team_entry() -> dict[str, Any]:
            done = monitor(stack, "--json")
            return next(p for p in json.loads(done.stdout)["processes"] if p["name"] == "team_0")

        # Alive first (/livez), then ready (/health) once its first poll of the queue answered.
        team = wait_until(
            lambda: (t := team_entry())["healthy"] is True and t["live"] is True and t,
            timeout=60,
            message=lambda: f"team_0 healthy and live: {team_entry()}",
        )
        # Probed on its own port, not on the stack's workers' (where worker_0 would answer "ok").
        assert team["health_url"] == f"http://127.0.0.1:{port}/health"
        assert team["liveness_url"] == f"http://127.0.0.1:{port}/livez"
        start = info(stack, "team_0")["start"]
        grace = float(SETTINGS["HEALTHCHECK_GRACE_SECONDS"])
        # Several of the listener's checks past its grace: it never restarts the healthy program.
        wait_until(lambda: info(stack, "team_0")["now"] - start > grace + 8, timeout=60, interval=0.5)
        assert info(stack, "team_0")["start"] == start, listener_log(stack)
        # A probe while it was still starting (connection refused, "not counted") is fine; a counted
        # failure of the healthy program is not.
        counted = [
            line
            for line in listener_log(stack).splitlines()
            if "team_0 liveness check failed" in line and "not counted" not in line
        ]
        assert counted == [], listener_log(stack)
    finally:
        rpc.stopProcessGroup("team")
        rpc.removeProcessGroup("team")
