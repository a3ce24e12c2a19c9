"""bin/bench api: the API under gunicorn (2 workers) at concurrency 32 with 100,000 items, on SQLite and
PostgreSQL, side by side with a bare ASGI app under the same gunicorn settings (the stack's ceiling),
and on PostgreSQL with a hand-tuned app doing the same work (tests/bench/ceiling_app.py: Starlette, an
async psycopg pool, uvloop and httptools; the work's ceiling), reported as ours/ceiling per route.

    bin/bench api [--items 100000] [--rounds 3] [--seconds 5] [--connections 32] [--no-postgres]
                  [--scenarios list,get,create]      (e.g. --items 1000000 --scenarios list)
                  [--observability] [--auth jwt|key] [--no-ceiling] [--baseline TREE]
    bin/bench api --profile get [--seconds 10]       (one API worker under py-spy --gil, summarised)

``--observability`` runs each backend twice: as in production (the API's metrics on, the JSON access
log written to a file) and with both off, so the table shows what they cost per request.

Scenarios: list (limit 50), get by id (random ids), create; the anchor returns a fixed 50-item JSON
list. Load comes from ``wrk`` when installed (apt-get install wrk), else from an httpx async client
(which spends more CPU itself on this 2-core box: compare ratios, not absolute numbers). Each scenario
runs ``--rounds`` times, interleaved with the anchor; the table shows medians and ratios to the anchor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.databases import fresh_postgres_database, postgres_server_url
from tests.support.net import free_port
from tests.support.processes import stop_process_group
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# One secret for every server of a run: the API and the ceiling check the same tokens.
JWT_SECRET = os.urandom(24).hex()
CEILING_APP = "tests.bench.ceiling_app:app"
CEILING_WORKER = "tests.bench.ceiling_app.CeilingWorker"

# --- the anchor: a bare ASGI app returning a fixed 50-item page -------------------------------------

_ITEM = {
    "id": 0,
    "user_id": 1,
    "title": "bench item",
    "description": "",
    "status": "done",
    "metadata": {},
    "attempts": 1,
    "error": None,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}
_PAGE = json.dumps(
    {
        "items": [{**_ITEM, "id": 100_000 - n} for n in range(50)],
        "total": 100_000,
        "page": 1,
        "limit": 50,
        "pages": 2000,
        "next_cursor": 99_951,
    }
).encode()
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_PAGE)).encode())]


async def bare_app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _PAGE})


# --- servers -------------------------------------------------------------------------------------------


class Gunicorn:
    """gunicorn with the project's conf/gunicorn.conf.py, serving ``app`` on a free port."""

    def __init__(
        self,
        home: Path,
        app: str,
        *,
        database_url: str,
        workers: int = 2,
        health_path: str = "/health",
        worker_class: str | None = None,
        observability: bool = False,
        source: Path | None = None,
    ) -> None:
        self.home, self.app, self.health_path = home, app, health_path
        self.worker_class = worker_class
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "APP_HOME": str(home),
            "APP_ENV": "test",
            "API_PORT": str(self.port),
            "API_WORKERS": str(workers),
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "JWT_SECRET": JWT_SECRET,
            "API_MAX_REQUESTS": "0",
            "RATE_LIMIT_DEFAULT": "100000000/minute",
            # --baseline: another tree's src/ first, so its api and store are the ones imported.
            "PYTHONPATH": f"{source / 'src'}:{REPO}" if source else str(REPO),
            # Access log and metrics off unless asked for: the app is measured, not terminal I/O.
            **(
                {"API_METRICS": "true", "API_ACCESS_LOG": "true", "LOG_FORMAT": "json"}
                if observability
                else {"API_METRICS": "false", "API_ACCESS_LOG": "false"}
            ),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        (self.home / "var").mkdir(parents=True, exist_ok=True)
        log = (self.home / "gunicorn.log").open("ab")
        # Its log (with --observability the JSON access lines) goes to a file, as under supervisord.
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                str(REPO / "conf" / "gunicorn.conf.py"),
                *(["--worker-class", self.worker_class] if self.worker_class else []),
                self.app,
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until(
            lambda: httpx.get(self.url + self.health_path, timeout=2).status_code == 200,
            timeout=90,
            message=f"{self.app} on {self.url}",
        )
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop_process_group(self.process, port=self.port)


