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
import os
import signal
import statistics
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sdk import Client
from store.db import Database
from tests.bench.bench_sdk import SERVER_ENV, seed
from tests.support.api_server import VENV_BIN, ApiServer
from tests.support.wait import wait_until


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

    def count(self, error: str | None) -> None:
        with self.lock:
            self.requests += 1
            if error:
                self.failures[error] += 1

    def total_failures(self) -> int:
        with self.lock:
            return sum(self.failures.values())


def plain_reader(url: str, key: str, item_id: int, side: Side, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
        while not stop.is_set():
            try:
                response = http.get(f"/api/v1/items/{item_id}")
                side.count(None if response.status_code == 200 else f"HTTP {response.status_code}")
            except httpx.HTTPError as exc:
                side.count(f"{type(exc).__name__}: {exc}")


def sdk_reader(
    url: str, key: str, item_id: int, side: Side, stop: threading.Event, failures: AttemptFailures
) -> None:
    transport = CountingTransport(failures)
    with httpx.Client(transport=transport, timeout=30) as http, Client(url, key, http_client=http) as client:
        while not stop.is_set():
            try:
                client.get_item(item_id)
                side.count(None)
            except Exception as exc:  # noqa: BLE001 - every failure the caller sees is counted
                side.count(f"{type(exc).__name__}: {exc}")


def worker_pids(socket_path: Path) -> set[int]:
    result = subprocess.run(
        [str(VENV_BIN / "gunicornc"), "-s", str(socket_path), "-c", "show workers", "-j"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return {int(w["pid"]) for w in json.loads(result.stdout)["workers"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reloads", type=int, default=5)
    parser.add_argument("--readers", type=int, default=16, help="threads per side")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-reload-") as tmp:
        home = Path(tmp)
        (home / "var").mkdir()
        with ApiServer(home, workers=args.workers, env=SERVER_ENV) as api:
            database = Database(api.database_url)
            key, item_id = seed(database, 1)
            database.dispose()
            assert api.process is not None
            control = home / "var" / "run" / "gunicorn.ctl"
            plain, sdk = Side("plain httpx.Client (anchor)"), Side("SDK Client")
            transport = AttemptFailures()
            stop = threading.Event()
            threads = [
                threading.Thread(target=plain_reader, args=(api.url, key, item_id, plain, stop))
                for _ in range(args.readers)
            ] + [
                threading.Thread(target=sdk_reader, args=(api.url, key, item_id, sdk, stop, transport))
                for _ in range(args.readers)
            ]
            for thread in threads:
                thread.start()
            try:
                wait_until(lambda: plain.requests > 200 and sdk.requests > 200, timeout=60)
                for _ in range(args.reloads):
                    before = {side.name: side.total_failures() for side in (plain, sdk)}
                    old = worker_pids(control)
                    os.kill(api.process.pid, signal.SIGHUP)
                    wait_until(
                        lambda old=old: (  # type: ignore[misc]
                            (pids := worker_pids(control)) and not pids & old and len(pids) == args.workers
                        ),
                        timeout=120,
                        interval=0.2,
                        message="the old workers to be replaced",
                    )
                    settled = plain.requests + 500
                    wait_until(lambda settled=settled: plain.requests > settled, timeout=60)  # type: ignore[misc]  # the new workers serve
                    for side in (plain, sdk):
                        side.failures_by_window.append(side.total_failures() - before[side.name])
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=60)

    print(f"{args.reloads} reloads (gunicorn HUP), {args.workers} workers, {args.readers} readers per side")
    print(f"{'client':<30} {'requests':>9} {'failed/reload median':>21} {'max':>5} {'retried below':>14}")
    for side in (plain, sdk):
        retried = sum(transport.failed.values()) if side is sdk else "-"
        print(
            f"{side.name:<30} {side.requests:>9} {statistics.median(side.failures_by_window):>21} "
            f"{max(side.failures_by_window):>5} {retried!s:>14}"
        )
    for side in (plain, sdk):
        for error, count in side.failures.most_common(5):
            print(f"  {side.name}: {count} x {error}")
    if transport.failed:
        print("  SDK attempts retried: " + ", ".join(f"{n} x {e}" for e, n in transport.failed.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
