"""How recently a program's process tree changed: the age of its youngest process.

    newest_process_age(pid)     # seconds since the youngest of pid and its descendants started

A reload (gunicorn's HUP) forks new workers under the same master, and a start begins with young
processes: while one is younger than the listener's grace, a failing liveness probe means "starting
or reloading", not "hung". Read through psutil (the local host only; None when the process is gone).
"""

from __future__ import annotations

import time

import psutil


def newest_process_age(pid: int, *, now: float | None = None) -> float | None:
    """Seconds since the youngest process of ``pid``'s tree started; None if ``pid`` is gone."""
    try:
        root = psutil.Process(pid)
        started: list[float] = [float(root.create_time())]
        for child in root.children(recursive=True):
            try:
                started.append(float(child.create_time()))
            except psutil.Error:
                continue  # exited meanwhile
    except psutil.Error:
        return None
    return max(0.0, (time.time() if now is None else now) - max(started))
