"""bin/bench reload: what clients see while the API reloads its workers (gunicorn HUP), under load.

    bin/bench reload [--reloads 5] [--readers 16] [--workers 2]

Boots a real API (gunicorn, SQLite) on a free port and runs, side by side in one run, ``--readers``
threads calling ``Client.get_item`` (the SDK, which retries a request whose connection the server
closed before answering) and as many threads doing the same GET with a plain ``httpx.Client``
(the anchor: no retries). Each keeps its connection alive. During the run the master gets SIGHUP
``--reloads`` times; each reload waits (over gunicorn's control socket) until the old workers are
gone. Prints, per side, requests made, failures seen by the caller per reload (median and max), and
for the SDK the attempts that failed underneath and were retried.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sdk import Client
from store.db import Database
from tests.bench.bench_sdk import SERVER_ENV, seed
from tests.support.net import free_port, port_is_free
from tests.support.processes import processes_mentioning
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


class AttemptFailures:
    """The attempts that failed below the SDK (which then retried them), counted across threads."""

    def __init__(self) -> None:
        self.failed: Counter[str] = Counter()
        self.lock = threading.Lock()

    def add(self, error: str) -> None:
        with self.lock:
            self.failed[error] += 1


class CountingTransport(httpx.HTTPTransport):
    """One reader's transport (a pool of its own), reporting failed attempts to a shared count."""

    def __init__(self, failures: AttemptFailures) -> None:
        super().__init__()
        self.failures = failures

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except httpx.TransportError as exc:
            self.failures.add(type(exc).__name__)
            raise


@dataclass
class Side:
    name: str
    requests: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    failures_by_window: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    slowest: float = 0.0

    def count(self, error: str | None, seconds: float = 0.0) -> None:
        with self.lock:
            self.requests += 1
            self.slowest = max(self.slowest, seconds)
            if error:
                self.failures[error] += 1

    def total_failures(self) -> int:
        with self.lock:
            return sum(self.failures.values())


