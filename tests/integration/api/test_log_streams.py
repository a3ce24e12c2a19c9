"""An admin's open log stream, against a real gunicorn API and a real supervisord: it ends when the
admin's access ends (deactivated, deleted, demoted, key revoked), it resumes from where it was with
every line once, and it does not hold the API's graceful stop."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_postgres
from tests.support import plain_http
from tests.support.api_server import ApiServer
from tests.support.databases import fresh_postgres_database
from tests.support.passwords import hashed
from tests.support.processes import processes_mentioning
from tests.support.wait import wait_until

VENV_BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery staple"
FOLLOW = "/api/v1/admin/services/talker/log/follow"
RECHECK_SECONDS = 1.0

# `talker` prints "ping N" each time it gets SIGUSR1, and a burst of lines on SIGUSR2 (how many and
# how long from the file `burst`).
TALKER = """\
import itertools, pathlib, signal, time
count = itertools.count(1)
def burst(*_):
    count, width = map(int, pathlib.Path('burst').read_text().split())
    for i in range(count):
        print(f'burst {i}' + ' x' * width, flush=False)
    print('burst end', flush=True)
signal.signal(signal.SIGUSR1, lambda *_: print(f'ping {next(count)}', flush=True))
signal.signal(signal.SIGUSR2, burst)
print('talker ready', flush=True)
while True:
    time.sleep(3600)
"""

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
command = {python} %(here)s/talker.py
directory = %(here)s
stdout_logfile = %(here)s/talker.log
startsecs = 0
"""


@dataclass
class LogStack:
    home: Path
    api: ApiServer
    socket: Path
    users: dict[str, int] = field(default_factory=dict)

    def rpc(self, method: str, *args: Any) -> Any:
        from ops.rpc import SupervisorClient

        return SupervisorClient(str(self.socket), timeout=10).call(method, *args)

    def ping(self) -> None:
        self.rpc("supervisor.signalProcess", "talker", "USR1")

    def token(self, email: str) -> dict[str, str]:
        r = plain_http.post(
            self.api.url + "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def database(self) -> Any:
        from store.db import Database

        return Database(self.api.database_url)


@contextmanager
def _database(kind: str, home: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{home / 'var' / 'app.db'}"
    else:
        with fresh_postgres_database(require_postgres()) as url:
            yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def logstack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogStack]:
    """supervisord with the talker, and the API (gunicorn) on SQLite, then on PostgreSQL (the
    re-check reads the account on each)."""
    with _database(request.param, tmp_path_factory.mktemp("db")) as database_url:
        yield from _logstack(tmp_path_factory, database_url)


def _logstack(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[LogStack]:
    home = tmp_path_factory.mktemp("log-streams")
    sup = home / "sup"
    sup.mkdir()
    (sup / "talker.py").write_text(TALKER)
    (sup / "supervisord.conf").write_text(SUPERVISORD_CONF.format(python=sys.executable))
    subprocess.run(
        [str(VENV_BIN / "supervisord"), "-c", str(sup / "supervisord.conf")], cwd=sup, check=True, timeout=30
    )
    socket = sup / "supervisor.sock"
    env = {
        "SUPERVISOR_SOCKET": str(socket),
        "SUPERVISOR_CONFIG": str(sup / "supervisord.conf"),  # the small supervisord's own
        "API_LOG_RECHECK_SECONDS": str(RECHECK_SECONDS),
        "API_LOG_HEARTBEAT_SECONDS": "1",
        "RATE_LIMIT_LOGIN": "1000/minute",
    }
    try:
        with ApiServer(home, database_url=database_url, env=env) as api:
            stack = LogStack(home, api, socket)
            wait_until(
                lambda: stack.rpc("supervisor.getProcessInfo", "talker")["statename"] == "RUNNING",
                timeout=30,
                message="talker RUNNING",
            )
            from store.accounts import create_user_with_hash

            db = stack.database()
            try:
                with db.session() as session:
                    for email in ("root@example.com", "admin2@example.com", "admin3@example.com"):
                        stack.users[email] = create_user_with_hash(
                            session, email=email, password_hash=hashed(PASSWORD), is_admin=True
                        ).id
            finally:
                db.engine.dispose()
            yield stack
    finally:
        from ops.errors import OpsError
        from ops.rpc import SupervisorClient

        try:
            SupervisorClient(str(socket), timeout=10).call("supervisor.shutdown")
        except OpsError:
            pass
        wait_until(
            lambda: not processes_mentioning(str(sup)),
            timeout=30,
            message=lambda: f"supervisord to exit: {processes_mentioning(str(sup))}",
        )


class Stream:
    """A follow request read in a thread: each JSON object into a queue, then None at the end."""

    def __init__(self, url: str, headers: dict[str, str], params: dict[str, Any] | None = None) -> None:
        self.items: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.status: int | None = None
        self.ended = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=60))
        self._thread = threading.Thread(target=self._read, args=(url, headers, params), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str], params: dict[str, Any] | None) -> None:
        try:
            with self._client.stream("GET", url, headers=headers, params=params) as response:
                self.status = response.status_code
                for line in response.iter_lines():
                    if line.strip():
                        self.items.put(json.loads(line))
        except httpx.HTTPError:
            pass  # the connection was closed under us: the stream ended
        finally:
            self.ended.set()
            self.items.put(None)

    def opened(self, timeout: float = 20) -> dict[str, Any]:
        """Wait for the position mark that follows the first lines: from now on every line comes."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            assert item is not None, f"the stream ended at once (HTTP {self.status})"
            if "position" in item and "line" not in item:
                return item

    def next_line(self, timeout: float = 20) -> dict[str, Any] | None:
        """The next object with a `line` (or an `error`), or None when the stream ended."""
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while True:
            try:
                item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line in {timeout} s (HTTP {self.status}): {seen[-5:]}") from None
            if item is None or "line" in item or "error" in item:
                return item
            seen.append(item)

    def until(self, text: str, timeout: float = 20) -> list[dict[str, Any]]:
        """Everything up to and including the line `text`."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            assert item is not None, f"the stream ended before {text!r}: {seen[-5:]}"
            seen.append(item)
            if item.get("line") == text:
                return seen

    def close(self) -> None:
        self._client.close()
        self._thread.join(timeout=15)


