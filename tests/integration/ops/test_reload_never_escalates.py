"""Reloads under supervisord with the health listener on a busy machine: HUP twice in a row, and a
HUP while the API is still starting, never make the listener restart the API (a reload forks new
workers: it is reloading, not hung), and the API serves the whole time (requests wait in the listen
backlog rather than fail). Harsh listener settings: a probe every second, 1 s timeout, 2 failures."""

from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import plain_http
from tests.support.net import free_port, port_is_free
from tests.support.processes import processes_mentioning
from tests.support.stack import REPO
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack

VENV_BIN = Path(sys.executable).parent
SETTINGS = {
    "HEALTHCHECK_INTERVAL": "1",
    "HEALTHCHECK_FAILURES": "2",
    "HEALTHCHECK_GRACE_SECONDS": "10",
    "HEALTH_PROBE_TIMEOUT": "1",
    "API_WORKERS": "2",
}
CONF = """[unix_http_server]
file = var/run/supervisor.sock
chmod = 0700

[supervisord]
logfile = logs/supervisord.log
pidfile = var/run/supervisord.pid

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://var/run/supervisor.sock

[include]
files = {repo}/conf/supervisord.d/api.conf {repo}/conf/supervisord.d/healthcheck.conf
"""


# uptime() asks supervisorctl (a process of its own, ~0.3 CPU s), whose answer moves once a second:
# waits on it look once a second.


class ApiUnderSupervisord:
    """The repository's api and healthcheck programs under supervisord, in a temp home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for sub in ("var/run", "logs"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        self.conf = home / "supervisord.conf"
        self.conf.write_text(CONF.format(repo=REPO))
        self.env = {
            **os.environ,
            **SETTINGS,
            "APP_HOME": str(home),
            "APP_ENV": "test",
            "API_PORT": str(self.port),
            "SUPERVISOR_CONFIG": str(self.conf),
            "JWT_SECRET": "test-secret-" + os.urandom(32).hex(),
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        }

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            [str(VENV_BIN / "supervisorctl"), "-c", str(self.conf), *args],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout

    def pid(self) -> int:
        text = self.ctl("pid", "api").strip()
        return int(text) if text.isdigit() else 0

    def ready(self) -> bool:
        try:  # /health: ready, with details (what the stack had before /readyz too)
            return plain_http.get(self.url + "/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def listener_log(self) -> str:
        path = self.home / "logs" / "healthcheck.log"
        return path.read_text() if path.exists() else ""

    def uptime(self) -> int:
        status = self.ctl("status", "api")
        match = re.search(r"uptime (\d+):(\d+):(\d+)", status)
        return int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3]) if match else 0


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiUnderSupervisord]:
    stack = ApiUnderSupervisord(tmp_path_factory.mktemp("reloads"))
    subprocess.run(
        [str(VENV_BIN / "supervisord"), "-c", str(stack.conf)], cwd=stack.home, env=stack.env, check=True
    )
    try:
        wait_until(stack.ready, timeout=180, interval=0.5, message=lambda: stack.listener_log())
        yield stack
    finally:
        stack.ctl("shutdown")
        marker = str(stack.home)
        wait_until(lambda: not processes_mentioning(marker), timeout=90, message="the stack's processes gone")
        wait_until(lambda: port_is_free(stack.port), timeout=30, message="the API's port free")


def spin() -> None:
    while True:
        pass


def read(url: str, stop: threading.Event) -> None:
    with plain_http.client(timeout=60) as http:
        while not stop.is_set():
            try:
                http.get(url)
            except httpx.HTTPError:
                pass  # what readers see is bin/bench reload's business; here they are load


@pytest.fixture
def busy_machine(api: ApiUnderSupervisord) -> Iterator[None]:
    """Four processes spinning on the machine's cores and 16 readers calling the API (the issue's
    loaded machine) while the test runs. They start once the API is past the listener's grace (what
    every test here needs before it acts): the load is for the reloads, not for the wait."""
    wait_until(lambda: api.uptime() > 10, timeout=60, interval=1, message="the API past the listener's grace")
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(4)]
    stop = threading.Event()
    readers = [threading.Thread(target=read, args=(api.url + "/health", stop)) for _ in range(16)]
    for process in spinners:
        process.start()
    for reader in readers:
        reader.start()
    try:
        yield
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=90)
        for process in spinners:
            process.terminate()
            process.join(timeout=10)


def answers(url: str) -> bool:
    """An HTTP answer within 60 s (requests may wait in the listen backlog while workers boot)."""
    try:
        return plain_http.get(url, timeout=60).status_code == 200
    except httpx.HTTPError:
        return False


def test_hup_twice_on_a_busy_machine_never_restarts_the_api(
    api: ApiUnderSupervisord, busy_machine: None
) -> None:
    assert api.uptime() > 10  # past the listener's grace (busy_machine waited for it)
    pid = api.pid()
    before = len(api.listener_log())
    api.ctl("signal", "HUP", "api")
    api.ctl("signal", "HUP", "api")
    assert answers(api.url + "/health")
    # New workers boot slowly on the busy machine: the listener sees probes time out meanwhile.
    wait_until(
        lambda: "liveness check failed" in api.listener_log()[before:] or api.ready(),
        timeout=120,
        interval=0.5,
    )
    wait_until(api.ready, timeout=180, interval=0.5, message=lambda: api.listener_log()[before:])
    # Past the listener's failure window (a check a second, 2 failures) with the new workers serving.
    serving_at = api.uptime()
    wait_until(lambda: api.uptime() >= serving_at + 5, timeout=60, interval=1, message="the window")
    assert api.pid() == pid
    assert "restart: api" not in api.listener_log()[before:], api.listener_log()[before:]


def test_hup_while_the_api_starts_never_restarts_it(api: ApiUnderSupervisord, busy_machine: None) -> None:
    before = len(api.listener_log())
    api.ctl("restart", "api")
    pid = api.pid()
    api.ctl("signal", "HUP", "api")  # the master is still starting: migrations, first workers
    wait_until(api.ready, timeout=180, interval=0.5, message=lambda: api.listener_log()[before:])
    serving_at = api.uptime()
    wait_until(lambda: api.uptime() >= serving_at + 5, timeout=60, interval=1, message="the window")
    assert answers(api.url + "/health")
    assert api.pid() == pid
    assert "restart: api" not in api.listener_log()[before:], api.listener_log()[before:]