@dataclass
class Target:
    name: str
    url: str
    headers: dict[str, str]
    id_range: tuple[int, int] = (1, 1)
    pid: int | None = None  # gunicorn's master: its CPU time per request is measured


def seed(database_url: str, items: int, auth: str = "jwt") -> tuple[dict[str, str], tuple[int, int], str]:
    """A user with ``items`` items (bulk SQL) and a credential (``auth``: a JWT, as the ceiling
    checks, or an API key); returns headers, id range, list plan."""
    from sqlalchemy import create_engine, func, select

    from api.deps import Principal
    from api.routes.items import list_queries
    from api.security import create_access_token
    from store.accounts import create_api_key, create_user
    from store.db import Database
    from store.models import Item
    from tests.integration.api.bulk import analyze, bulk_insert_items

    database = Database(database_url)
    with database.session() as session:
        user = create_user(session, email="bench@example.com", password="bench-password")
        other = create_user(session, email="other@example.com", password="bench-password")
        key = create_api_key(session, user_id=user.id, name="bench")[1]
    engine = create_engine(database_url)
    bulk_insert_items(engine, user_id=other.id, count=items // 10)  # someone else's rows around ours
    bulk_insert_items(engine, user_id=user.id, count=items)
    analyze(engine)
    with database.session() as session:
        low, high = session.execute(
            select(func.min(Item.id), func.max(Item.id)).where(Item.user_id == user.id)
        ).one()
    principal = Principal(user_id=user.id, email=user.email, is_admin=False, created_at=user.created_at)
    _, rows_query = list_queries(principal, limit=50)
    sql = str(rows_query.compile(engine, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = " / ".join(str(r[-1]).strip() for r in conn.exec_driver_sql(explain + sql).all())
    engine.dispose()
    database.dispose()
    token = create_access_token(
        user.id, token_version=user.token_version, secret=JWT_SECRET, expires_in=24 * 3600
    )
    headers = {"X-API-Key": key} if auth == "key" else {"Authorization": f"Bearer {token}"}
    return headers, (low, high), plan


def seed_token(database_url: str) -> dict[str, str]:
    """A JWT for the seeded user (the ceiling takes no API key)."""
    from sqlalchemy import create_engine, text

    from api.security import create_access_token

    engine = create_engine(database_url)
    with engine.connect() as conn:
        user_id, version = conn.execute(
            text("SELECT id, token_version FROM users WHERE email = 'bench@example.com'")
        ).one()
    engine.dispose()
    token = create_access_token(user_id, token_version=version, secret=JWT_SECRET, expires_in=24 * 3600)
    return {"Authorization": f"Bearer {token}"}


def cpu_counters() -> tuple[int, int]:
    """(total, steal) jiffies of all CPUs, from /proc/stat (0, 0 where there is none)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    return sum(fields), fields[7] if len(fields) > 7 else 0


class Machine:
    """The machine's load average (1 min) after each round, and its CPU steal over the run."""

    def __init__(self) -> None:
        self.loads = [os.getloadavg()[0]]
        self.start = cpu_counters()

    def sample(self) -> None:
        self.loads.append(os.getloadavg()[0])

    def summary(self) -> str:
        total, steal = cpu_counters()
        share = 100 * (steal - self.start[1]) / max(1, total - self.start[0])
        return (
            f"load average (1 min) {self.loads[0]:.1f} at start, median {statistics.median(self.loads):.1f}, "
            f"max {max(self.loads):.1f}; CPU steal {share:.1f}% over the run; {os.cpu_count()} CPUs"
        )


# --- load --------------------------------------------------------------------------------------------


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_us: float = 0.0  # the server's CPU time (master + workers, user + system) per request


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds gunicorn's master and workers have used: what a request costs the server,
    whatever else the shared machine runs (unlike req/s)."""
    import psutil

    master = psutil.Process(pid)
    total = 0.0
    for process in [master, *master.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


_WRK_SCRIPT = """
local lo, hi = {lo}, {hi}
local scenario = "{scenario}"
wrk.headers["Content-Type"] = "application/json"
{headers}
request = function()
  if scenario == "get" then
    return wrk.format("GET", "/api/v1/items/" .. math.random(lo, hi))
  elseif scenario == "create" then
    return wrk.format("POST", "/api/v1/items", nil, '{{"title": "bench create", "metadata": {{"n": 1}}}}')
  elseif scenario == "list" then
    return wrk.format("GET", "/api/v1/items?limit=50")
  end
  return wrk.format("GET", "/")
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def run_wrk(target: Target, scenario: str, seconds: float, connections: int) -> Result:
    headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in target.headers.items())
    script = _WRK_SCRIPT.format(
        lo=target.id_range[0], hi=target.id_range[1], scenario=scenario, headers=headers
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                target.url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(handle.name)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    requests, duration_us, p50, p99, bad_status, socket_errors = (int(x) for x in line.split()[1:])
    return Result(
        rps=requests / (duration_us / 1e6),
        requests=requests,
        p50_ms=p50 / 1000,
        p99_ms=p99 / 1000,
        errors=bad_status + socket_errors,
    )


async def _httpx_load(target: Target, scenario: str, seconds: float, connections: int) -> Result:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=target.url, headers=target.headers, limits=limits, timeout=10
    ) as client:

        async def one_connection() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                if scenario == "get":
                    response = await client.get(f"/api/v1/items/{random.randint(*target.id_range)}")
                elif scenario == "create":
                    response = await client.post(
                        "/api/v1/items", json={"title": "bench create", "metadata": {"n": 1}}
                    )
                elif scenario == "list":
                    response = await client.get("/api/v1/items", params={"limit": 50})
                else:
                    response = await client.get("/")
                latencies.append(time.perf_counter() - start)
                errors += response.status_code >= 400

        started = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return Result(
        rps=len(latencies) / elapsed,
        requests=len(latencies),
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        errors=errors,
    )


def run_load(target: Target, scenario: str, seconds: float, connections: int) -> Result:
    if shutil.which("wrk"):
        return run_wrk(target, scenario, seconds, connections)
    return asyncio.run(_httpx_load(target, scenario, seconds, connections))


# --- the additions alone, in one process: CPU time, which the machine's load barely moves ----------

_ADDITIONS = """
import logging, os, sys, time
from config.config import load
from config.logsetup import configure
from store.db import Database
from api.metrics import ApiMetrics, multiprocess_mode
assert multiprocess_mode()
settings = load({"LOG_FORMAT": "json"})
database = Database(settings.DATABASE_URL)
metrics = ApiMetrics(database, multiprocess_dir=settings.api_metrics_dir)
n = 20000
start = time.process_time()
for _ in range(n):
    metrics.in_progress.inc()
    metrics.in_progress.dec()
    metrics.observe("GET", "/api/v1/items/{item_id}", 200, 0.01)
metrics_us = (time.process_time() - start) / n * 1e6
configure(settings, program="api")
access = logging.getLogger("uvicorn.access")
start = time.process_time()
for _ in range(n):
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET", "/api/v1/items/12345", "1.1", 200)
log_us = (time.process_time() - start) / n * 1e6
print(f"RESULT {metrics_us:.1f} {log_us:.1f}", file=sys.__stdout__)
"""


def cost_of_additions(home: Path) -> tuple[float, float]:
    """(metrics, one JSON access line) in CPU microseconds a request, in prometheus_client's
    multiprocess mode, the line written to a file as under supervisord."""
    metrics_dir = home / "var" / "metrics" / "api"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "APP_HOME": str(home), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with (home / "access.log").open("w") as log:
        out = subprocess.run(
            [sys.executable, "-c", _ADDITIONS],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    metrics_us, log_us = (float(x) for x in line.split()[1:])
    return metrics_us, log_us


# --- a profile of one worker ---------------------------------------------------------------------------


def profile(args: argparse.Namespace) -> int:
    """Our API on PostgreSQL (SQLite with --no-postgres) under one scenario's load from wrk, one of
    its workers sampled by py-spy; prints the summary (tests/bench/profile_api.py)."""
    import threading

    from tests.bench.profile_api import record, summary, worker_pids

    pg_server = None if args.no_postgres else (postgres_server_url() or DEFAULT_PG)
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-api-profile-")))
        if pg_server:
            backend, url = "postgresql", stack.enter_context(fresh_postgres_database(pg_server))
        else:
            backend, url = "sqlite", f"sqlite:///{root / 'api' / 'var' / 'app.db'}"
        server = stack.enter_context(Gunicorn(root / "api", "api.app:app", database_url=url))
        print(f"seeding {backend} ({args.items:,} items) ...", flush=True)
        headers, id_range, _plan = seed(url, args.items, args.auth)
        target = Target(backend, server.url, headers, id_range, server.pid)
        run_load(target, args.profile, 2, args.connections)  # warm up: pools filled, caches compiled
        assert server.pid is not None
        worker = worker_pids(server.pid)[0]
        machine = Machine()
        out = root / "profile.txt"
        sampler = threading.Thread(target=record, args=(worker, args.seconds, out))
        sampler.start()
        result = run_load(target, args.profile, args.seconds + 1, args.connections)
        sampler.join()
        machine.sample()
        if not out.exists():
            print("py-spy recorded nothing (see its error above)", file=sys.stderr)
            return 1
        print(
            f"{backend} {args.profile}: {result.rps:.0f} req/s (both workers; one sampled), errors "
            f"{result.errors}; {machine.summary()}"
        )
        print(summary(out))
        if args.profile_out:
            shutil.copy(out, args.profile_out)
    return 0


# --- main -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--observability",
        action="store_true",
        help="each backend also with metrics and the JSON access log on (tagged +obs), side by side",
    )
    parser.add_argument("--scenarios", default="list,get,create", help="comma-separated: list, get, create")
    parser.add_argument(
        "--worker-class",
        action="append",
        default=[],
        help="gunicorn worker class to compare, side by side (repeat; default: conf/gunicorn.conf.py's), "
        "e.g. uvicorn_worker.UvicornWorker uvicorn_worker.UvicornH11Worker",
    )
    parser.add_argument(
        "--auth",
        choices=("jwt", "key"),
        default="jwt",
        help="how the load authenticates: a JWT (Authorization: Bearer; the ceiling's way) or an API key",
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip the hand-tuned ceiling")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also run the API of another tree (e.g. `git worktree add /tmp/main main`) on each backend, "
        "tagged @base, in the same rounds: before and after side by side",
    )
    parser.add_argument(
        "--profile",
        choices=("list", "get", "create"),
        help="instead: profile one API worker (py-spy --gil) under this scenario's load for --seconds",
    )
    parser.add_argument(
        "--profile-out", type=Path, help="with --profile: keep py-spy's collapsed stacks here"
    )
    args = parser.parse_args(argv)
    if args.profile:
        return profile(args)
    chosen = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    if not chosen or set(chosen) - {"list", "get", "create"}:
        parser.error(f"--scenarios: choose from list, get, create (got {args.scenarios!r})")
    pg_server = None if args.no_postgres else (postgres_server_url() or DEFAULT_PG)
    loader = "wrk" if shutil.which("wrk") else "httpx (install wrk for a lighter load generator)"
    print(
        f"bench api: gunicorn 2 workers, {args.connections} connections, {args.items:,} items, "
        f"{args.rounds} rounds x {args.seconds:g}s, load from {loader}",
        flush=True,
    )

    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-api-")))
        worker_classes: list[str | None] = list(args.worker_class) or [None]

        def tag(name: str, worker_class: str | None) -> str:
            return name if len(worker_classes) == 1 else f"{name}/{(worker_class or '').rsplit('.', 1)[-1]}"

        targets: dict[str, Target] = {}
        backends = [("sqlite", f"sqlite:///{root / 'sqlite' / 'var' / 'app.db'}")]
        if pg_server:
            backends.append(("postgresql", stack.enter_context(fresh_postgres_database(pg_server))))
        plans = {}
        seeded: dict[str, tuple[dict[str, str], tuple[int, int]]] = {}
        for n, worker_class in enumerate(worker_classes):
            bare = stack.enter_context(
                Gunicorn(
                    root / f"bare{n}",
                    "tests.bench.bench_api:bare_app",
                    database_url=f"sqlite:///{root / f'bare{n}' / 'var' / 'app.db'}",
                    health_path="/",
                    worker_class=worker_class,
                )
            )
            targets[tag("bare", worker_class)] = Target("bare ASGI", bare.url, {})
            for backend, url in backends:
                server = stack.enter_context(
                    Gunicorn(
                        root / f"{backend}{n}", "api.app:app", database_url=url, worker_class=worker_class
                    )
                )
                if backend not in seeded:
                    print(f"seeding {backend} ...", flush=True)
                    headers, id_range, plans[backend] = seed(url, args.items, args.auth)
                    seeded[backend] = (headers, id_range)
                    if backend == "postgresql" and not args.no_ceiling:
                        ceiling = stack.enter_context(
                            Gunicorn(
                                root / "ceiling", CEILING_APP, database_url=url, worker_class=CEILING_WORKER
                            )
                        )
                        token_headers = headers if args.auth == "jwt" else seed_token(url)
                        targets["ceiling"] = Target(
                            "ceiling", ceiling.url, token_headers, id_range, ceiling.pid
                        )
                headers, id_range = seeded[backend]
                targets[tag(backend, worker_class)] = Target(
                    backend, server.url, headers, id_range, server.pid
                )
                if args.baseline:
                    base = stack.enter_context(
                        Gunicorn(
                            root / f"{backend}{n}-base",
                            "api.app:app",
                            database_url=url,
                            worker_class=worker_class,
                            source=args.baseline.resolve(),
                        )
                    )
                    name = tag(backend, worker_class) + "@base"
                    targets[name] = Target(name, base.url, headers, id_range, base.pid)
                if args.observability:
                    observed = stack.enter_context(
                        Gunicorn(
                            root / f"{backend}{n}-obs",
                            "api.app:app",
                            database_url=url,
                            worker_class=worker_class,
                            observability=True,
                        )
                    )
                    name = tag(backend, worker_class) + "+obs"
                    targets[name] = Target(name, observed.url, headers, id_range, observed.pid)

        results: dict[tuple[str, str], list[Result]] = {}
        scenarios = [
            (tag(name, wc), scenario)
            for wc in worker_classes
            for name, scenario in [("bare", "bare")]
            + [
                (b + suffix, s)
                for b, _ in backends
                for s in chosen
                for suffix in [""]
                + (["+obs"] if args.observability else [])
                + (["@base"] if args.baseline else [])
            ]
        ]
        if "ceiling" in targets:
            scenarios += [("ceiling", s) for s in chosen]
        machine = Machine()
        for round_no in range(1, args.rounds + 1):
            # Every other round backwards: no side always runs first (or last) in a round.
            for backend, scenario in scenarios if round_no % 2 else scenarios[::-1]:
                target = targets[backend]
                cpu_before = server_cpu_seconds(target.pid) if target.pid else 0.0
                result = run_load(target, scenario, args.seconds, args.connections)
                if target.pid and result.requests:
                    result.cpu_us = (server_cpu_seconds(target.pid) - cpu_before) / result.requests * 1e6
                results.setdefault((backend, scenario), []).append(result)
                machine.sample()
                print(
                    f"  round {round_no}: {backend:22} {scenario:6} {result.rps:8.0f} req/s "
                    f"p50 {result.p50_ms:6.1f} ms p99 {result.p99_ms:7.1f} ms errors {result.errors}",
                    flush=True,
                )

    def median(key: tuple[str, str], field: str) -> float:
        return statistics.median(getattr(r, field) for r in results[key])

    bare_rps = median((scenarios[0][0], "bare"), "rps")
    print(
        "\nmedians of",
        args.rounds,
        f"rounds; ratio = req/s relative to {scenarios[0][0]} (the bare ASGI app)\n",
    )
    print(
        f"| {'server':22} | {'scenario':14} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} "
        f"| {'ratio':>6} | errors |"
    )
    print(f"|{'-' * 24}|{'-' * 16}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 8}|--------|")
    for backend, scenario in scenarios:
        key = (backend, scenario)
        label = (
            "fixed 50 items"
            if scenario == "bare"
            else {"list": "list limit=50", "get": "get by id", "create": "create"}[scenario]
        )
        print(
            f"| {backend:22} | {label:14} | {median(key, 'rps'):7.0f} | {median(key, 'p50_ms'):7.1f} | "
            f"{median(key, 'p99_ms'):7.1f} | {median(key, 'rps') / bare_rps:6.2f} | "
            f"{sum(r.errors for r in results[key]):6d} |"
        )
    if "ceiling" in targets:
        print(
            "\nagainst the hand-tuned ceiling (tests/bench/ceiling_app.py, PostgreSQL): ours/ceiling req/s, "
            "median of the rounds' ratios and their spread (each round's ours over that round's ceiling)\n"
        )
        print(
            "| route | ours req/s | ceiling req/s | ours/ceiling | per-round spread | ours/bare "
            "| CPU us/req ours | ceiling | ceiling/ours CPU |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for scenario in chosen:
            for side in ["postgresql"] + (["postgresql@base"] if args.baseline else []):
                ours, top = results[(side, scenario)], results[("ceiling", scenario)]
                ratios = [a.rps / b.rps for a, b in zip(ours, top, strict=True)]
                cpu_ours, cpu_top = (
                    median((side, scenario), "cpu_us"),
                    median(("ceiling", scenario), "cpu_us"),
                )
                route = scenario if side == "postgresql" else f"{scenario} @base"
                print(
                    f"| {route} | {median((side, scenario), 'rps'):.0f} | "
                    f"{median(('ceiling', scenario), 'rps'):.0f} | {statistics.median(ratios):.2f} | "
                    f"{min(ratios):.2f}-{max(ratios):.2f} | "
                    f"{median((side, scenario), 'rps') / bare_rps:.3f} "
                    f"| {cpu_ours:.0f} | {cpu_top:.0f} | {cpu_top / cpu_ours:.2f} |"
                )
        print(
            "(CPU us/req: the gunicorn master's and workers' CPU time per request, which the machine's "
            "load moves far less than req/s; PostgreSQL's own time is not in it)"
        )
    if args.baseline:
        print(
            f"\nagainst the baseline ({args.baseline}): this tree's req/s over the baseline's, median of "
            "the rounds' ratios and their spread; CPU us per request; each relative to the bare app\n"
        )
        print(
            "| backend | route | ours/base req/s | per-round spread | CPU us/req ours / base "
            "| ours/bare | base/bare |"
        )
        print("|---|---|---|---|---|---|---|")
        for backend, _ in backends:
            for scenario in chosen:
                ours_rounds = results[(backend, scenario)]
                base_rounds = results[(backend + "@base", scenario)]
                ratios = [a.rps / b.rps for a, b in zip(ours_rounds, base_rounds, strict=True)]
                print(
                    f"| {backend} | {scenario} | {statistics.median(ratios):.2f} | "
                    f"{min(ratios):.2f}-{max(ratios):.2f} | {median((backend, scenario), 'cpu_us'):.0f} / "
                    f"{median((backend + '@base', scenario), 'cpu_us'):.0f} | "
                    f"{median((backend, scenario), 'rps') / bare_rps:.3f} | "
                    f"{median((backend + '@base', scenario), 'rps') / bare_rps:.3f} |"
                )
    print(f"\nmachine: {machine.summary()}")
    if args.observability:
        additions = []
        for _ in range(3):
            with tempfile.TemporaryDirectory(prefix="bench-obs-") as home:
                additions.append(cost_of_additions(Path(home)))
        metrics_us = statistics.median(a[0] for a in additions)
        log_us = statistics.median(a[1] for a in additions)
        print(
            f"\nthe additions alone (CPU, median of 3 x 20,000): metrics {metrics_us:.1f} us, "
            f"one JSON access line {log_us:.1f} us a request"
        )
        print("metrics + JSON access log on, relative to both off (req/s ratio; cost per request):")
        for backend, scenario in scenarios:
            if backend.endswith("+obs"):
                off, on = median((backend[:-4], scenario), "rps"), median((backend, scenario), "rps")
                cpu_off = median((backend[:-4], scenario), "cpu_us")
                cpu_on = median((backend, scenario), "cpu_us")
                print(
                    f"  {backend[:-4]:22} {scenario:6} req/s {on / off:6.3f}; server CPU per request "
                    f"{cpu_off:.0f} -> {cpu_on:.0f} us ({cpu_on / cpu_off - 1:+.1%}); rounds on "
                    f"{', '.join(f'{r.rps:.0f}/{r.cpu_us:.0f}' for r in results[(backend, scenario)])}, off "
                    f"{', '.join(f'{r.rps:.0f}/{r.cpu_us:.0f}' for r in results[(backend[:-4], scenario)])} "
                    "(req/s / CPU us)"
                )
    print("\nlist query plans (first page):")
    for backend, plan in plans.items():
        print(f"  {backend}: {plan}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
