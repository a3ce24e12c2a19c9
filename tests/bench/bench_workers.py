"""Worker benchmarks, ours and pgqueuer side by side in one run: medians and ratios.

    bin/bench workers                       # all four, 20,000 items, 3 runs each
    bin/bench workers --items 5000 --repeat 1 --only throughput,sigterm

1. throughput: no-op processing of N items with 1, 2 and 4 worker processes: ``ExampleWorker``'s
   queue on SQLite and on PostgreSQL, a worker on a table of its own (``links``, two columns
   written per item) on PostgreSQL, and pgqueuer with as many processes on the same PostgreSQL
   server. Timed from the commit of the items (jobs) to the last one done; the workers are up and
   idle before. The sides are interleaved round by round (the order turns each round); every
   round's ratios are printed with the machine's load average and CPU steal over the round.
2. latency: pick-up while idle with WORKER_IDLE_INTERVAL=30: item created through the API
   (real gunicorn) to its claim (``created_at`` to ``metadata.result.processed_at``); pgqueuer:
   enqueue to the handler's start.
3. sigterm: SIGTERM to process exit of an idle worker.
4. idle-cpu: CPU seconds used by an idle worker over a minute (all side by side, same minute).

PostgreSQL comes from TEST_DATABASE_URL (default postgres@127.0.0.1:5432); each run gets a fresh
database, dropped afterwards. pgqueuer is installed by the `bench` extra (bin/bench does it).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from store.models import Item, ItemStatus
from tests.integration.workers.links import Link, LinksDatabase
from tests.integration.workers.support import REPO, ItemsDatabase, WorkerProcess
from tests.support.databases import fresh_postgres_database
from tests.support.wait import wait_until

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BATCH_SIZE = 10  # both sides: our WORKER_BATCH_SIZE default, pgqueuer's run(batch_size=) default


# ----- pgqueuer side -------------------------------------------------------------------------
def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pgq_queries(dsn: str) -> Any:
    import psycopg
    from pgqueuer import PsycopgDriver, Queries

    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    return conn, Queries(PsycopgDriver(conn))


def pgq_install(url: str) -> None:
    async def go() -> None:
        conn, queries = await _pgq_queries(_dsn(url))
        await queries.install()
        await conn.close()

    asyncio.run(go())


def pgq_enqueue(url: str, count: int, payload: Callable[[], bytes | None] = lambda: None) -> None:
    async def go() -> None:
        conn, queries = await _pgq_queries(_dsn(url))
        await queries.enqueue(["noop"] * count, [payload() for _ in range(count)], [0] * count)
        await conn.close()

    asyncio.run(go())


def pgq_worker_main(dsn: str, latency_file: str | None) -> None:
    """A pgqueuer worker process: a no-op entrypoint (or one that records pick-up latency)."""
    from pgqueuer import QueueManager

    async def go() -> None:
        _conn, queries = await _pgq_queries(dsn)
        qm = QueueManager(queries)

        @qm.entrypoint("noop")
        async def noop(job: Any) -> None:
            if latency_file and job.payload:
                with open(latency_file, "a") as out:
                    out.write(f"{time.time() - float(job.payload.decode())}\n")

        await qm.run(batch_size=BATCH_SIZE)

    asyncio.run(go())


class PgqWorker:
    def __init__(self, url: str, home: Path, latency_file: Path | None = None) -> None:
        args = [sys.executable, "-m", "tests.bench.bench_workers", "--pgqueuer-worker", _dsn(url)]
        if latency_file:
            args += ["--latency-file", str(latency_file)]
        self.log = (home / f"pgq-{os.urandom(3).hex()}.log").open("wb")
        self.process = subprocess.Popen(args, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def pgq_wait_ready(url: str, workers: int) -> None:
    """Every pgqueuer process connected, and a warm-up job per process done."""
    engine = create_engine(url)
    try:

        def connected() -> bool:
            with engine.connect() as conn:
                others = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
                return others >= workers

        wait_until(connected, timeout=60, message="pgqueuer workers connected")
        pgq_enqueue(url, workers)
        wait_until(lambda: pgq_remaining(engine) == 0, timeout=60, message="pgqueuer warm-up jobs done")
    finally:
        engine.dispose()


def pgq_remaining(engine: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pgqueuer")).scalar_one()


# ----- our side --------------------------------------------------------------------------------
def remaining(db: ItemsDatabase | LinksDatabase) -> int:
    table = Link if isinstance(db, LinksDatabase) else Item
    with db.db.session() as session:
        return session.execute(
            select(func.count()).where(table.status.in_([ItemStatus.PENDING, ItemStatus.PROCESSING]))
        ).scalar_one()


@contextmanager
def database(kind: str, home: Path, pg_server: str) -> Iterator[str]:
    if kind == "sqlite":
        path = home / f"db-{os.urandom(4).hex()}" / "app.db"
        yield f"sqlite:///{path}"
    else:
        with fresh_postgres_database(pg_server) as url:
            yield url


def throughput_ours(
    kind: str,
    workers: int,
    items: int,
    home: Path,
    pg_server: str,
    *,
    measure: AbstractContextManager[Any] | None = None,
    own_table: bool = False,
    each_written: bool = False,
) -> float:
    """Items per second; ``measure`` (e.g. a CpuShare) is entered for the timed window only.
    ``own_table``: the links table and a worker writing two of its columns per item (with
    ``each_written``, each outcome in a write of its own: flush_interval 0)."""
    with database(kind, home, pg_server) as url, ExitStack() as stack:
        env = {"LOG_LEVEL": "WARNING", "WORKER_BATCH_SIZE": str(BATCH_SIZE)}
        db: ItemsDatabase | LinksDatabase
        if own_table:
            db = LinksDatabase(url)
            env["LINKS_PROGRAM"] = "two-columns-each" if each_written else "two-columns"
            module = "tests.integration.workers.links"
        else:
            db = ItemsDatabase.create(url)
            module = "workers.example_worker"
        stack.callback(db.close)
        procs = [WorkerProcess(home, url, worker_id=n, env=env, module=module) for n in range(workers)]
        for proc in procs:
            stack.enter_context(proc)
        for proc in procs:
            proc.wait_ready(timeout=60)
        if isinstance(db, LinksDatabase):
            db.add_links([f"https://example.org/{n}" for n in range(items)])
        else:
            db.add_items(items)
        started = time.perf_counter()
        with measure if measure is not None else nullcontext():
            wait_until(lambda: remaining(db) == 0, timeout=900, interval=0.05, message="all items done")
        elapsed = time.perf_counter() - started
        assert db.counts() == {ItemStatus.DONE: items}
        return items / elapsed


def throughput_pgqueuer(workers: int, items: int, home: Path, pg_server: str) -> float:
    with fresh_postgres_database(pg_server) as url:
        pgq_install(url)
        procs = [PgqWorker(url, home) for _ in range(workers)]
        engine = create_engine(url)
        try:
            pgq_wait_ready(url, workers)
            pgq_enqueue(url, items)
            started = time.perf_counter()
            wait_until(lambda: pgq_remaining(engine) == 0, timeout=900, interval=0.05, message="queue empty")
            return items / (time.perf_counter() - started)
        finally:
            engine.dispose()
            for proc in procs:
                proc.stop()


# ----- latency -------------------------------------------------------------------------------
def latency_ours(kind: str, samples: int, home: Path, pg_server: str) -> list[float]:
    with database(kind, home, pg_server) as url, ExitStack() as stack:
        db = ItemsDatabase.create(url)
        stack.callback(db.close)
        create_item = stack.enter_context(_item_creator(home, url, db))
        worker = stack.enter_context(WorkerProcess(home, url, env={"WORKER_IDLE_INTERVAL": "30"}))
        worker.wait_ready(timeout=60)
        latencies = []
        for n in range(samples):
            worker.wait_state("idle")
            time.sleep(0.05 + (n % 5) * 0.03)  # spread the creations over the worker's sleep
            item_id = create_item(f"latency {n}")
            done = functools.partial(_done_item, db, item_id)
            item = wait_until(done, timeout=60, interval=0.01, message="item done")
            assert item is not None
            processed = datetime.fromisoformat(item.metadata_["result"]["processed_at"])
            latencies.append((processed - item.created_at).total_seconds())
        return latencies


_API_NOTE: list[str] = []


@contextmanager
def _item_creator(home: Path, url: str, db: ItemsDatabase) -> Iterator[Callable[[str], int]]:
    """POST /api/v1/items on a real API server; a direct insert when the API cannot serve it."""
    import httpx

    from tests.support.api_server import ApiServer

    try:
        from store.accounts import create_api_key

        with db.db.session() as session:
            _, key = create_api_key(session, user_id=db.user_id, name="bench")
        server = ApiServer(home / f"api-{os.urandom(3).hex()}", database_url=url).start()
    except Exception as exc:  # noqa: BLE001 - the API is optional for this number; say so
        _API_NOTE.append(f"API unavailable ({type(exc).__name__}: {exc}); items inserted directly")
        yield lambda title: db.add_items(1, title=title)[0]
        return
    try:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=10) as client:

            def create(title: str) -> int:
                response = client.post("/api/v1/items", json={"title": title, "description": "x"})
                response.raise_for_status()
                return int(response.json()["id"])

            yield create
    finally:
        server.stop()


def _done_item(db: ItemsDatabase, item_id: int) -> Item | None:
    with db.db.session() as session:
        item = session.get(Item, item_id)
        return item if item is not None and item.status == ItemStatus.DONE else None


def latency_pgqueuer(samples: int, home: Path, pg_server: str) -> list[float]:
    with fresh_postgres_database(pg_server) as url:
        pgq_install(url)
        latency_file = home / f"pgq-latency-{os.urandom(3).hex()}.txt"
        latency_file.touch()
        worker = PgqWorker(url, home, latency_file)
        try:
            pgq_wait_ready(url, 1)
            for n in range(samples):
                time.sleep(0.05 + (n % 5) * 0.03)
                pgq_enqueue(url, 1, payload=lambda: str(time.time()).encode())
                wait_until(
                    lambda: len(latency_file.read_text().split()) > n,  # noqa: B023
                    timeout=60,
                    interval=0.01,
                    message="pgqueuer job done",
                )
            return [float(x) for x in latency_file.read_text().split()]
        finally:
            worker.stop()


# ----- SIGTERM and idle CPU --------------------------------------------------------------------
def sigterm_ours(kind: str, samples: int, home: Path, pg_server: str) -> list[float]:
    with database(kind, home, pg_server) as url:
        ItemsDatabase.create(url).close()
        times = []
        for _ in range(samples):
            with WorkerProcess(home, url, env={"WORKER_IDLE_INTERVAL": "30"}) as worker:
                worker.wait_ready(timeout=60)
                worker.wait_state("idle")
                assert worker.process is not None
                started = time.perf_counter()
                worker.signal(signal.SIGTERM)
                code = worker.wait_exit(timeout=30)
                times.append(time.perf_counter() - started)
                assert code == 0, code
        return times


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def idle_cpu(seconds: float, home: Path, pg_server: str) -> dict[str, float]:
    """Percent of one core used over ``seconds`` by idle workers, all measured in the same window."""
    with ExitStack() as stack:
        pids: dict[str, int] = {}
        for kind in ("sqlite", "postgresql"):
            url = stack.enter_context(database(kind, home, pg_server))
            db = ItemsDatabase.create(url)
            stack.callback(db.close)
            worker = stack.enter_context(WorkerProcess(home, url, env={"WORKER_IDLE_INTERVAL": "30"}))
            worker.wait_ready(timeout=60)
            assert worker.process is not None
            pids[f"ours ({kind})"] = worker.process.pid
        pg_url = stack.enter_context(fresh_postgres_database(pg_server))
        pgq_install(pg_url)
        pgq = PgqWorker(pg_url, home)
        stack.callback(pgq.stop)
        pgq_wait_ready(pg_url, 1)
        pids["pgqueuer (postgresql)"] = pgq.process.pid
        time.sleep(3)  # let start-up work settle before the window opens
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        time.sleep(seconds)
        return {name: 100 * (cpu_seconds(pid) - before[name]) / seconds for name, pid in pids.items()}


# ----- report --------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


class MachineWindow:
    """The load average and the CPU steal (/proc/stat) over a window: is the machine's noise ours?"""

    def __enter__(self) -> MachineWindow:
        self._start = self._cpu()
        return self

    def __exit__(self, *_exc: object) -> None:
        end = self._cpu()
        total = sum(end) - sum(self._start)
        steal = end[7] - self._start[7] if len(end) > 7 else 0
        self.steal_percent = 100 * steal / total if total else 0.0
        self.load = os.getloadavg()[0]

    @staticmethod
    def _cpu() -> list[int]:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        return [int(x) for x in fields[:8]]