def _next_ping(stack: LogStack, stream: Stream) -> str:
    stack.ping()
    got = stream.next_line()
    assert got is not None and got.get("line", "").startswith("ping "), got
    return str(got["line"])


def _demote(stack: LogStack, user_id: int) -> None:
    from sqlalchemy import update

    from store.models import User

    db = stack.database()
    try:
        with db.session() as session:
            session.execute(update(User).where(User.id == user_id).values(is_admin=False))
    finally:
        db.engine.dispose()


@pytest.mark.parametrize("how", ["deactivate", "delete", "demote"])
def test_a_stream_ends_when_its_admin_loses_access(logstack: LogStack, how: str) -> None:
    email = f"{how}-{os.urandom(3).hex()}@example.com"
    from store.accounts import create_user_with_hash

    db = logstack.database()
    try:
        with db.session() as session:
            user_id = create_user_with_hash(
                session, email=email, password_hash=hashed(PASSWORD), is_admin=True
            ).id
    finally:
        db.engine.dispose()
    stream = Stream(logstack.api.url + FOLLOW, logstack.token(email), {"lines": 0})
    try:
        stream.opened()
        _next_ping(logstack, stream)  # the stream delivers while the admin is an admin
        root = logstack.token("root@example.com")
        users = f"{logstack.api.url}/api/v1/admin/users/{user_id}"
        if how == "deactivate":
            assert plain_http.post(users + "/deactivate", headers=root, timeout=10).status_code == 200
        elif how == "delete":
            assert httpx.delete(users, headers=root, timeout=10).status_code == 204
        else:
            _demote(logstack, user_id)
        ended_at = time.monotonic()
        # Lines written now must not reach the former admin: the stream says why and ends.
        logstack.ping()
        rest: list[dict[str, Any]] = []
        assert stream.ended.wait(timeout=RECHECK_SECONDS + 10), "the stream outlived the admin's access"
        while (item := stream.items.get(timeout=5)) is not None:
            rest.append(item)
        took = time.monotonic() - ended_at
        errors = [item for item in rest if "error" in item]
        assert errors and errors[-1]["status"] == 401, rest
        for _ in range(3):
            logstack.ping()
        assert stream.items.empty()
        assert took < RECHECK_SECONDS + 5, took
    finally:
        stream.close()


def test_a_stream_opened_with_a_revoked_key_ends(logstack: LogStack) -> None:
    root = logstack.token("root@example.com")
    created = plain_http.post(
        logstack.api.url + "/api/v1/api-keys", json={"name": "logs"}, headers=root, timeout=10
    ).json()
    stream = Stream(logstack.api.url + FOLLOW, {"X-API-Key": created["key"]}, {"lines": 0})
    try:
        stream.opened()
        _next_ping(logstack, stream)
        r = httpx.delete(f"{logstack.api.url}/api/v1/api-keys/{created['id']}", headers=root, timeout=10)
        assert r.status_code == 204, r.text
        assert stream.ended.wait(timeout=RECHECK_SECONDS + 10)
    finally:
        stream.close()


