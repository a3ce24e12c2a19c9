"""How the stack scales on PostgreSQL: worker processes and gunicorn workers.

    bin/bench scale [--items 20000] [--workers 1,2,4,8] [--api-workers 1,2,4] [--repeat 3]

1. Items per second processed (no-op processing) by 1, 2, 4 and 8 worker processes on one
   PostgreSQL database, median of ``--repeat`` runs, with the scaling factor of each step.
2. The API's requests per second (get by id, 32 connections) with 1, 2 and 4 gunicorn workers.
Each step also says where the machine's CPU went while it ran (``tests/bench/cpu_share.py``):
PostgreSQL, our processes (workers or gunicorn), the load generator and the benchmark itself, and
the rest. The last lines say where the limit lies: the step where the scaling factor falls below
1.3, and whether the machine's CPU was saturated then and by whom.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from tests.bench.bench_api import Gunicorn, Target, run_load, seed
from tests.bench.bench_workers import throughput_ours
from tests.bench.cpu_share import CpuShare
from tests.support.databases import fresh_postgres_database, postgres_server_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def scaling_rows(label: str, measured: dict[int, float], unit: str) -> list[str]:
    rows, previous = [], None
    for count, value in measured.items():
        step = f"{value / measured[previous]:.2f}x vs {previous}" if previous else "-"
        rows.append(f"| {label} | {count} | {value:,.0f} {unit} | {step} |")
        previous = count
    return rows


def limit_sentence(label: str, measured: dict[int, float]) -> str:
    counts = list(measured)
    for before, after in zip(counts, counts[1:], strict=False):
        if measured[after] / measured[before] < 1.3:
            return (f"{label}: scaling flattens from {before} to {after} "
                    f"({measured[after] / measured[before]:.2f}x) on {os.cpu_count()} CPU cores")
    return f"{label}: still scaling at {counts[-1]} on {os.cpu_count()} CPU cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench scale", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--api-workers", default="1,2,4")
    parser.add_argument("--api-items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args(argv)
    pg_server = postgres_server_url() or DEFAULT_PG
    worker_counts = [int(n) for n in args.workers.split(",")]
    api_counts = [int(n) for n in args.api_workers.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        home = Path(tmp)
        items_per_second: dict[int, float] = {}
        for count in worker_counts:
            runs = [throughput_ours("postgresql", count, args.items, home, pg_server)
                    for _ in range(args.repeat)]
            items_per_second[count] = statistics.median(runs)
            print(f"  workers={count}: {', '.join(f'{r:.0f}' for r in runs)} items/s", flush=True)

        requests_per_second: dict[int, float] = {}
        api_cpu: dict[int, CpuShare] = {}
        for count in api_counts:
            with ExitStack() as stack:
                url = stack.enter_context(fresh_postgres_database(pg_server))
                server = stack.enter_context(Gunicorn(home / f"api{count}", "api.app:app",
                                                      database_url=url, workers=count))
                headers, id_range, _ = seed(url, args.api_items)
                target = Target("postgresql", server.url, headers, id_range)
                runs, shares = [], []
                for _ in range(args.repeat):
                    with CpuShare() as share:
                        runs.append(run_load(target, "get", args.seconds, 32).rps)
                    shares.append(share)
            requests_per_second[count] = statistics.median(runs)
            api_cpu[count] = shares[runs.index(requests_per_second[count])] if len(runs) % 2 else shares[-1]
            print(f"  gunicorn workers={count}: {', '.join(f'{r:.0f}' for r in runs)} req/s; "
                  f"{api_cpu[count].summary()}", flush=True)

    print(f"\nPostgreSQL, medians of {args.repeat}; {os.cpu_count()} CPU cores\n")
    print("| what | processes | throughput | step |\n|---|---|---|---|")
    print("\n".join(scaling_rows("worker processes (no-op items)", items_per_second, "items/s")))
    print("\n".join(scaling_rows("gunicorn workers (get by id)", requests_per_second, "req/s")))
    print()
    print(limit_sentence("workers", items_per_second))
    print(limit_sentence("API", requests_per_second))
    return 0


if __name__ == "__main__":
    sys.exit(main())
