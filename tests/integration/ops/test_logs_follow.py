"""``ctl logs tail -f`` across log rotations and a program restart: every line once, in order."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ops.counter_program import LINES
from tests.support.processes import interrupt
from tests.support.stack import REPO, Stack
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack
PROGRAM = Path(__file__).with_name("counter_program.py")
MARKER = "the follower is following"
MAX_BYTES = 20_000  # each run writes ~85 kB: three or four rotations per run

EXTRA = f"""
[program:counter]
command = {sys.executable} -u {PROGRAM}
autostart = false
autorestart = false
startsecs = 0
stopsignal = TERM
redirect_stderr = true
stdout_logfile = logs/counter.log
stdout_logfile_maxbytes = {MAX_BYTES}
stdout_logfile_backups = 12
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The counter is the program under test: no Vite, one example worker, one API worker.
    home = tmp_path_factory.mktemp("logs")
    options = {"frontend": False, "workers": 1}
    with Stack(home, env={"API_WORKERS": "1"}, extra_programs=EXTRA, **options) as running:
        states = lambda: {p["name"]: p["statename"] for p in running.process_info()}  # noqa: E731
        wait_until(lambda: states().get("api") == "RUNNING", timeout=90, message="the api to run")
        yield running


def expected_run(run: int) -> list[str]:
    return (
        [f"run {run} starting"]
        + [f"run {run} line {i:05d} {'x' * (i % 50)}" for i in range(LINES)]
        + [f"run {run} done"]
    )


def test_follow_across_rotation_and_restart_every_line_once_in_order(stack: Stack) -> None:
    # A marker line that the follower prints once it has found the end of the log: only then is the
    # program started, so nothing it writes can fall before the follower's starting point.
    with (stack.home / "logs" / "counter.log").open("a") as log:
        log.write(f"{MARKER}\n")
    follower = subprocess.Popen(
        [sys.executable, "-m", "cli.ctl", "logs", "tail", "-n", "1", "-f", "--interval", "0.1", "counter"],
        cwd=REPO,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    # Read on a thread so that every wait below keeps its deadline.
    reader = threading.Thread(
        target=lambda: seen.extend(line.rstrip("\n") for line in follower.stdout or []), daemon=True
    )
    reader.start()

    def progress() -> str:
        return f"{len(seen)} lines seen, last {seen[-3:]}\n{stack.log_tails(5)}"

    rpc = stack.rpc().supervisor
    try:
        wait_until(lambda: follower.poll() is None and MARKER in seen, timeout=30, message="the follower")
        rpc.startProcess("counter", False)
        wait_until(lambda: "run 1 done" in seen, timeout=60, message=progress)
        rpc.stopProcess("counter")
        rpc.startProcess("counter", False)
        wait_until(lambda: "run 2 done" in seen, timeout=60, message=progress)
    finally:
        _, err = interrupt(follower)
        reader.join(10)
    assert follower.returncode == 0 and "Traceback" not in err, err
    rotations = sorted(p.name for p in (stack.home / "logs").glob("counter.log.*"))
    assert len(rotations) >= 5, rotations  # the log really rotated, several times per run
    assert seen == [MARKER, *expected_run(1), *expected_run(2)]
