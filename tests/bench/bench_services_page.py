"""The Services page with three hosts against one, and the queue history endpoint on a week of
samples: part of ``bin/bench frontend`` (``bin/bench frontend --only services`` runs this part alone).

- page: the production build served by the API (STATIC_DIR), admin signed in, a cold first visit of
  /admin/services in a fresh browser context. "one host": SUPERVISOR_SERVERS empty (this machine's
  supervisord only); "three hosts": SUPERVISOR_SERVERS = this machine's socket and two more
  supervisords on TCP ports. Measured: bytes over the wire (the page, its assets and the API calls
  until the network is idle) and the time from navigation to every host's programs in the DOM.
  The two APIs run side by side on one database and take turns; medians and the ratio.
- history: GET /api/v1/admin/queue/history?hours=168 on 7 days of 30-second samples of two queue
  tables (40,320 rows), against the anchors GET .../history?hours=1 and GET /api/v1/admin/queue
  (the live counts), interleaved; median answer time.

Each part prints the load average and the CPU steal (/proc/stat) over its run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.api_server import ApiServer
from tests.support.inet_supervisord import SLEEP, InetSupervisord

PROGRAMS_PER_HOST = 4
SAMPLE_SECONDS = 30

MINI_CONF = """\
[unix_http_server]
file = %(here)s/supervisor.sock
chmod = 0700
[supervisord]
logfile = %(here)s/supervisord.log
pidfile = %(here)s/supervisord.pid
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
"""

# Installed before any page script: when every host's programs are in the DOM (hosts: how many
# tables of programs the page must show).
WATCH_HOSTS = """
(() => {
  const want = HOSTS, rows = ROWS;
  const check = () => {
    if (window.__hostsShownAt !== undefined) return;
    const local = document.querySelectorAll('.services-table tbody tr').length >= rows;
    const others = [...document.querySelectorAll('.host-table')].filter(
      (t) => t.querySelectorAll('tbody tr').length >= rows).length;
    if (local && others >= want - 1) window.__hostsShownAt = performance.now();
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();
"""

TRANSFERRED = """
performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
  .reduce((sum, e) => sum + e.transferSize, 0)
"""


class CpuClock:
    """Load average now, and the CPU steal share between start and stop (from /proc/stat)."""

    def __init__(self) -> None:
        self.start = self._stat()

    @staticmethod
    def _stat() -> list[int]:
        with open("/proc/stat", encoding="ascii") as f:
            return [int(x) for x in f.readline().split()[1:]]

    def summary(self) -> str:
        end = self._stat()
        delta = [b - a for a, b in zip(self.start, end, strict=False)]
        steal = delta[7] if len(delta) > 7 else 0
        load = os.getloadavg()
        share = 100 * steal / max(1, sum(delta))
        return f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; CPU steal {share:.1f}%"


def _mini_supervisord(home: Path) -> tuple[Path, subprocess.Popen[bytes]]:
    home.mkdir(parents=True)
    programs = "".join(
        f"[program:local_{n}]\ncommand = {SLEEP}\nstartsecs = 0\n" for n in range(PROGRAMS_PER_HOST)
    )
    conf = home / "supervisord.conf"
    conf.write_text(MINI_CONF + programs)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "supervisord"), "-n", "-c", str(conf)],
        cwd=home,
        env={**os.environ, "INET_SUPERVISORD_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return home / "supervisor.sock", process


def _load(browser: Any, url: str, token: str, hosts: int) -> tuple[float, int]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        context.add_init_script(f"sessionStorage.setItem('svcstack.token', {json.dumps(token)});")
        context.add_init_script(
            WATCH_HOSTS.replace("HOSTS", str(hosts)).replace("ROWS", str(PROGRAMS_PER_HOST))
        )
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("window.__hostsShownAt !== undefined", timeout=30_000)
        page.wait_for_load_state("networkidle")
        return float(page.evaluate("window.__hostsShownAt")), int(page.evaluate(TRANSFERRED))
    finally:
        context.close()


def seed_week(database_url: str) -> int:
    from sqlalchemy import create_engine, insert

    from store.models import QueueSample

    now = int(time.time())
    rows = [
        {
            "at": now - s * SAMPLE_SECONDS,
            "queue": q,
            "pending": s % 50,
            "processing": 2,
            "done": 10**6 - s,
            "failed": s // 100,
        }
        for s in range(7 * 24 * 3600 // SAMPLE_SECONDS)
        for q in ("items", "links")
    ]
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            for start in range(0, len(rows), 10_000):
                conn.execute(insert(QueueSample), rows[start : start + 10_000])
    finally:
        engine.dispose()
    return len(rows)


def run(browser: Any, api: ApiServer, home: Path, dist: Path, admin_token: str, loads: int) -> str:
    """Both parts; the report's text."""
    out: list[str] = []
    socket, local = _mini_supervisord(home / "local-supervisord")
    try:
        with (
            InetSupervisord(home / "host-b", {f"b_{n}": SLEEP for n in range(PROGRAMS_PER_HOST)}) as b,
            InetSupervisord(home / "host-c", {f"c_{n}": SLEEP for n in range(PROGRAMS_PER_HOST)}) as c,
        ):
            common = {
                "DATABASE_URL": api.database_url,
                "STATIC_DIR": str(dist),
                "SUPERVISOR_SOCKET": str(socket),
                "SUPERVISOR_CONFIG": str(socket.parent / "supervisord.conf"),
                "RATE_LIMIT_DEFAULT": "1000000/minute",
                "JWT_SECRET": api.env["JWT_SECRET"],
            }
            three = ",".join([f"unix://{socket}", b.url, c.url])
            (home / "one").mkdir()
            (home / "three").mkdir()
            with (
                ApiServer(home / "one", database_url=api.database_url, env=common) as one_api,
                ApiServer(
                    home / "three", database_url=api.database_url, env={**common, "SUPERVISOR_SERVERS": three}
                ) as three_api,
            ):
                variants = {"one host": (one_api, 1), "three hosts": (three_api, 3)}
                for server, hosts in variants.values():  # warm up
                    _load(browser, f"{server.url}/admin/services", admin_token, hosts)
                clock = CpuClock()
                results: dict[str, tuple[list[float], list[int]]] = {name: ([], []) for name in variants}
                for _ in range(loads):
                    for name, (server, hosts) in variants.items():
                        ms, moved = _load(browser, f"{server.url}/admin/services", admin_token, hosts)
                        results[name][0].append(ms)
                        results[name][1].append(moved)
                out.append(
                    f"\nServices page, production build served by the API, cold first visit, median of"
                    f" {loads}"
                    f" ({PROGRAMS_PER_HOST} programs a host):"
                )
                out.append(
                    f"  {'variant':<14} {'KiB moved':>10} {'ms to every host shown':>23}"
                    f" {'min':>6} {'max':>6}"
                )
                medians = {}
                for name, (times, moved) in results.items():
                    medians[name] = (statistics.median(times), statistics.median(moved))
                    out.append(
                        f"  {name:<14} {medians[name][1] / 1024:10.1f} {medians[name][0]:23.0f}"
                        f" {min(times):6.0f} {max(times):6.0f}"
                    )
                ratio_ms = medians["three hosts"][0] / medians["one host"][0]
                ratio_kib = medians["three hosts"][1] / medians["one host"][1]
                verdict = "met" if ratio_ms <= 1.2 and ratio_kib <= 1.2 else "NOT met"
                out.append(
                    f"  three/one: time {ratio_ms:.2f}, transfer {ratio_kib:.2f} (aim within 1.20: {verdict})"
                )
                out.append(f"  {clock.summary()}")
    finally:
        local.terminate()
        local.wait(timeout=30)

    rows = seed_week(api.database_url)
    headers = {"Authorization": f"Bearer {admin_token}"}
    calls = {
        "history, 7 days (hours=168)": ("/api/v1/admin/queue/history", {"hours": 168}),
        "history, 1 hour (anchor)": ("/api/v1/admin/queue/history", {"hours": 1}),
        "live counts /queue (anchor)": ("/api/v1/admin/queue", {}),
    }
    timings: dict[str, list[float]] = {name: [] for name in calls}
    points: dict[str, int] = {}
    with httpx.Client(base_url=api.url, headers=headers, timeout=30) as http:
        for path, params in calls.values():
            http.get(path, params=params).raise_for_status()
        clock = CpuClock()
        for _ in range(max(20, loads * 3)):
            for name, (path, params) in calls.items():
                started = time.perf_counter()
                r = http.get(path, params=params)
                timings[name].append((time.perf_counter() - started) * 1000)
                r.raise_for_status()
                if "points" in r.json():
                    points[name] = len(r.json()["points"])
    out.append(
        f"\nqueue history endpoint, {rows:,} samples (7 days every {SAMPLE_SECONDS} s, 2 queues), SQLite,"
        f" median of {len(next(iter(timings.values())))}:"
    )
    out.append(f"  {'request':<30} {'median ms':>10} {'p90 ms':>8} {'points':>7} {'ratio':>6}")
    anchor = statistics.median(timings["history, 1 hour (anchor)"])
    for name, values in timings.items():
        p90 = sorted(values)[int(len(values) * 0.9) - 1]
        median = statistics.median(values)
        out.append(
            f"  {name:<30} {median:10.1f} {p90:8.1f} {points.get(name, '-')!s:>7} {median / anchor:6.2f}"
        )
    out.append(f"  {clock.summary()}")
    return "\n".join(out)
