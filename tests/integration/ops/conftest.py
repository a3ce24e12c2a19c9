"""Helpers for the ops tests: run bin/monitor.py and ctl against a Stack, as a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import plain_http
from tests.support.stack import REPO, Stack

MONITOR = str(REPO / "bin" / "monitor.py")
STACK_SETTINGS = (
    "APP_HOME",
    "APP_ENV",
    "API_PORT",
    "FRONTEND_PORT",
    "WORKER_HEALTH_PORT",
    "JWT_SECRET",
    "SUPERVISOR_CONFIG",  # the home runs the repository's supervisord.conf
)


def stack_settings(stack: Stack) -> dict[str, str]:
    """The settings that point tools at this stack (what a developer's .env would hold)."""
    return {k: stack.env[k] for k in STACK_SETTINGS}


def monitor(stack: Stack, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, MONITOR, *args],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ctl(stack: Stack, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.ctl", *args],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def info(stack: Stack, name: str) -> dict:
    return next(p for p in stack.process_info() if p["name"] == name)


def freeze(stack: Stack, name: str) -> int:
    """SIGSTOP a program's whole process group: it stays RUNNING for supervisord but answers nothing."""
    pid = info(stack, name)["pid"]
    os.killpg(pid, signal.SIGSTOP)
    return pid


def thaw(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def healthy(url: str) -> bool:
    try:
        return plain_http.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def listener_log(stack: Stack) -> str:
    path = Path(stack.home) / "logs" / "healthcheck.log"
    return path.read_text() if path.exists() else ""
