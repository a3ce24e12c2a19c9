"""LOG_FORMAT=json: every line the worker, the health listener and ctl write is one JSON object
(the API's and gunicorn's: tests/integration/api/test_observability.py), on stderr; the listener's
stdout carries supervisord's protocol only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def run(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APP_HOME": str(home), "LOG_FORMAT": "json", "APP_ENV": "test"}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, *args], cwd=home, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines, "no log line at all"
    for line in lines:
        assert {"time", "level", "logger", "pid", "message", "program"} <= set(line), line
    return lines


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "var").mkdir()
    return tmp_path


def test_a_worker_logs_json(home: Path) -> None:
    done = run(home, "-m", "workers.example_worker", "--once", "--health-port", "0")
    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stderr)
    assert {line["program"] for line in lines} == {"worker"}
    assert {line["worker"] for line in lines} == {"example_worker-0"}
    assert any(f"started (pid {line['pid']}, " in line["message"] for line in lines)
    assert lines[-1]["message"].endswith("stopped")


def test_the_health_listener_logs_json_on_stderr_only(home: Path) -> None:
    # stdin closed at once: supervisord stopping it. stdout: the protocol's READY, nothing else.
    done = run(home, "-m", "ops.healthcheck")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "READY\n"
    lines = json_lines(done.stderr)
    assert [line["program"] for line in lines] == ["healthcheck"] * len(lines)
    assert lines[0]["message"].startswith("started: a check every")


def test_ctl_reports_a_failure_as_json(home: Path) -> None:
    done = run(home, "-m", "cli.ctl", "restart", "api")
    assert done.returncode == 2
    (line,) = json_lines(done.stderr)
    assert line["program"] == "ctl" and line["level"] == "ERROR"
    assert "supervisord.conf does not exist" in line["message"]


def test_ctl_in_text_keeps_its_error_line(home: Path) -> None:
    env_run = subprocess.run(
        [sys.executable, "-m", "cli.ctl", "restart", "api"],
        cwd=home,
        env={**os.environ, "APP_HOME": str(home), "LOG_FORMAT": "text", "APP_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert env_run.returncode == 2
    assert env_run.stderr.startswith("Error: ") and "supervisord.conf does not exist" in env_run.stderr
