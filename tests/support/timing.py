"""Where a run's time went, printed before pytest's closing line: the ten slowest tests and the time
per directory. Registered by tests/conftest.py (``pytest -p no:suite_timing`` turns it off).

A test's time is its setup, call and teardown together, so a module's shared stack counts in the
test that booted it and the one that shut it down. Under pytest-xdist the controller adds up the
reports of every worker: a directory's time is then test time, which parallel workers overlap; the
run's wall time is printed beside it.

With ``TEST_CPU=1`` each process that runs tests (each xdist worker) moves itself into a cgroup of
its own (cgroup v1 cpuacct, as root), so every process a test starts (a stack's supervisord and its
programs included, daemons too) is counted; the report then adds the CPU seconds per directory and
the ten files that used the most. CPU time hardly depends on what else the machine is doing, so it
says where the suite's cost is on a busy machine too: on 2 cores, a suite that takes N CPU seconds
cannot finish in less than N/2 seconds however it is run in parallel. ``TEST_TIMES_FILE=path`` also
writes every test's seconds and CPU seconds there as JSON.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path, PurePosixPath

import pluggy
import pytest

from tests.support import schedule

SLOWEST = 10


CPUACCT = Path("/sys/fs/cgroup/cpuacct")
CPU_KEY = "cpu_seconds"


class CpuMeter:
    """This process and everything it starts in a cgroup of their own; each test's CPU seconds
    (setup to teardown, every process of the cgroup) go with its teardown report."""

    def __init__(self, group: Path) -> None:
        self.group = group
        self.at_setup = 0.0

    @classmethod
    def start(cls) -> CpuMeter | None:
        group = CPUACCT / f"suite-{os.getpid()}"
        try:
            group.mkdir(exist_ok=True)
            (group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError as exc:
            warnings.warn(f"TEST_CPU: no cgroup for CPU accounting ({exc})", stacklevel=1)
            return None
        return cls(group)

    def used(self) -> float:
        return int((self.group / "cpuacct.usage").read_text()) / 1e9

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
        outcome = yield
        if call.when == "teardown":
            report = outcome.get_result()
            report.user_properties.append((CPU_KEY, self.used() - self.at_setup))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.at_setup = self.used()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        try:
            (CPUACCT / "cgroup.procs").write_text(str(os.getpid()))
            self.group.rmdir()
        except OSError as exc:  # a process the suite left running keeps the group
            warnings.warn(f"TEST_CPU: {self.group} not removed ({exc})", stacklevel=1)


class SuiteTiming:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.started = time.monotonic()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] += report.duration
        for key, value in report.user_properties:
            if key == CPU_KEY:
                self.cpu[report.nodeid] += float(value)  # type: ignore[arg-type]

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
        if self.cpu:
            self._cpu_summary(terminalreporter, wall)
        if schedule.updating():
            schedule.save_durations(self.seconds)
        if os.environ.get("TEST_TIMES_FILE"):
            self._save(Path(os.environ["TEST_TIMES_FILE"]), wall)

    def _save(self, path: Path, wall: float) -> None:
        """Every test's seconds (and CPU seconds under TEST_CPU=1) as JSON, to compare two runs."""
        tests = {nodeid: {"seconds": s, "cpu": self.cpu.get(nodeid)} for nodeid, s in self.seconds.items()}
        path.write_text(json.dumps({"wall": wall, "tests": tests}, indent=1) + "\n")

    def _cpu_summary(self, terminalreporter: pytest.TerminalReporter, wall: float) -> None:
        write = terminalreporter.write_line
        total = sum(self.cpu.values())
        terminalreporter.write_sep(
            "=", f"CPU seconds (TEST_CPU=1): {total:.0f} in all, {total / wall:.2f} cores"
        )
        per_directory: dict[str, float] = defaultdict(float)
        per_file: dict[str, float] = defaultdict(float)
        for nodeid, seconds in self.cpu.items():
            path = nodeid.split("::", 1)[0]
            per_directory[str(PurePosixPath(path).parent)] += seconds
            per_file[path] += seconds
        for directory, seconds in sorted(per_directory.items(), key=lambda kv: -kv[1]):
            write(f"{seconds:8.1f}s cpu  {directory}/")
        terminalreporter.write_sep("-", f"the {SLOWEST} files that used the most CPU")
        for path, seconds in sorted(per_file.items(), key=lambda kv: -kv[1])[:SLOWEST]:
            write(f"{seconds:8.1f}s cpu  {path}")


def register(config: pytest.Config) -> None:
    """Print the timings in this process unless it is an xdist worker (the controller prints them);
    with TEST_CPU=1, meter CPU in each process that runs tests."""
    worker = hasattr(config, "workerinput")
    if not worker:
        config.pluginmanager.register(SuiteTiming(), "suite_timing")
    running_tests = worker or not config.getoption("numprocesses", default=None)
    if os.environ.get("TEST_CPU") == "1" and running_tests:
        meter = CpuMeter.start()
        if meter is not None:
            config.pluginmanager.register(meter, "suite_cpu")