def plain_reader(url: str, key: str, item_id: int, side: Side, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = http.get(f"/api/v1/items/{item_id}")
                error = None if response.status_code == 200 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            side.count(error, time.monotonic() - started)


def sdk_reader(
    url: str, key: str, item_id: int, side: Side, stop: threading.Event, failures: AttemptFailures
) -> None:
    transport = CountingTransport(failures)
    with httpx.Client(transport=transport, timeout=30) as http, Client(url, key, http_client=http) as client:
        while not stop.is_set():
            started = time.monotonic()
            error = None
            try:
                client.get_item(item_id)
            except Exception as exc:  # noqa: BLE001 - every failure the caller sees is counted
                error = f"{type(exc).__name__}: {exc}"
            side.count(error, time.monotonic() - started)


SUPERVISORD_CONF = """[unix_http_server]
file = var/run/supervisor.sock
chmod = 0700

[supervisord]
logfile = logs/supervisord.log
pidfile = var/run/supervisord.pid
identifier = bench-reload

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://var/run/supervisor.sock

[include]
files = {repo}/conf/supervisord.d/api.conf {repo}/conf/supervisord.d/healthcheck.conf
"""


class Supervised:
    """supervisord running the repository's api and healthcheck programs in a temp home."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (home / "var" / "run").mkdir(parents=True, exist_ok=True)
        (home / "logs").mkdir(exist_ok=True)
        self.conf = home / "supervisord.conf"
        self.conf.write_text(SUPERVISORD_CONF.format(repo=REPO))
        self.env = {
            **os.environ,
            "APP_HOME": str(home),
            "APP_ENV": "test",
            "API_PORT": str(self.port),
            "SUPERVISOR_CONFIG": str(self.conf),
            "JWT_SECRET": "bench-" + os.urandom(32).hex(),
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            **env,
        }

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            [str(VENV_BIN / "supervisorctl"), "-c", str(self.conf), *args],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return result.stdout

    def api_pid(self) -> int:
        return int(self.ctl("pid", "api").strip() or 0)

    def listener_restarts(self) -> int:
        log = self.home / "logs" / "healthcheck.log"
        return len(re.findall(r"restart: api:", log.read_text())) if log.exists() else 0

    def __enter__(self) -> Supervised:
        subprocess.run(
            [str(VENV_BIN / "supervisord"), "-c", str(self.conf)], cwd=self.home, env=self.env, check=True
        )
        wait_until(lambda: self._ready(), timeout=180, interval=0.5, message="the API under supervisord")
        return self

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def __exit__(self, *exc: object) -> None:
        self.ctl("shutdown")
        wait_until(lambda: not processes_mentioning(str(self.home)), timeout=90, message="stack gone")
        wait_until(lambda: port_is_free(self.port), timeout=30, message="port free")


def busy_loop() -> None:
    while True:
        pass


class Busy:
    """``count`` processes spinning on the CPU (the loaded machine of the issue)."""

    def __init__(self, count: int) -> None:
        self.processes = [multiprocessing.Process(target=busy_loop, daemon=True) for _ in range(count)]

    def __enter__(self) -> Busy:
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.terminate()
            process.join(timeout=10)


def reload_once(stack: Supervised, design: str, workers: int) -> None:
    control = stack.home / "var" / "run" / "gunicorn.ctl"
    old = worker_pids(control)
    if design == "hup":
        stack.ctl("signal", "HUP", "api")
    else:
        done = subprocess.run(
            [sys.executable, "-m", "ops.reload"],
            cwd=stack.home,
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise SystemExit(f"python -m ops.reload failed: {done.stdout}{done.stderr}")
    wait_until(
        lambda: (pids := worker_pids(control)) and not pids & old and len(pids) == workers,
        timeout=300,
        interval=0.2,
        message="the old workers to be replaced",
    )


def worker_pids(control: Path) -> set[int]:
    try:
        result = subprocess.run(
            [str(VENV_BIN / "gunicornc"), "-s", str(control), "-c", "show workers", "-j"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except subprocess.CalledProcessError:
        return set()  # the master is restarting
    return {int(w["pid"]) for w in json.loads(result.stdout)["workers"]}


@dataclass
class Outcome:
    design: str
    busy: int
    sides: list[Side]
    retried: int
    restarts: int
    api_restarted: bool


def run_reloads(design: str, busy: int, args: argparse.Namespace) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as tmp:
        env = {**SERVER_ENV, "API_WORKERS": str(args.workers)}
        with Supervised(Path(tmp), env) as stack:
            database = Database(f"sqlite:///{Path(tmp) / 'var' / 'app.db'}")
            key, item_id = seed(database, 1)
            database.dispose()
            pid = stack.api_pid()
            plain, sdk = Side("plain httpx.Client (anchor)"), Side("SDK Client")
            transport = AttemptFailures()
            stop = threading.Event()
            threads = [
                threading.Thread(target=plain_reader, args=(stack.url, key, item_id, plain, stop))
                for _ in range(args.readers)
            ] + [
                threading.Thread(target=sdk_reader, args=(stack.url, key, item_id, sdk, stop, transport))
                for _ in range(args.readers)
            ]
            for thread in threads:
                thread.start()
            try:
                with Busy(busy):
                    wait_until(lambda: plain.requests > 200 and sdk.requests > 200, timeout=120)
                    for _ in range(args.reloads):
                        before = {side.name: side.total_failures() for side in (plain, sdk)}
                        reload_once(stack, design, args.workers)
                        settled = plain.requests + 300
                        wait_until(lambda settled=settled: plain.requests > settled, timeout=120)  # type: ignore[misc]
                        for side in (plain, sdk):
                            side.failures_by_window.append(side.total_failures() - before[side.name])
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=60)
            return Outcome(
                design,
                busy,
                [plain, sdk],
                sum(transport.failed.values()),
                stack.listener_restarts(),
                stack.api_pid() != pid,
            )


def print_outcomes(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    print(
        f"{args.reloads} reloads per row, {args.workers} workers, {args.readers} readers per side, "
        "supervisord + health listener (default settings)"
    )
    print(
        f"{'design':<8} {'busy':>4} {'client':<28} {'requests':>9} {'failed/reload med':>18} {'max':>4} "
        f"{'retried':>8} {'slowest s':>10} {'listener restarts':>18}"
    )
    for o in outcomes:
        for side in o.sides:
            retried = o.retried if side.name.startswith("SDK") else "-"
            print(
                f"{o.design:<8} {o.busy:>4} {side.name:<28} {side.requests:>9} "
                f"{statistics.median(side.failures_by_window):>18} {max(side.failures_by_window):>4} "
                f"{retried!s:>8} {side.slowest:>10.2f} {o.restarts:>18}"
            )
    for o in outcomes:
        for side in o.sides:
            for error, count in side.failures.most_common(3):
                print(f"  {o.design} busy={o.busy} {side.name}: {count} x {error[:120]}")


def database_away(seconds: float) -> None:
    from sqlalchemy.engine import make_url

    from tests.support.databases import fresh_postgres_database, postgres_server_url
    from tests.support.tcp_proxy import TcpProxy

    server = postgres_server_url()
    if not server:
        print("database away: skipped (set TEST_DATABASE_URL to a PostgreSQL server)")
        return
    with fresh_postgres_database(server) as url, tempfile.TemporaryDirectory(prefix="bench-dbaway-") as tmp:
        parsed = make_url(url)
        with TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432)) as proxy:
            via = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            with Supervised(Path(tmp), {**SERVER_ENV, "DATABASE_URL": via}) as stack:
                pid = stack.api_pid()
                silent = 0.0
                proxy.close()
                away_until = time.monotonic() + seconds
                while time.monotonic() < away_until:
                    started = time.monotonic()
                    try:
                        httpx.get(stack.url + "/livez", timeout=2)
                    except httpx.HTTPError:
                        silent += time.monotonic() - started
                    time.sleep(max(0.0, 0.25 - (time.monotonic() - started)))
                proxy.open()
                back = time.monotonic()
                wait_until(lambda: stack._ready(), timeout=300, interval=0.1, message="ready again")
                to_ready = time.monotonic() - back
                print(
                    f"database away {seconds:g}s (PostgreSQL behind a closed proxy), supervisord + listener:"
                )
                print(f"  seconds without an HTTP answer from the API: {silent:.1f}")
                print(f"  seconds from the database's return to /readyz 200: {to_ready:.1f}")
                print(
                    f"  listener restarts of the API: {stack.listener_restarts()}; "
                    f"API pid changed: {stack.api_pid() != pid}"
                )


def machine_load() -> str:
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    steal = cpu[7] / sum(cpu) * 100 if len(cpu) > 7 else 0.0
    return f"load {' '.join(load)}, CPU steal since boot {steal:.1f}%, {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reloads", type=int, default=5)
    parser.add_argument("--readers", type=int, default=16, help="threads per side")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--busy", default="0,4", help="busy-loop processes, a run for each (0,4)")
    parser.add_argument("--design", default="hup,rolling", help="hup, rolling or both (hup,rolling)")
    parser.add_argument("--database-away", type=float, default=40.0, help="seconds; 0 skips that case")
    args = parser.parse_args(argv)

    print(f"machine: {machine_load()}")
    outcomes = []
    for busy in (int(b) for b in args.busy.split(",") if b.strip()):
        for design in (d.strip() for d in args.design.split(",") if d.strip()):
            outcomes.append(run_reloads(design, busy, args))
            print(f"  done: {design} busy={busy} ({machine_load()})", flush=True)
    if outcomes:
        print_outcomes(outcomes, args)
    if args.database_away > 0:
        database_away(args.database_away)
    print(f"machine after: {machine_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
