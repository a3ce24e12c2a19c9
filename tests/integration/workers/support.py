"""Helpers for worker tests and benchmarks: a migrated database with items, real worker processes.

db = ItemsDatabase.create(url)             # migrations + one user
db.add_items(100, metadata={"fail": True})
with WorkerProcess(tmp_path, url, worker_id=0, env={"WORKER_IDLE_INTERVAL": "30"}) as worker:
    worker.wait_ready()
    wait_until(lambda: db.counts().get("done") == 100)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from store.db import Database
from store.migrate import upgrade
from store.models import Item, User
from tests.support import plain_http
from tests.support.net import free_port, port_is_free
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[3]


class ItemsDatabase:
    """A migrated database with one user, and quick ways to add and count items."""

    def __init__(self, url: str, user_id: int) -> None:
        self.url = url
        self.user_id = user_id
        self.db = Database(url, pool_size=2, max_overflow=2)

    @classmethod
    def create(cls, url: str) -> ItemsDatabase:
        upgrade(url)
        db = Database(url, pool_size=1, max_overflow=0)
        try:
            with db.session() as session:
                user_id = session.execute(
                    insert(User).values(email="worker-test@example.com", password_hash="x").returning(User.id)
                ).scalar_one()
        finally:
            db.dispose()
        return cls(url, user_id)

    def add_items(
        self,
        count: int,
        *,
        title: str = "item",
        description: str = "some words to count",
        metadata: dict[str, Any] | None = None,
    ) -> list[int]:
        rows = [
            {
                "user_id": self.user_id,
                "title": f"{title} {i}",
                "description": description,
                "metadata_": dict(metadata or {}),
            }
            for i in range(count)
        ]
        ids: list[int] = []
        with self.db.session() as session:
            for start in range(0, count, 5000):
                chunk = rows[start : start + 5000]
                ids += session.execute(insert(Item).returning(Item.id), chunk).scalars().all()
        return ids

    def counts(self) -> dict[str, int]:
        with self.db.session() as session:
            return dict(session.execute(select(Item.status, func.count()).group_by(Item.status)).all())

    def held_by(self, pid: int) -> int:
        """How many items a worker process holds claimed right now."""
        with self.db.session() as session:
            return session.execute(
                select(func.count()).where(Item.status == "processing", Item.claimed_by.like(f"%:{pid}:%"))
            ).scalar_one()

    def items(self) -> list[Item]:
        with self.db.session() as session:
            return list(session.execute(select(Item).order_by(Item.id)).scalars())

    def close(self) -> None:
        self.db.dispose()


class WorkerProcess:
    """``python -m workers.example_worker`` (or ``module``) as a real process: health port, log file."""

    def __init__(
        self,
        home: Path,
        database_url: str,
        *,
        worker_id: int = 0,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        health: bool = True,
        module: str = "workers.example_worker",
    ) -> None:
        self.home = home
        self.worker_id = worker_id
        self.port = free_port() if health else None
        self.log_path = home / "logs" / f"worker-{worker_id}-{os.urandom(3).hex()}.log"
        self.env = {
            **os.environ,
            "APP_HOME": str(home),
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "WORKER_IDLE_INTERVAL": "30",
            "BACKOFF_MIN_DELAY": "0.05",
            "BACKOFF_MAX_DELAY": "0.5",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.args = [
            sys.executable,
            "-m",
            module,
            "--worker-id",
            str(worker_id),
            *(["--health-port", str(self.port)] if health else []),
            *(args or []),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def get(self, path: str) -> httpx.Response:
        return plain_http.get(self.url + path, timeout=2)

    def health(self, path: str = "/health") -> tuple[int, dict[str, Any]]:
        response = self.get(path)
        return response.status_code, json.loads(response.content)

    def wait_ready(self, timeout: float = 30) -> None:
        wait_until(
            lambda: self._alive() and self.get("/readyz").status_code == 200,
            timeout=timeout,
            message=lambda: f"worker {self.worker_id} ready; log:\n{self.log_tail()}",
        )

    def wait_state(self, state: str, timeout: float = 30) -> dict[str, Any]:
        def in_state() -> dict[str, Any]:
            body = self.health()[1]
            return body if self._alive() and body["state"] == state else {}

        return wait_until(
            in_state, timeout=timeout, message=lambda: f"state {state}; log:\n{self.log_tail()}"
        )

    def _alive(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
        return True

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait_exit(self, timeout: float = 30) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker did not exit within {timeout}s; log:\n{self.log_tail()}") from None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:]) or "(empty log)"

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL if need be; the health port is free afterwards."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        port = self.port
        if port is not None:
            wait_until(lambda: port_is_free(port), timeout=10, message=f"port {port} free")

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def completions(logs: list[str]) -> Counter[int]:
    """How often each item was recorded done in worker DEBUG logs ("item N done")."""
    counter: Counter[int] = Counter()
    for text in logs:
        for line in text.splitlines():
            marker = line.rfind("] item ")
            if marker != -1 and line.endswith(" done"):
                parts = line[marker + 7 :].split()
                if parts and parts[0].isdigit():
                    counter[int(parts[0])] += 1
    return counter
