"""A team's own program file, added as docs/extending.md says (``conf/supervisord.d/links.conf``,
"nothing in Python changes"), passes the suite's process-list, monitor, ctl and listener tests
unchanged: they expect what the conf files declare, never a list of their own.

The tests run as a user runs them, in a checkout of their own: a copy of this one (its .venv and
node_modules linked) with the program file added, and pytest started there on the tests below.
Their stacks' logs (kept in the copy's --basetemp) show the team's program ran in each of them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.stack import REPO

pytestmark = pytest.mark.stack

# What a team writes: a worker of its own, numbered from 50 so its health port (WORKER_HEALTH_PORT
# + 50) follows the stack's settings and never meets the example workers' ports.
LINKS_CONF = """\
; links: the team's link checker, one conf file as docs/extending.md says.
[program:links]
command = %(here)s/../../.venv/bin/python -m workers.example_worker
    --worker-id %(process_num)d --health-port auto
process_name = %(program_name)s_%(process_num)d
numprocs = 1
numprocs_start = 50
environment = PATH="%(here)s/../../.venv/bin:%(ENV_PATH)s"
autostart = true
health_check = http://{WORKER_HEALTH_HOST}:{WORKER_HEALTH_PORT+process_num}/health
autorestart = true
startsecs = 3
stopsignal = TERM
stopwaitsecs = 60
stopasgroup = true
killasgroup = true
redirect_stderr = true
stdout_logfile = logs/%(program_name)s_%(process_num)d.log
"""
# The tests that expect the set of programs (they read the conf files): the process list,
# bin/monitor.py, ctl, start-all and the listener. Two runs, one per module here, so that the
# suite's workers (--dist loadfile) run them side by side: each run's stacks boot in sequence.
TESTS = [
    "tests/integration/test_stack.py::test_every_program_is_running",
    "tests/integration/ops/test_monitor.py::test_status_table_every_process_healthy_exit_0",
    "tests/integration/ops/test_monitor.py::test_json_status",
    "tests/integration/ops/test_monitor.py::test_restart_with_nothing_failed_does_nothing",
    "tests/integration/ops/test_monitor.py::test_unknown_name_is_one_line_exit_1",
    "tests/integration/ops/test_ctl.py::test_status_shows_api_pool_database_programs_and_workers",
    "tests/integration/ops/test_ctl.py::test_status_json",
    "tests/integration/ops/test_ctl.py::test_unknown_program_is_one_line",
    "tests/integration/ops/test_start_all.py::test_start_all_from_nothing_then_again",
    "tests/integration/ops/test_listener.py::test_hung_api_is_restarted_after_k_failed_probes",
]
# This module's run: the process list, start-all and the listener; test_team_program_tools.py's:
# bin/monitor.py and ctl.
TOOLS = ("tests/integration/ops/test_monitor.py", "tests/integration/ops/test_ctl.py")
LINKED = (".venv", "src/frontend/node_modules")


def team_checkout(root: Path) -> Path:
    """This checkout's files (tracked and new, as `git ls-files` sees them) copied to ``root``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    if listed.returncode != 0:  # not a git checkout (an unpacked archive): everything but the local state
        shutil.copytree(
            REPO, root, symlinks=True, ignore=shutil.ignore_patterns(".git", *LINKED, "var", "logs", "dist")
        )
    else:
        for name in listed.stdout.decode().split("\0"):
            source = REPO / name
            if name and source.is_file():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, root / name)
    for name in LINKED:
        (root / name).symlink_to(REPO / name)
    return root


def passes_with_a_teams_added_program(tests: list[str], tmp_path: Path) -> None:
    """``tests`` pass in a copy of this checkout with the team's program file added, and each of
    their stacks (one per module, one per --start-all) ran the team's program, healthy."""
    checkout = team_checkout(tmp_path / "team")
    (checkout / "conf" / "supervisord.d" / "links.conf").write_text(LINKS_CONF)
    # Not this run's pytest state, but its worker's share of the free ports (tests/support/net.py).
    keep = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") or k in keep}
    # Nor its meters: the run's CPU seconds count in this test's (TEST_CPU's cgroup holds its
    # children; a run of its own would move into one of its own), and its times are not the suite's.
    for name in ("TEST_CPU", "TEST_TIMES_FILE"):
        env.pop(name, None)
    # The copy's src/ before the .venv's editable install of this checkout's.
    env["PYTHONPATH"] = os.pathsep.join(str(checkout / p) for p in ("src", "python-sdk/src"))
    # Short: a stack's socket (home/var/run/supervisor.sock) must fit a unix socket's 107 bytes.
    basetemp = Path(tempfile.mkdtemp(prefix="team-"))
    try:
        pytest_args = ["-p", "no:cacheprovider", "-q", f"--basetemp={basetemp}", *tests]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *pytest_args],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        out = done.stdout + done.stderr
        stacks = sorted(basetemp.rglob("logs/supervisord.log"))
        logs = {log: log.read_text() for log in stacks}
    finally:
        shutil.rmtree(basetemp, ignore_errors=True)
    assert done.returncode == 0, out
    summary = re.search(r"^(?:=+ )?(\d+) passed(.*) in [\d.]+s", out, re.MULTILINE)
    assert summary is not None and int(summary[1]) == len(tests), out
    assert "skipped" not in summary[2] and "error" not in summary[2], out
    # Each stack (one per module, one --start-all) ran the team's program, healthy.
    modules = {test.split("::")[0] for test in tests}
    assert len(logs) >= len(modules), stacks
    for log, text in logs.items():
        assert "success: links_50 entered RUNNING state" in text, log


def test_the_process_list_start_all_and_listener_pass_with_a_teams_added_program(tmp_path: Path) -> None:
    passes_with_a_teams_added_program([t for t in TESTS if not t.startswith(TOOLS)], tmp_path)
