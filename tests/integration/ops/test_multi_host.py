"""Several hosts: bin/monitor.py and ctl status against two isolated supervisords over inet sockets.

Each "host" is its own supervisord with an [inet_http_server] on a free 127.0.0.1 port, a username
and password, and a few small programs; host B's ``flaky`` fails its first start (FATAL) and runs
once restarted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.integration.ops.conftest import MONITOR
from tests.support.net import free_port, port_is_free
from tests.support.processes import processes_mentioning
from tests.support.stack import REPO
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack

USERNAME, PASSWORD = "ops", "s3cret-multi-host"
SLEEP = f'{sys.executable} -c "import time; time.sleep(3600)"'
# Exits 1 on its first run (FATAL: no retries), sleeps on every later one.
FLAKY = (
    f"{sys.executable} -c \"import os, sys, time; m = os.path.join(os.getcwd(), 'ran-once'); "
    f"sys.exit(1) if not os.path.exists(m) and not open(m, 'w').close() else time.sleep(3600)\""
)


@dataclass
class Host:
    home: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        return f"127.0.0.1:{self.port}"

    def rpc(self) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(f"http://{USERNAME}:{PASSWORD}@127.0.0.1:{self.port}/RPC2")

    def infos(self) -> dict[str, dict[str, Any]]:
        with self.rpc() as proxy:
            found: list[dict[str, Any]] = proxy.supervisor.getAllProcessInfo()  # type: ignore[assignment]
        return {i["name"]: i for i in found}


def _program(name: str, command: str, **extra: str) -> str:
    lines = [
        f"[program:{name}]",
        f"command={command}",
        "directory=%(here)s",
        "autorestart=false",
        "startsecs=1",
        "startretries=0",
        "stopwaitsecs=5",
    ]
    lines += [f"{k}={v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _boot(home: Path, port: int, programs: dict[str, str]) -> Host:
    home.mkdir()
    config = home / "supervisord.conf"
    config.write_text(
        "[supervisord]\nnodaemon=true\nlogfile=%(here)s/supervisord.log\npidfile=%(here)s/supervisord.pid\n"
        "childlogdir=%(here)s\n\n"
        f"[inet_http_server]\nport=127.0.0.1:{port}\nusername={USERNAME}\npassword={PASSWORD}\n\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
        + "\n".join(_program(name, command) for name, command in programs.items())
    )
    supervisord = str(Path(sys.executable).parent / "supervisord")
    # The marker in the environment is inherited by every child: how the teardown finds leftovers.
    env = {**os.environ, "MULTI_HOST_TEST_HOME": str(home)}
    process = subprocess.Popen(
        [supervisord, "-c", str(config)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Host(home, port, process)


def _settled(host: Host) -> bool:
    try:
        return all(i["statename"] in ("RUNNING", "FATAL") for i in host.infos().values())
    except OSError:
        return False


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Host, Host, int]]:
    root = tmp_path_factory.mktemp("multi_host")
    port = free_port(3)  # A, B, and one nobody listens on (a host that is down)
    a = _boot(root / "a", port, {"web": SLEEP, "queue": SLEEP})
    b = _boot(root / "b", port + 1, {"web": SLEEP, "flaky": FLAKY})
    try:
        for host in (a, b):
            wait_until(partial(_settled, host), timeout=30, message=f"{host.label} to settle")
        yield a, b, port + 2
    finally:
        for host in (a, b):
            _shut_down(host)


def _shut_down(host: Host) -> None:
    """Stop supervisord (it stops its programs) and check nothing of this host is left."""
    host.process.terminate()
    host.process.wait(timeout=30)
    marker = str(host.home)
    wait_until(
        lambda: not processes_mentioning(marker),
        timeout=30,
        message=lambda: f"leftovers: {processes_mentioning(marker)}",
    )
    wait_until(lambda: port_is_free(host.port), timeout=20, message=f"port {host.port} to be free")


def _env(tmp: Path, password: str = PASSWORD) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERVISOR_")}
    # The health checks the tools probe are declared by the repository's conf files.
    config = str(REPO / "supervisord.conf")
    return {
        **env,
        "APP_HOME": str(tmp),
        "SUPERVISOR_CONFIG": config,
        "SUPERVISOR_USERNAME": USERNAME,
        "SUPERVISOR_PASSWORD": password,
    }


def monitor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, MONITOR, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def _sections(stdout: str) -> dict[str, dict[str, list[str]]]:
    """host label -> {process name: row cells}, from the grouped plain table."""
    out: dict[str, dict[str, list[str]]] = {}
    current = ""
    for line in stdout.splitlines():
        if line.startswith("== host "):
            current = line.removeprefix("== host ").removesuffix(" ==")
            out[current] = {}
        elif current and line.split() and line.split()[0] not in ("NAME", "supervisord", "DOWN:"):
            out[current][line.split()[0]] = line.split()
    return out


def test_table_grouped_by_host(hosts: tuple[Host, Host, int], tmp_path: Path) -> None:
    a, b, _ = hosts
    done = monitor(_env(tmp_path), "--server", a.url, "--server", b.url)
    assert done.returncode == 1, done.stdout + done.stderr  # B's flaky is FATAL
    sections = _sections(done.stdout)
    assert list(sections) == [a.label, b.label]
    assert {n: r[1] for n, r in sections[a.label].items()} == {"queue": "RUNNING", "web": "RUNNING"}
    assert {n: r[1] for n, r in sections[b.label].items()} == {"flaky": "FATAL", "web": "RUNNING"}
    assert PASSWORD not in done.stdout + done.stderr


def test_servers_from_config_and_json(hosts: tuple[Host, Host, int], tmp_path: Path) -> None:
    import json

    a, b, _ = hosts
    env = {**_env(tmp_path), "SUPERVISOR_SERVERS": f"{a.url},{b.url}"}
    done = monitor(env, "--json")
    body = json.loads(done.stdout)
    assert [h["host"] for h in body["hosts"]] == [a.label, b.label]
    assert body["healthy"] is False and done.returncode == 1


def test_wrong_password_is_one_line_naming_the_host(hosts: tuple[Host, Host, int], tmp_path: Path) -> None:
    a, _, _ = hosts
    done = monitor(_env(tmp_path, password="not-it"), "--server", a.url)
    assert done.returncode == 3, done.stdout + done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and a.label in errors[0] and "password" in errors[0]
    assert "Traceback" not in done.stderr and "not-it" not in done.stdout + done.stderr


def test_one_host_down_exit_2_others_shown(hosts: tuple[Host, Host, int], tmp_path: Path) -> None:
    a, _, dead_port = hosts
    done = monitor(_env(tmp_path), "--server", a.url, "--server", f"http://127.0.0.1:{dead_port}")
    assert done.returncode == 2, done.stdout + done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and f"127.0.0.1:{dead_port}" in errors[0] and "not running" in errors[0]
    assert set(_sections(done.stdout)[a.label]) == {"queue", "web"}


def test_bad_endpoint_is_one_clear_line(tmp_path: Path) -> None:
    done = monitor(_env(tmp_path), "--server", "ftp://u:hidden@host/x")
    assert done.returncode == 2
    assert "not a supervisord endpoint" in done.stderr and "hidden" not in done.stderr


def test_ctl_status_groups_by_host(hosts: tuple[Host, Host, int], tmp_path: Path) -> None:
    a, _b, dead_port = hosts
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.ctl",
            "status",
            "--server",
            a.url,
            "--server",
            f"http://127.0.0.1:{dead_port}",
        ],
        cwd=REPO,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert set(_sections(done.stdout)[a.label]) == {"queue", "web"}
    assert f"127.0.0.1:{dead_port}" in done.stderr and "Traceback" not in done.stderr


def test_restart_acts_per_host(hosts: tuple[Host, Host, int], tmp_path: Path) -> None:
    # Runs last in this module: it heals B's flaky.
    a, b, _ = hosts
    pids_a = {n: i["pid"] for n, i in a.infos().items()}
    web_b = b.infos()["web"]["pid"]
    done = monitor(_env(tmp_path), "--server", a.url, "--server", b.url, "--restart", "--timeout", "30")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restarting flaky (FATAL" in done.stdout
    assert {n: i["pid"] for n, i in a.infos().items()} == pids_a
    after = b.infos()
    assert after["flaky"]["statename"] == "RUNNING" and after["web"]["pid"] == web_b