def test_a_stream_resumes_where_it_was_each_line_once(logstack: LogStack) -> None:
    headers = logstack.token("admin2@example.com")
    first = Stream(logstack.api.url + FOLLOW, headers, {"lines": 0})
    try:
        hello = first.items.get(timeout=20)
        assert hello == {"heartbeat": True, "interval": 1.0}
        mark = first.opened()
        assert mark["process"] == "talker"
        line = _next_ping(logstack, first)
    finally:
        first.close()
    position = mark["position"]
    # Reconnecting from the mark: the ping seen above comes again (it was after the mark) ...
    again = Stream(logstack.api.url + FOLLOW, headers, {"after": f"talker@{position}"})
    try:
        got = again.next_line()
        assert got is not None and got["line"] == line
        last = got["position"]
    finally:
        again.close()
    # ... and from the line's own position, only what was written after it, each once.
    written = [f"ping {int(line.split()[1]) + n}" for n in (1, 2, 3)]
    for expected in written:
        # One signal at a time: a second SIGUSR1 sent while the first is still pending is merged
        # into it by the kernel (a loaded machine showed two pings where three were sent).
        logstack.ping()
        wait_until(
            lambda line=expected: (logstack.home / "sup" / "talker.log").read_text().endswith(line + "\n"),
            timeout=20,
            message=f"{expected!r} in the log",
        )
    resumed = Stream(logstack.api.url + FOLLOW, headers, {"after": f"talker@{last}", "lines": 200})
    try:
        lines = [item["line"] for item in resumed.until(written[-1]) if "line" in item]
        assert lines == written
    finally:
        resumed.close()


@pytest.mark.parametrize("width", [0, 600], ids=["short-lines", "over-a-MiB"])
def test_more_lines_than_a_resume_sends_are_counted(logstack: LogStack, width: int) -> None:
    """1501 lines written while the viewer was away: the last of them come (1000 when short; fewer when
    they are more than a resume reads, MAX_RESUME_BYTES), and it is told exactly how many did not."""
    headers = logstack.token("admin2@example.com")
    first = Stream(logstack.api.url + FOLLOW, headers, {"lines": 0})
    try:
        mark = first.opened()
    finally:
        first.close()
    (logstack.home / "sup" / "burst").write_text(f"1500 {width}")
    logstack.rpc("supervisor.signalProcess", "talker", "USR2")
    wait_until(
        lambda: (logstack.home / "sup" / "talker.log").read_text().endswith("burst end\n"),
        timeout=20,
        message="the burst in the log",
    )
    resumed = Stream(logstack.api.url + FOLLOW, headers, {"after": f"talker@{mark['position']}"})
    try:
        got = resumed.until("burst end")
        skipped = [item for item in got if "skipped" in item]
        lines = [item["line"] for item in got if "line" in item]
        written = [f"burst {i}" + " x" * width for i in range(1500)] + ["burst end"]
        assert len(skipped) == 1 and skipped[0]["process"] == "talker"
        assert skipped[0]["skipped"] + len(lines) == len(written)
        assert lines == written[skipped[0]["skipped"] :]
        if width == 0:
            assert len(lines) == 1000  # MAX_LOG_LINES
        else:
            # At most a MiB, and the line it begins in.
            assert len(lines) < 1000 and sum(len(line) + 1 for line in lines[1:]) <= 1024 * 1024
    finally:
        resumed.close()


def test_a_malformed_resume_is_a_422(logstack: LogStack) -> None:
    headers = logstack.token("admin2@example.com")
    for bad in ("talker", "talker@12", "@1:2", "talker@a:b"):
        r = plain_http.get(logstack.api.url + FOLLOW, headers=headers, params={"after": bad}, timeout=10)
        assert r.status_code == 422, (bad, r.text)
        assert "expected PROCESS@INODE:OFFSET" in r.json()["error"]["message"]


def _stop_time(home: Path, stack: LogStack, *, with_stream: bool) -> tuple[float, bool]:
    """Seconds from SIGTERM to gunicorn's exit, and whether the open stream (if any) had ended."""
    env = {
        "SUPERVISOR_SOCKET": str(stack.socket),
        "JWT_SECRET": stack.api.env["JWT_SECRET"],
        "API_GRACEFUL_TIMEOUT": "20",
    }
    api = ApiServer(home, database_url=stack.api.database_url, env=env).start()
    stream = None
    try:
        if with_stream:
            headers = stack.token("admin3@example.com")
            stream = Stream(api.url + FOLLOW, headers, {"lines": 0})
            assert stream.items.get(timeout=20) is not None  # open: the first heartbeat came
        assert api.process is not None
        started = time.monotonic()
        os.kill(api.process.pid, signal.SIGTERM)  # what supervisord sends on stop and restart
        api.process.wait(timeout=60)
        took = time.monotonic() - started
        return took, stream is None or stream.ended.wait(timeout=5)
    finally:
        if stream is not None:
            stream.close()
        api.stop()


def test_an_open_stream_does_not_hold_the_graceful_stop(tmp_path: Path, logstack: LogStack) -> None:
    """SIGTERM to gunicorn with a log open: the stream ends at once and gunicorn is gone in about as
    long as without one, far below its 20 s graceful timeout (it used to wait it out)."""
    without, _ = _stop_time(tmp_path / "a", logstack, with_stream=False)
    with_log, ended = _stop_time(tmp_path / "b", logstack, with_stream=True)
    print(f"gunicorn stop: {without:.2f} s without a log stream, {with_log:.2f} s with one")
    assert ended
    assert with_log < without + 5, (with_log, without)
