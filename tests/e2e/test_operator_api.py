"""The operator's API against a real gunicorn and a real supervisord: a program's last log lines, a
live follow that sees each new line once, the queue's counts; all for admins only."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import API_TEST_ENV, PASSWORD
from tests.support.api_server import ApiServer
from tests.support.processes import processes_mentioning
from tests.support.wait import wait_until

VENV_BIN = Path(sys.executable).parent

# `talker` prints "ping N" each time it gets SIGUSR1, so a test decides when a line is written.
TALKER = (
    "import itertools, signal, time\n"
    "count = itertools.count(1)\n"
    "signal.signal(signal.SIGUSR1, lambda *_: print(f'ping {next(count)}', flush=True))\n"
    "print('talker ready', flush=True)\n"
    "while True:\n"
    "    time.sleep(3600)\n"
)
SUPERVISORD_CONF = """\
[unix_http_server]
file = %(here)s/supervisor.sock
chmod = 0700
[supervisord]
logfile = %(here)s/supervisord.log
pidfile = %(here)s/supervisord.pid
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[program:talker]
command = {python} {here}/talker.py
stdout_logfile = {here}/talker.log
startsecs = 0
"""


@dataclass
class Operator:
    api: ApiServer
    socket: Path
    admin: dict[str, str]
    user: dict[str, str]

    def signal_talker(self) -> None:
        from ops.rpc import SupervisorClient

        SupervisorClient(str(self.socket), timeout=10).call("supervisor.signalProcess", "talker", "USR1")


def login(url: str, email: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    home = tmp_path_factory.mktemp("operator")
    (home / "talker.py").write_text(TALKER)
    (home / "supervisord.conf").write_text(SUPERVISORD_CONF.format(python=sys.executable, here=home))
    socket = home / "supervisor.sock"
    subprocess.run(
        [str(VENV_BIN / "supervisord"), "-c", str(home / "supervisord.conf")],
        cwd=home,
        check=True,
        timeout=30,
    )
    try:
        wait_until(
            lambda: (
                "talker ready" in (home / "talker.log").read_text()
                if (home / "talker.log").exists()
                else False
            ),
            timeout=30,
            message="talker running",
        )
        with ApiServer(home, env={**API_TEST_ENV, "SUPERVISOR_SOCKET": str(socket)}) as api:
            from store.accounts import create_user
            from store.db import Database

            database = Database(api.database_url)
            with database.session() as session:
                create_user(session, email="admin@example.com", password=PASSWORD, is_admin=True)
                create_user(session, email="user@example.com", password=PASSWORD)
            database.dispose()
            yield Operator(
                api, socket, login(api.url, "admin@example.com"), login(api.url, "user@example.com")
            )
    finally:
        from ops.errors import OpsError
        from ops.rpc import SupervisorClient

        try:
            SupervisorClient(str(socket), timeout=10).call("supervisor.shutdown")
        except OpsError:
            pass  # already gone
        wait_until(lambda: not processes_mentioning(str(home)), timeout=30, message="supervisord gone")


def log_url(operator: Operator, name: str = "talker", *, follow: bool = False) -> str:
    return f"{operator.api.url}/api/v1/admin/services/{name}/log" + ("/follow" if follow else "")


def test_admin_reads_the_last_lines_of_a_log(operator: Operator) -> None:
    operator.signal_talker()
    wait_until(
        lambda: any(
            e["line"].startswith("ping")
            for e in httpx.get(log_url(operator), headers=operator.admin, timeout=10).json()["lines"]
        ),
        timeout=20,
        message="a ping line in the log",
    )
    r = httpx.get(log_url(operator), params={"lines": 1}, headers=operator.admin, timeout=10)
    assert r.status_code == 200, r.text
    assert [e["process"] for e in r.json()["lines"]] == ["talker"]
    assert r.json()["lines"][0]["line"].startswith("ping")


def test_following_a_log_shows_each_new_line_once(operator: Operator) -> None:
    seen: list[str] = []
    with httpx.stream(
        "GET", log_url(operator, follow=True), params={"lines": 0}, headers=operator.admin, timeout=30
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("application/x-ndjson")
        lines = stream.iter_lines()
        for _ in range(2):
            operator.signal_talker()
            while True:
                entry = json.loads(next(lines))
                if "line" in entry:
                    seen.append(entry["line"])
                    break
    assert len(seen) == 2 and len(set(seen)) == 2
    first, second = (int(line.split()[1]) for line in seen)
    assert second == first + 1  # nothing skipped, nothing repeated


def test_logs_and_the_queue_are_for_admins_only(operator: Operator) -> None:
    urls = [log_url(operator), log_url(operator, follow=True), f"{operator.api.url}/api/v1/admin/queue"]
    for url in urls:
        assert httpx.get(url, timeout=10).status_code == 401
        r = httpx.get(url, headers=operator.user, timeout=10)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_unknown_or_absurd_program_names_are_refused_without_echo(operator: Operator) -> None:
    r = httpx.get(log_url(operator, "nope"), headers=operator.admin, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    long_name = "x" * 2000
    r = httpx.get(log_url(operator, long_name), headers=operator.admin, timeout=10)
    assert r.status_code == 422 and long_name not in r.text
    r = httpx.get(log_url(operator), params={"lines": 100_000}, headers=operator.admin, timeout=10)
    assert r.status_code == 422


def test_queue_counts_items_by_status(operator: Operator) -> None:
    queue = f"{operator.api.url}/api/v1/admin/queue"
    before = httpx.get(queue, headers=operator.admin, timeout=10).json()
    for i in range(3):
        r = httpx.post(
            f"{operator.api.url}/api/v1/items", json={"title": f"t{i}"}, headers=operator.user, timeout=10
        )
        assert r.status_code == 201, r.text

    def pending() -> int:
        return int(httpx.get(queue, headers=operator.admin, timeout=10).json()["counts"]["pending"])

    wait_until(lambda: pending() == before["counts"]["pending"] + 3, timeout=10, message="3 more pending")
    after = httpx.get(queue, headers=operator.admin, timeout=10).json()
    assert after["total"] == before["total"] + 3
    assert after["finished"] == after["counts"]["done"] + after["counts"]["failed"]


def talker_state(operator: Operator) -> str:
    from ops.rpc import SupervisorClient

    info = SupervisorClient(str(operator.socket), timeout=10).call("supervisor.getProcessInfo", "talker")
    return str(info["statename"])


def test_admin_stops_and_starts_a_program(operator: Operator) -> None:
    services = f"{operator.api.url}/api/v1/admin/services"
    for action in ("stop", "start"):
        assert httpx.post(f"{services}/talker/{action}", timeout=10).status_code == 401
        assert httpx.post(f"{services}/talker/{action}", headers=operator.user, timeout=10).status_code == 403
    assert talker_state(operator) == "RUNNING"

    stopped = httpx.post(f"{services}/talker/stop", headers=operator.admin, timeout=30)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["state"] == "STOPPED" and talker_state(operator) == "STOPPED"

    started = httpx.post(f"{services}/talker/start", headers=operator.admin, timeout=30)
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "RUNNING" and started.json()["healthy"] is True
    assert talker_state(operator) == "RUNNING"
    unknown = httpx.post(f"{services}/nope/stop", headers=operator.admin, timeout=10)
    assert unknown.status_code == 404
