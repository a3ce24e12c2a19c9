"""Where a run's time went, printed before pytest's closing line: the ten slowest tests and the time
per directory. Registered by tests/conftest.py (``pytest -p no:suite_timing`` turns it off).

A test's time is its setup, call and teardown together, so a module's shared stack counts in the
test that booted it and the one that shut it down. Under pytest-xdist the controller adds up the
reports of every worker: a directory's time is then test time, which parallel workers overlap; the
run's wall time is printed beside it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import PurePosixPath

import pytest

SLOWEST = 10


class SuiteTiming:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.started = time.monotonic()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] += report.duration

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.seconds:
            return
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", f"{SLOWEST} slowest tests (setup + call + teardown)")
        for nodeid, seconds in sorted(self.seconds.items(), key=lambda kv: -kv[1])[:SLOWEST]:
            write(f"{seconds:8.1f}s  {nodeid}")
        per_directory: dict[str, list[float]] = defaultdict(list)
        for nodeid, seconds in self.seconds.items():
            per_directory[str(PurePosixPath(nodeid.split("::", 1)[0]).parent)].append(seconds)
        workers = getattr(terminalreporter.config.option, "numprocesses", None) or 0
        wall = time.monotonic() - self.started
        how = f"{workers} workers in parallel, " if workers else ""
        terminalreporter.write_sep("=", f"time per directory ({how}wall time {wall:.0f}s)")
        for directory, times in sorted(per_directory.items(), key=lambda kv: -sum(kv[1])):
            write(f"{sum(times):8.1f}s  {len(times):5d} tests  {directory}/")
        write(f"{sum(self.seconds.values()):8.1f}s  {len(self.seconds):5d} tests  (test time in all)")


def register(config: pytest.Config) -> None:
    """Print the timings in this process unless it is an xdist worker (the controller prints them)."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(SuiteTiming(), "suite_timing")
