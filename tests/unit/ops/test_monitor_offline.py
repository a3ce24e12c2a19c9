"""bin/monitor.py without a running supervisord, run as a user runs it (no venv activated)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.stack import REPO

MONITOR = str(REPO / "bin" / "monitor.py")


def run(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    # A shell without the venv: PATH has the system python3 only, as after a fresh login.
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "APP_HOME": str(home),
        **extra,
    }
    return subprocess.run([MONITOR, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") is None, reason="no python3")
@pytest.mark.parametrize("args", [[], ["--json"], ["--restart"], ["--restart", "api"]])
def test_supervisord_down_is_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    done = run(tmp_path, *args)
    assert done.returncode == 2
    socket = tmp_path / "var" / "run" / "supervisor.sock"
    assert done.stderr == f"monitor.py: supervisord is not running (no socket at {socket})\n"
    assert done.stdout == ""


def test_a_broken_setting_is_named(tmp_path: Path) -> None:
    done = run(tmp_path, API_PORT="http")
    assert done.returncode == 2
    assert done.stderr.startswith("monitor.py: setting API_PORT='http' (from environment)")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["--json", "--watch"], ["--watch", "--start-all"], ["--interval", "x"]])
def test_bad_flags_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    done = run(tmp_path, *args)
    assert done.returncode == 2 and "usage: monitor.py" in done.stderr and "Traceback" not in done.stderr


def test_a_symlink_elsewhere_still_finds_the_venv(tmp_path: Path) -> None:
    # The sh line resolves the link (e.g. ~/bin/monitor.py -> the checkout) to find .venv.
    link = tmp_path / "monitor.py"
    link.symlink_to(MONITOR)
    env = {"PATH": "/usr/bin:/bin", "APP_HOME": str(tmp_path)}
    done = subprocess.run([str(link)], env=env, capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stderr) == (
        2,
        f"monitor.py: supervisord is not running (no socket at "
        f"{tmp_path / 'var' / 'run' / 'supervisor.sock'})\n",
    )


def test_a_checkout_without_its_venv_says_what_to_run(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    shutil.copy(MONITOR, tmp_path / "bin" / "monitor.py")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "APP_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(tmp_path / "bin" / "monitor.py")], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr == "monitor.py: .venv is missing: run bin/run once to set up the project\n"
