"""Where the CPU went during a measurement: PostgreSQL, our processes, the load generator, the rest.

    with CpuShare() as share:
        run_the_load()
    print(share.summary())   # "machine 97% busy: postgres 41%, ours 45%, load 9%, other 2% (of 2 cores)"

A background thread snapshots every process's CPU time (psutil) twice a second and adds up, per
process, the CPU used between consecutive snapshots, so processes that start or end within the
window are counted for the part they were seen. Shares are of the whole machine (all cores): a
busy total near 100% says the machine's CPU is the limit, and the split says whose work it is.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict

import psutil

INTERVAL = 0.25
GROUPS = ("postgres", "ours", "load", "other")


def _group(process: psutil.Process) -> str:
    try:
        name = process.name()
        cmdline = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return "other"
    if name.startswith("postgres"):
        return "postgres"
    if name == "wrk" or "tests.bench" in cmdline:
        return "load"  # the load generator and the benchmark driver itself
    if any(mark in cmdline for mark in ("workers.example_worker", "gunicorn", "uvicorn", "pgqueuer")):
        return "ours"
    return "other"


class CpuShare:
    """A context manager measuring CPU seconds per group (see module docstring)."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.seconds: dict[str, float] = defaultdict(float)
        self.wall = 0.0
        self._last: dict[int, tuple[float, str]] = {}
        self._groups: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-share", daemon=True)
        self._started = 0.0

    def _snapshot(self) -> None:
        current: dict[int, tuple[float, str]] = {}
        for process in psutil.process_iter():
            try:
                times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            group = self._groups.get(process.pid) or self._groups.setdefault(process.pid, _group(process))
            used = times.user + times.system
            current[process.pid] = (used, group)
            before = self._last.get(process.pid)
            if before is not None and used >= before[0]:
                self.seconds[group] += used - before[0]
        self._last = current

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._snapshot()

    def __enter__(self) -> CpuShare:
        self._started = time.perf_counter()
        self._snapshot()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._snapshot()
        self.wall = time.perf_counter() - self._started

    def share(self, group: str) -> float:
        """The group's CPU as a fraction of the machine's capacity over the window (0..1)."""
        capacity = self.wall * (os.cpu_count() or 1)
        return self.seconds.get(group, 0.0) / capacity if capacity else 0.0

    def busy(self) -> float:
        """All groups together: how busy the machine's CPU was (0..1)."""
        return sum(self.share(group) for group in GROUPS)

    def summary(self) -> str:
        busy = self.busy()
        parts = ", ".join(f"{group} {self.share(group):.0%}" for group in GROUPS)
        return f"machine {busy:.0%} busy: {parts} (of {os.cpu_count()} cores)"