SIDES = ("ours SQLite", "ours PostgreSQL", "own table PostgreSQL", "own table, each written", "pgqueuer")


def _run_side(side: str, workers: int, items: int, home: Path, pg_server: str) -> float:
    if side == "pgqueuer":
        return throughput_pgqueuer(workers, items, home, pg_server)
    kind = "sqlite" if "SQLite" in side else "postgresql"
    return throughput_ours(
        kind,
        workers,
        items,
        home,
        pg_server,
        own_table=side.startswith("own table"),
        each_written="each" in side,
    )


def throughput_rounds(
    worker_counts: list[int], items: int, rounds: int, home: Path, pg_server: str
) -> dict[str, Any]:
    """Every side at every worker count once per round, the order turned each round; each round's
    ratios to pgqueuer printed with the load average and CPU steal over the round."""
    cells: dict[int, dict[str, list[float]]] = {w: {side: [] for side in SIDES} for w in worker_counts}
    per_round: list[dict[str, Any]] = []
    print(
        f"\n1. Throughput, no-op items/s, {items} items, {rounds} round(s), batch size {BATCH_SIZE} "
        "on every side; own table: two columns written per item; each written: every outcome in a "
        "write of its own (flush_interval 0) instead of with the batch",
        flush=True,
    )
    header = ["round", "workers", *SIDES, "PG/pgq", "own/pgq", "each/pgq", "load", "steal %"]
    print("| " + " | ".join(header) + " |", flush=True)
    for round_ in range(1, rounds + 1):
        for workers in worker_counts:
            order = SIDES[round_ % len(SIDES) :] + SIDES[: round_ % len(SIDES)]
            figures: dict[str, float] = {}
            with MachineWindow() as window:
                for side in order:
                    figures[side] = _run_side(side, workers, items, home, pg_server)
            for side, value in figures.items():
                cells[workers][side].append(value)
            pgq = figures["pgqueuer"]
            row = {
                "round": round_,
                "workers": workers,
                **figures,
                "pg_ratio": figures["ours PostgreSQL"] / pgq,
                "own_ratio": figures["own table PostgreSQL"] / pgq,
                "each_ratio": figures["own table, each written"] / pgq,
                "load": window.load,
                "steal": window.steal_percent,
            }
            per_round.append(row)
            cols = [str(round_), str(workers), *(f"{figures[s]:.0f}" for s in SIDES)]
            cols += [f"{row[k]:.2f}" for k in ("pg_ratio", "own_ratio", "each_ratio")]
            cols.append(f"{window.load:.1f}")
            cols.append(f"{window.steal_percent:.1f}")
            print("| " + " | ".join(cols) + " |", flush=True)
    rows = []
    for workers, cell in cells.items():
        med = {side: statistics.median(values) for side, values in cell.items()}
        ratios = [r for r in per_round if r["workers"] == workers]
        pg = sorted(r["pg_ratio"] for r in ratios)
        own = sorted(r["own_ratio"] for r in ratios)
        each = sorted(r["each_ratio"] for r in ratios)
        rows.append(
            [
                str(workers),
                *(f"{med[side]:.0f}" for side in SIDES),
                f"{statistics.median(pg):.2f} ({pg[0]:.2f}-{pg[-1]:.2f})",
                f"{statistics.median(own):.2f} ({own[0]:.2f}-{own[-1]:.2f})",
                f"{statistics.median(each):.2f} ({each[0]:.2f}-{each[-1]:.2f})",
            ]
        )
    print(f"\nMedians of {rounds} round(s); ratios: median of the rounds' ratios (range)")
    print(
        table(["workers", *SIDES, "PG / pgqueuer", "own table / pgqueuer", "each written / pgqueuer"], rows),
        flush=True,
    )
    return {"cells": cells, "rounds": per_round}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench workers", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per throughput cell (median)")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--samples", type=int, default=30, help="latency and SIGTERM samples")
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    parser.add_argument("--only", default="throughput,latency,sigterm,idle-cpu")
    parser.add_argument("--pgqueuer-worker", metavar="DSN", help=argparse.SUPPRESS)
    parser.add_argument("--latency-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pgqueuer_worker:
        pgq_worker_main(args.pgqueuer_worker, args.latency_file)
        return 0
    pg_server = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    only = set(args.only.split(","))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        home = Path(tmp)
        if "throughput" in only:
            results["throughput"] = throughput_rounds(
                [int(w) for w in args.workers.split(",")], args.items, args.repeat, home, pg_server
            )
        if "latency" in only:
            lat = {
                "ours SQLite": latency_ours("sqlite", args.samples, home, pg_server),
                "ours PostgreSQL": latency_ours("postgresql", args.samples, home, pg_server),
                "pgqueuer": latency_pgqueuer(args.samples, home, pg_server),
            }
            results["latency"] = lat
            print(
                f"\n2. Pick-up latency while idle (WORKER_IDLE_INTERVAL=30), {args.samples} samples, seconds"
            )
            for note in dict.fromkeys(_API_NOTE):
                print(f"   note: {note}")
            base = statistics.median(lat["pgqueuer"])
            print(
                table(
                    ["side", "p50", "p99", "max", "p50 ratio to pgqueuer"],
                    [
                        [
                            k,
                            f"{percentile(v, 50):.3f}",
                            f"{percentile(v, 99):.3f}",
                            f"{max(v):.3f}",
                            f"{statistics.median(v) / base:.2f}",
                        ]
                        for k, v in lat.items()
                    ],
                ),
                flush=True,
            )
        if "sigterm" in only:
            sig = {
                "ours SQLite": sigterm_ours("sqlite", args.samples, home, pg_server),
                "ours PostgreSQL": sigterm_ours("postgresql", args.samples, home, pg_server),
            }
            results["sigterm"] = sig
            print(f"\n3. SIGTERM to exit while idle, {args.samples} samples, seconds")
            print(
                table(
                    ["side", "p50", "p99", "max"],
                    [
                        [k, f"{percentile(v, 50):.3f}", f"{percentile(v, 99):.3f}", f"{max(v):.3f}"]
                        for k, v in sig.items()
                    ],
                ),
                flush=True,
            )
        if "idle-cpu" in only:
            cpu = idle_cpu(args.cpu_seconds, home, pg_server)
            results["idle_cpu"] = cpu
            print(f"\n4. CPU of an idle worker over {args.cpu_seconds:.0f}s, % of one core (same window)")
            print(table(["side", "cpu %"], [[k, f"{v:.3f}"] for k, v in cpu.items()]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
