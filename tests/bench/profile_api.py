"""``bin/bench api --profile get``: one API worker sampled by py-spy while wrk loads the API.

py-spy records (``--gil``: only the thread holding the GIL, i.e. where the worker's Python time goes)
the collapsed stacks of one of gunicorn's two workers; the summary gives, for each part of the stack
(FastAPI's request handling, the database path, thread hops, the rate limiter, logging ...), the share
of samples whose deepest recognised frame is in it, and the functions the samples end in (self time).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import psutil

# (label, substrings of a frame "function (file:line)"). A sample counts for the part of its deepest
# frame that matches one (the most specific: a query run from a thread is the database's, the wait
# for a thread's result is the hop's); samples with no match are "other".
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("FastAPI dependency resolution", ("fastapi/dependencies/",)),
    ("FastAPI routing, validation, serialization", ("fastapi/", "pydantic/", "pydantic_core")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("psycopg", ("psycopg/", "psycopg_pool/", "psycopg_binary")),
    ("sqlite3", ("sqlite3/", "_sqlite3")),
    (
        "thread hops (anyio to_thread, threading, futures)",
        ("anyio/", "threading.py", "concurrent/futures", "queue.py"),
    ),
    ("rate limiter", ("api/ratelimit.py", "limits/")),
    ("JWT", ("jwt/", "api/security.py")),
    ("logging", ("logging/",)),
    (
        "middleware (starlette + ours)",
        (
            "starlette/middleware",
            "api/middleware.py",
            "api/security_headers.py",
            "api/access_log.py",
            "api/metrics.py",
            "api/draining.py",
        ),
    ),
    ("uvicorn/httptools, our HTTP bounds", ("uvicorn/", "httptools", "api/http_limits.py")),
    ("starlette (routing, requests, responses)", ("starlette/",)),
    ("our routes and dependencies", ("api/deps.py", "api/routes/", "store/")),
    ("asyncio event loop", ("asyncio/", "uvloop")),
]


def part_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, marks in PARTS:
            if any(mark in frame for mark in marks):
                return label
    return "other"


def record(worker_pid: int, seconds: int, out: Path) -> None:
    subprocess.run(
        [
            str(Path(sys.executable).parent / "py-spy"),  # the venv's (bench extra)
            "record",
            "--gil",
            "--nonblocking",
            "--format",
            "raw",
            "--rate",
            "200",
            "--duration",
            str(seconds),
            "--pid",
            str(worker_pid),
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
    )


def summary(collapsed: Path, top: int = 15) -> str:
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        parts[part_of(frames)] += count
        leaves[frames[-1]] += count
    if not total:  # pragma: no cover - py-spy failed or the worker idled
        return "no samples (py-spy saw no GIL-holding thread)"
    lines = [f"{total} samples with the GIL held; share of each part (its deepest frame's):"]
    for label, count in parts.most_common():
        lines.append(f"  {label:50} {count / total:6.1%}")
    lines.append(f"top {top} functions by self time:")
    for frame, count in leaves.most_common(top):
        lines.append(f"  {count / total:6.1%}  {frame[:110]}")
    return "\n".join(lines)


def worker_pids(master_pid: int) -> list[int]:
    return [child.pid for child in psutil.Process(master_pid).children()]
