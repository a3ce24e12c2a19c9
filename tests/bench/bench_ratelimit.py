"""bin/bench ratelimit: what one rate-limit check costs, by where the counters live.

    bin/bench ratelimit [--rounds 7] [--calls 2000]

Side by side, interleaved round by round, ``RateLimiter.hit`` (one request's check) with counters:
  machine   the SQLite file shared by the server's processes (the default without Redis)
  process   this process's own dict (the last resort when that file fails)
  anchor    ``limits``' FixedWindowRateLimiter over its MemoryStorage, as the API counted before
            (per process: not shared, and a timer thread per expiry)
  redis     ``limits``' Redis storage, when Redis answers on REDIS_URL (default 127.0.0.1:6379)
and the machine file under contention: two processes hitting one key at once. Prints the median
µs per check of each round's mean, the spread (min-max of the rounds), ratios to the anchor, and the
machine's load average and CPU steal during the run (/proc/stat).

Then how the API's async path should run a check (issue 33): on the event loop, or handed to a worker
thread (``anyio.to_thread``) as the threaded path's step does, 16 requests at once; CPU µs per check
(the process's CPU time: what a thread hop costs is CPU, not wall time).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api.ratelimit import MachineCounters, ProcessCounters, RateLimiter, StorageCounters

LIMIT = parse("1000000000/minute")


def cpu_times() -> list[int]:
    with open("/proc/stat") as stat:
        return [int(v) for v in stat.readline().split()[1:]]


def steal_share(before: list[int], after: list[int]) -> float:
    delta = [b - a for a, b in zip(before, after, strict=False)]
    return delta[7] / max(1, sum(delta)) if len(delta) > 7 else 0.0


def per_call_us(step: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls * 1e6


def contended(path: str, calls: int, ready: object, result: object) -> None:
    counters = MachineCounters(Path(path))
    limiter = RateLimiter({"default": LIMIT}, counters, prefix="bench")
    ready.wait()  # type: ignore[attr-defined]
    result.value = per_call_us(lambda: limiter.hit("default", "user:shared"), calls)  # type: ignore[attr-defined]


def loop_cpu_us(limiter: RateLimiter, *, in_thread: bool, calls: int, tasks: int = 16) -> float:
    """CPU µs per check of ``calls`` checks made by ``tasks`` concurrent tasks on one event loop."""
    import asyncio

    import anyio.to_thread

    async def one(n: int) -> None:
        for _ in range(calls // tasks):
            if in_thread:
                await anyio.to_thread.run_sync(limiter.hit, "default", f"user:{n}")
            else:
                limiter.hit("default", f"user:{n}")

    async def all_of_them() -> None:
        await asyncio.gather(*(one(n) for n in range(tasks)))

    start = time.process_time()
    asyncio.run(all_of_them())
    return (time.process_time() - start) / (calls // tasks * tasks) * 1e6


def event_loop_rows(home: Path, rounds: int, calls: int) -> None:
    limiter = RateLimiter({"default": LIMIT}, MachineCounters(home / "loop.sqlite3"), prefix="bench")
    loop_cpu_us(limiter, in_thread=True, calls=200)  # warm up: the thread pool, the connections
    rows: dict[bool, list[float]] = {False: [], True: []}
    for n in range(rounds):
        for in_thread in (False, True) if n % 2 == 0 else (True, False):
            rows[in_thread].append(loop_cpu_us(limiter, in_thread=in_thread, calls=calls))
    print("the machine file from the event loop, CPU µs per check (median, min-max), 16 tasks at once:")
    for in_thread, label in ((False, "on the event loop"), (True, "handed to a thread (anyio)")):
        values = rows[in_thread]
        print(f"  {label:30s} {statistics.median(values):8.1f}  ({min(values):.1f}-{max(values):.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-ratelimit-"))
    sides: dict[str, Callable[[], object]] = {}
    machine = RateLimiter({"default": LIMIT}, MachineCounters(home / "c.sqlite3"), prefix="bench")
    sides["machine"] = lambda: machine.hit("default", "user:1")
    process = RateLimiter({"default": LIMIT}, ProcessCounters(), prefix="bench")
    sides["process"] = lambda: process.hit("default", "user:1")
    anchor = FixedWindowRateLimiter(MemoryStorage())

    def anchor_hit() -> object:  # what the API did per request before: hit, then the window's stats
        anchor.hit(LIMIT, "bench", "default", "user:1")
        return anchor.get_window_stats(LIMIT, "bench", "default", "user:1")

    sides["anchor"] = anchor_hit
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        storage = storage_from_string(redis_url, wrap_exceptions=True)
        storage.get("bench-probe")
        redis = RateLimiter(
            {"default": LIMIT}, StorageCounters(storage), prefix=f"bench-{secrets.token_hex(4)}"
        )  # type: ignore[arg-type]
        sides["redis"] = lambda: redis.hit("default", "user:1")
    except Exception as exc:  # noqa: BLE001 - any failure: no Redis side
        print(f"(no Redis side: {exc})")
    for step in sides.values():
        per_call_us(step, 200)  # warm up: connections, tables, caches
    results: dict[str, list[float]] = {name: [] for name in sides}
    results["machine, 2 processes at once"] = []
    load_before, cpu_before = os.getloadavg()[0], cpu_times()
    context = multiprocessing.get_context("fork")
    for n in range(args.rounds):
        order = list(sides) if n % 2 == 0 else list(reversed(sides))
        for name in order:
            results[name].append(per_call_us(sides[name], args.calls))
        ready = context.Event()
        values = [context.Value("d", 0.0) for _ in range(2)]
        procs = [
            context.Process(target=contended, args=(str(home / "c.sqlite3"), args.calls, ready, v))
            for v in values
        ]
        for proc in procs:
            proc.start()
        ready.set()
        for proc in procs:
            proc.join()
        results["machine, 2 processes at once"].append(statistics.mean(v.value for v in values))
    load_after, cpu_after = os.getloadavg()[0], cpu_times()
    anchor_median = statistics.median(results["anchor"])
    print(f"rate-limit check, µs per call: {args.rounds} rounds of {args.calls} calls (median, min-max)")
    for name, values in results.items():
        median = statistics.median(values)
        print(
            f"  {name:30s} {median:8.1f}  ({min(values):.1f}-{max(values):.1f})"
            f"   x{median / anchor_median:.2f} of anchor"
        )
    event_loop_rows(home, args.rounds, args.calls)
    load_after, cpu_after = os.getloadavg()[0], cpu_times()
    print(
        f"machine: load {load_before:.2f} -> {load_after:.2f}, "
        f"CPU steal {steal_share(cpu_before, cpu_after):.1%}, {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
