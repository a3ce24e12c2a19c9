"""How the stack scales on PostgreSQL: worker processes and gunicorn workers.

    bin/bench scale [--items 20000] [--workers 1,2,4,8] [--api-workers 1,2,4] [--repeat 3]
                    [--hosts 1,2,3 | --hosts ''] [--host-items 5000]

1. Items per second processed (no-op processing) by 1, 2, 4 and 8 worker processes on one
   PostgreSQL database, median of ``--repeat`` runs, with the scaling factor of each step.
2. The API's requests per second (get by id, 32 connections) with 1, 2 and 4 gunicorn workers.
3. (root, ``--hosts``) items per second with the workers of 1, 2 and 3 hosts in network namespaces
   on one queue, and seconds from a host's cut to its claimed items finished elsewhere, beside
   the aim: lease plus one requeue interval (tests/bench/bench_hosts.py).
Each step also says where the machine's CPU went while it ran (``tests/bench/cpu_share.py``):
PostgreSQL, our processes (workers or gunicorn), the load generator and the benchmark itself, and
the rest. The last lines say where the limit lies: the step where the scaling factor falls below
1.3, and whether the machine's CPU was saturated then and by whom.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from tests.bench.bench_api import Gunicorn, Target, run_load, seed
from tests.bench.bench_workers import throughput_ours
from tests.bench.cpu_share import GROUPS, CpuShare
from tests.support.databases import fresh_postgres_database, postgres_server_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def scaling_rows(label: str, measured: dict[int, float], unit: str, cpu: dict[int, CpuShare]) -> list[str]:
    rows, previous = [], None
    for count, value in measured.items():
        step = f"{value / measured[previous]:.2f}x vs {previous}" if previous else "-"
        split = cpu[count]
        rows.append(
            f"| {label} | {count} | {value:,.0f} {unit} | {step} | {split.busy():.0%} | "
            + " | ".join(f"{split.share(group):.0%}" for group in GROUPS)
            + " |"
        )
        previous = count
    return rows


def median_share(runs: list[float], shares: list[CpuShare]) -> CpuShare:
    """The CPU split of the run whose result is the median (the upper middle one for even counts)."""
    order = sorted(range(len(runs)), key=runs.__getitem__)
    return shares[order[len(order) // 2]]


def limit_sentence(label: str, measured: dict[int, float], cpu: dict[int, CpuShare]) -> str:
    counts = list(measured)
    for before, after in itertools.pairwise(counts):
        if measured[after] / measured[before] < 1.3:
            split = cpu[after]
            top = max(GROUPS, key=split.share)
            saturated = (
                f"the machine's {os.cpu_count()} cores were {split.busy():.0%} busy, "
                f"most of it {top} ({split.share(top):.0%})"
            )
            verdict = (
                "CPU-bound"
                if split.busy() >= 0.85
                else "not CPU-bound: waits (locks, commits, round trips) limit it"
            )
            return (
                f"{label}: scaling flattens from {before} to {after} "
                f"({measured[after] / measured[before]:.2f}x); {saturated}: {verdict}"
            )
    return f"{label}: still scaling at {counts[-1]} on {os.cpu_count()} CPU cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench scale", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--api-workers", default="1,2,4")
    parser.add_argument("--api-items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--hosts", default="1,2,3", help="host counts ('' to skip; needs root)")
    parser.add_argument("--host-items", type=int, default=5000)
    args = parser.parse_args(argv)
    pg_server = postgres_server_url() or DEFAULT_PG
    worker_counts = [int(n) for n in args.workers.split(",")]
    api_counts = [int(n) for n in args.api_workers.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        home = Path(tmp)
        items_per_second: dict[int, float] = {}
        worker_cpu: dict[int, CpuShare] = {}
        for count in worker_counts:
            runs, shares = [], []
            for _ in range(args.repeat):
                share = CpuShare()
                runs.append(throughput_ours("postgresql", count, args.items, home, pg_server, measure=share))
                shares.append(share)
            items_per_second[count] = statistics.median(runs)
            worker_cpu[count] = median_share(runs, shares)
            print(
                f"  workers={count}: {', '.join(f'{r:.0f}' for r in runs)} items/s; "
                f"{worker_cpu[count].summary()}",
                flush=True,
            )

        requests_per_second: dict[int, float] = {}
        api_cpu: dict[int, CpuShare] = {}
        for count in api_counts:
            with ExitStack() as stack:
                url = stack.enter_context(fresh_postgres_database(pg_server))
                server = stack.enter_context(
                    Gunicorn(home / f"api{count}", "api.app:app", database_url=url, workers=count)
                )
                headers, id_range, _ = seed(url, args.api_items)
                target = Target("postgresql", server.url, headers, id_range)
                runs, shares = [], []
                for _ in range(args.repeat):
                    with CpuShare() as share:
                        runs.append(run_load(target, "get", args.seconds, 32).rps)
                    shares.append(share)
            requests_per_second[count] = statistics.median(runs)
            api_cpu[count] = median_share(runs, shares)
            print(
                f"  gunicorn workers={count}: {', '.join(f'{r:.0f}' for r in runs)} req/s; "
                f"{api_cpu[count].summary()}",
                flush=True,
            )

    print(f"\nPostgreSQL, medians of {args.repeat}; {os.cpu_count()} CPU cores\n")
    print("| what | processes | throughput | step | CPU busy | " + " | ".join(GROUPS) + " |")
    print("|---|---|---|---|---|" + "---|" * len(GROUPS))
    print("\n".join(scaling_rows("worker processes (no-op items)", items_per_second, "items/s", worker_cpu)))
    print("\n".join(scaling_rows("gunicorn workers (get by id)", requests_per_second, "req/s", api_cpu)))
    print(
        "\n(CPU: shares of the whole machine during the timed window; 'load' is wrk or the benchmark "
        "driver polling the database)\n"
    )
    print(limit_sentence("workers", items_per_second, worker_cpu))
    print(limit_sentence("API", requests_per_second, api_cpu))
    if args.hosts:
        hosts_rows([int(n) for n in args.hosts.split(",")], pg_server, args.host_items, args.repeat)
    return 0


def hosts_rows(counts: list[int], pg_server: str, items: int, repeat: int) -> None:
    from tests.bench import bench_hosts
    from tests.support.host_lab import can_run

    why = can_run()
    if why:
        print(f"\nhosts: skipped ({why})")
        return
    with tempfile.TemporaryDirectory(prefix="bench-hosts-") as tmp:
        rates, cuts = bench_hosts.measure(Path(tmp), pg_server, counts, items, repeat)
    print(f"\nWorkers on several hosts (2 worker processes each, network namespaces), medians of {repeat}\n")
    print("| what | hosts | throughput | step |")
    print("|---|---|---|---|")
    previous = None
    for count, rate in rates.items():
        step = f"{rate / rates[previous]:.2f}x vs {previous}" if previous else "-"
        print(f"| workers on hosts (example worker, 2 ms/item) | {count} | {rate:,.0f} items/s | {step} |")
        previous = count
    aim = bench_hosts.LEASE + bench_hosts.REQUEUE_INTERVAL
    print(
        f"| a host cut to its items finished elsewhere | {counts[-1]} | {statistics.median(cuts):.1f} s "
        f"(runs {', '.join(f'{c:.1f}' for c in cuts)}) | aim {aim:.1f} s (lease {bench_hosts.LEASE:g} s "
        f"+ requeue interval {bench_hosts.REQUEUE_INTERVAL:g} s) |"
    )


if __name__ == "__main__":
    sys.exit(main())
