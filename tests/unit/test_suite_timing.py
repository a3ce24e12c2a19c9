"""The end of a bin/test run: the ten slowest tests and the time per directory, then pytest's own
closing line (CI reads it), also when pytest-xdist runs the tests in parallel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFTEST = """
from tests.support import timing

def pytest_configure(config):
    timing.register(config)
"""
SLOW = """
import time

def test_slow():
    time.sleep(0.3)  # a test that takes time, as one booting a server does

def test_fast():
    pass
"""


def run_pytest(tmp_path: Path, *args: str) -> list[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for directory in ("alpha", "beta"):
        (tmp_path / directory).mkdir()
        (tmp_path / directory / f"test_{directory}.py").write_text(
            SLOW if directory == "alpha" else "def test_b(): pass\n"
        )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path), *args],
        cwd=tmp_path,
        # Only pytest's own plugins (and xdist where asked for): the installed ones take seconds to load.
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("parallel", [[], ["-p", "xdist", "-n", "2"]], ids=["one process", "xdist"])
def test_slowest_tests_and_directories_before_the_closing_line(tmp_path: Path, parallel: list[str]) -> None:
    lines = run_pytest(tmp_path, *parallel)
    slowest = lines.index(next(line for line in lines if "10 slowest tests" in line))
    assert lines[slowest + 1].split()[1] == "alpha/test_alpha.py::test_slow"
    per_directory = next(i for i, line in enumerate(lines) if "time per directory" in line)
    assert ("2 workers in parallel" in lines[per_directory]) == bool(parallel)
    rows = [line.split() for line in lines[per_directory + 1 : per_directory + 3]]
    assert [(row[1], row[3]) for row in rows] == [("2", "alpha/"), ("1", "beta/")]  # the slow one first
    assert lines[per_directory + 3].split()[1:] == ["3", "tests", "(test", "time", "in", "all)"]
    assert lines[-1].startswith("3 passed in ")  # pytest's closing line stays last
