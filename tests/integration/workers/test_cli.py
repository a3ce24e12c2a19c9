"""The command line: --help, --once exit codes, flags over config, clear errors without tracebacks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from store.models import ItemStatus
from tests.integration.workers.support import REPO, ItemsDatabase, WorkerProcess
from tests.support import plain_http
from tests.support.net import free_port
from tests.support.wait import wait_until


def run_worker(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "APP_HOME": str(tmp_path), "APP_ENV": "test", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "workers.example_worker", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_documents_every_flag(tmp_path: Path) -> None:
    result = run_worker(tmp_path, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m workers.example_worker")
    for flag in (
        "--worker-id",
        "--health-port",
        "--once",
        "--idle-interval",
        "--active-interval",
        "--log-level",
        "--batch-size",
        "--lease-seconds",
        "--max-retries",
        "--simulated-work",
        "--database-url",
    ):
        assert flag in result.stdout


def test_once_processes_one_batch_and_flags_override_config(items_db: ItemsDatabase, tmp_path: Path) -> None:
    items_db.add_items(8)
    result = run_worker(
        tmp_path, "--once", "--batch-size", "5", env={"DATABASE_URL": items_db.url, "WORKER_BATCH_SIZE": "2"}
    )
    assert result.returncode == 0, result.stderr
    assert items_db.counts() == {ItemStatus.DONE: 5, ItemStatus.PENDING: 3}


def test_once_exits_non_zero_when_the_batch_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = run_worker(tmp_path, "--once", "--database-url", f"sqlite:///{blocker / 'app.db'}")
    assert result.returncode == 1
    assert "batch failed" in result.stderr and "Traceback" not in result.stderr


def test_bad_flag_value_is_one_clear_line(tmp_path: Path) -> None:
    result = run_worker(tmp_path, "--health-port", "eighty")
    assert result.returncode == 2
    assert "expected a port number or 'auto'" in result.stderr and "Traceback" not in result.stderr


def test_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = run_worker(tmp_path, "--once", env={"WORKER_BATCH_SIZE": "many"})
    assert result.returncode == 2
    assert "WORKER_BATCH_SIZE" in result.stderr and "Traceback" not in result.stderr


def test_health_port_taken_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_worker(tmp_path, "--health-port", str(port))
    assert result.returncode == 2
    assert f"cannot serve health on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_health_port_auto_is_the_base_port_plus_the_worker_id(
    items_db: ItemsDatabase, tmp_path: Path
) -> None:
    base = free_port(count=4)
    worker = WorkerProcess(
        tmp_path,
        items_db.url,
        worker_id=3,
        health=False,
        env={"WORKER_HEALTH_PORT": str(base)},
        args=["--health-port", "auto"],
    )
    worker.port = base + 3
    with worker:
        body = wait_until(
            lambda: plain_http.get(f"http://127.0.0.1:{base + 3}/health", timeout=2).json(),
            timeout=30,
            message=lambda: worker.log_tail(),
        )
        assert body["worker_id"] == 3 and body["worker"] == "example_worker"
