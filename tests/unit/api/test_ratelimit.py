"""The limiter's counters: fixed windows, exact across processes sharing the machine's file, and no
thread started per request (limits' MemoryStorage starts a timer thread to expire its keys)."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest
from limits import parse

from api.errors import RateLimited
from api.ratelimit import MachineCounters, ProcessCounters, RateLimiter, RateLimiterUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("kind", ["machine", "process"])
def test_a_window_counts_then_starts_again_when_it_ends(tmp_path: Path, kind: str) -> None:
    clock = Clock()
    counters = MachineCounters(tmp_path / "c.sqlite3", clock) if kind == "machine" else ProcessCounters(clock)
    assert [counters.hit("k", 60) for _ in range(3)] == [
        (1, clock.now + 60),
        (2, clock.now + 60),
        (3, clock.now + 60),
    ]
    assert counters.hit("other", 60)[0] == 1
    clock.now += 59.9
    assert counters.hit("k", 60)[0] == 4  # the same window
    clock.now += 0.1
    assert counters.hit("k", 60) == (1, clock.now + 60)  # ended: a new one from now


def _hammer(path: str, n: int) -> None:
    counters = MachineCounters(Path(path))
    for _ in range(n):
        counters.hit("shared", 60)


def test_processes_sharing_the_file_lose_no_hit(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    context = multiprocessing.get_context("fork")  # four processes; no interpreter start each
    workers = [context.Process(target=_hammer, args=(str(path), 200)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert MachineCounters(path).hit("shared", 60)[0] == 801
    assert path.stat().st_mode & 0o777 == 0o600  # it names users and client addresses


def test_the_limiter_refuses_past_the_limit_and_starts_no_thread(tmp_path: Path) -> None:
    limiter = RateLimiter({"default": parse("5/minute")}, MachineCounters(tmp_path / "c.sqlite3"), prefix="t")
    threads = threading.active_count()
    states = [limiter.hit("default", "user:1") for _ in range(5)]
    assert [s.remaining for s in states if s is not None] == [4, 3, 2, 1, 0]
    with pytest.raises(RateLimited) as refused:
        limiter.hit("default", "user:1")
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    for _ in range(200):
        try:
            limiter.hit("default", f"ip:{_}")
        except RateLimited:
            pytest.fail("another identity has its own window")
    assert threading.active_count() == threads


def test_an_unusable_counter_file_is_handled_by_the_policy(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the counters' directory should be")
    item = {"default": parse("2/minute")}
    local = RateLimiter(item, MachineCounters(blocked / "c.sqlite3"), prefix="t", when_down="local")
    assert local.hit("default", "user:1") is not None and local.hit("default", "user:1") is not None
    with pytest.raises(RateLimited):  # counted in the process instead
        local.hit("default", "user:1")
    assert local.health()["state"] == "degraded" and local.health()["storage"] == "machine"
    closed = RateLimiter(item, MachineCounters(blocked / "c.sqlite3"), prefix="t", when_down="closed")
    with pytest.raises(RateLimiterUnavailable):
        closed.hit("default", "user:1")
    opened = RateLimiter(item, MachineCounters(blocked / "c.sqlite3"), prefix="t", when_down="open")
    assert [opened.hit("default", "user:1") for _ in range(5)] == [None] * 5


@pytest.mark.parametrize("kind", ["machine", "process"])
def test_ten_thousand_callers_a_minute_keep_the_counters_bounded(tmp_path: Path, kind: str) -> None:
    """A new caller every 6 ms (10,000 distinct a minute) for five minutes: the counters hold the
    last minute's windows plus at most one sweep's worth, not every caller ever seen."""
    import sqlite3

    clock = Clock()
    path = tmp_path / "c.sqlite3"
    counters = MachineCounters(path, clock) if kind == "machine" else ProcessCounters(clock)

    def held() -> int:
        if isinstance(counters, ProcessCounters):
            return len(counters._windows)
        with sqlite3.connect(path) as conn:
            return int(conn.execute("SELECT count(*) FROM windows").fetchone()[0])

    most = 0
    for n in range(50_000):
        clock.now += 0.006
        assert counters.hit(f"ip:10.{n // 65536}.{n // 256 % 256}.{n % 256}", 60) == (1, clock.now + 60)
        if n % 1000 == 999:
            most = max(most, held())
    assert most <= 10_000 + counters.SWEEP_EVERY + 1
