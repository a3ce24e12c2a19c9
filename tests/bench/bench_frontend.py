"""bin/bench frontend: the production bundle's size, and the time from navigation to the items table
showing 50 items, in chromium against `vite preview`, side by side with two anchors in one run.

    bin/bench frontend [--loads 10] [--screenshot docs/items-page.png]

- ours:     the app's production build (`npm run build`) served by `vite preview`, proxying to a real
            API (gunicorn, SQLite, 120 items);
- baseline: a hand-written HTML page (no framework, no bundle) that fetches the same 50 items with
            the same token and renders the same table, served by the same `vite preview`: the floor;
- dev:      the same app from the Vite dev server (unbundled modules), what `npm run dev` serves.

Every load is a fresh browser context (cold cache, a first visit) with the session token already in
sessionStorage; the clock is the page's own (navigation start to the 50th row in the DOM, seen by a
MutationObserver). The three pages take turns, ``--loads`` times each; medians and ratios to ours.

Then the production build as the API serves it (``STATIC_DIR``, one port, no Vite), cold loads of the
items page: bytes over the wire (the browser's transferSize of the page, its assets and the API calls)
and time to 50 rows, for
- ours:   servestatic sending the build's precompressed .gz/.br, hashed assets cached immutable;
- before: the same build with no precompressed files, as the API sent it before issue 19 (raw).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests.bench import bench_services_page
from tests.e2e.conftest import API_TEST_ENV, CHROMIUM_ARGS, PASSWORD, create_user
from tests.e2e.servers import FRONTEND, ViteServer, ensure_node_modules
from tests.support.api_server import ApiServer

ROWS = 50
TARGET_KIB = 70  # cold-load transfer of the items page, production build served by the API
EMAIL = "bench@example.com"
ADMIN_EMAIL = "bench-admin@example.com"

# Installed before any page script: records when the table first holds ROWS rows.
WATCH_ROWS = """
(() => {
  const check = () => {
    if (window.__tableShownAt === undefined && document.querySelectorAll('tbody tr').length >= ROWS) {
      window.__tableShownAt = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();
""".replace("ROWS", str(ROWS))

BASELINE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>baseline</title>
<link rel="icon" href="data:,"></head>
<body><h1>Items</h1><table><thead><tr><th>ID</th><th>Title</th><th>Status</th><th>Attempts</th>
<th>Updated</th></tr></thead><tbody></tbody></table>
<script>
const token = sessionStorage.getItem('svcstack.token');
fetch('/api/v1/items?page=1&limit=ROWS', {headers: {Authorization: 'Bearer ' + token}})
  .then(r => r.json())
  .then(page => {
    const body = document.querySelector('tbody');
    for (const item of page.items) {
      const tr = document.createElement('tr');
      for (const v of [item.id, item.title, item.status, item.attempts, item.updated_at]) {
        const td = document.createElement('td'); td.textContent = String(v); tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  });
</script></body></html>
""".replace("ROWS", str(ROWS))

TITLES = [
    "Quarterly report",
    "Invoice batch 2026-11",
    "Resize product photos",
    "Nightly export",
    "Welcome email for new signups",
    "Translate help pages",
    "Reindex search",
    "Customer survey results",
]


def seed_items(api: ApiServer, user_id: int, count: int) -> None:
    """Realistic, mixed items; the newest few still in flight (the screenshot shows every badge)."""
    from store.db import Database
    from store.models import Item

    statuses = ["processing", "pending", "failed", "done", "processing"]
    db = Database(api.database_url)
    try:
        with db.session() as session:
            for n in range(1, count + 1):
                newest = count - n
                status = statuses[newest] if newest < len(statuses) else "done"
                session.add(
                    Item(
                        user_id=user_id,
                        title=f"{TITLES[n % len(TITLES)]} #{n}",
                        description="",
                        metadata_={},
                        status=status,
                        attempts=5 if status == "failed" else (0 if status == "pending" else 1),
                        error="PoisonItemError: item asked to fail" if status == "failed" else None,
                    )
                )
    finally:
        db.engine.dispose()


def build_bundle() -> dict[str, tuple[int, int]]:
    """`npm run build`; (raw bytes, gzip bytes) per kind of asset in dist/."""
    result = subprocess.run(
        ["npm", "run", "build"], cwd=FRONTEND, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise SystemExit(f"npm run build failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    sizes: dict[str, tuple[int, int]] = {}
    for path in sorted((FRONTEND / "dist").rglob("*")):
        if path.suffix not in (".js", ".css", ".html"):
            continue
        data = path.read_bytes()
        raw, packed = sizes.get(path.suffix, (0, 0))
        sizes[path.suffix] = (raw + len(data), packed + len(gzip.compress(data, compresslevel=9)))
    return sizes


def time_to_table(browser: Any, url: str, token: str) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.add_init_script(f"sessionStorage.setItem('svcstack.token', {json.dumps(token)});")
        context.add_init_script(WATCH_ROWS)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("window.__tableShownAt !== undefined", timeout=30_000)
        return float(page.evaluate("window.__tableShownAt"))
    finally:
        context.close()


# Bytes over the wire for the document and everything it loaded (0 for what came from a cache).
TRANSFERRED = """
performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
  .reduce((sum, e) => sum + e.transferSize, 0)
"""


def cold_load(browser: Any, url: str, token: str) -> tuple[float, int]:
    """(ms to ROWS rows, bytes transferred) for one first visit in a fresh browser context."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.add_init_script(f"sessionStorage.setItem('svcstack.token', {json.dumps(token)});")
        context.add_init_script(WATCH_ROWS)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("window.__tableShownAt !== undefined", timeout=30_000)
        page.wait_for_load_state("networkidle")
        return float(page.evaluate("window.__tableShownAt")), int(page.evaluate(TRANSFERRED))
    finally:
        context.close()


SERVICES_OWN = """
(start) => performance.getEntriesByType('resource').slice(start)
  .filter((e) => e.initiatorType !== 'fetch' && e.initiatorType !== 'xmlhttprequest')
  .reduce((sum, e) => sum + e.transferSize, 0)
"""


def services_page_transfer(browser: Any, base: str, admin_token: str) -> int:
    """Bytes the Services page adds to a session that starts on the items page: its lazily loaded
    code and styles (the chart library included), not the API calls it makes."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.add_init_script(f"sessionStorage.setItem('svcstack.token', {json.dumps(admin_token)});")
        page = context.new_page()
        page.goto(f"{base}/items?limit={ROWS}")
        page.locator("tbody tr").nth(ROWS - 1).wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        start = int(page.evaluate("performance.getEntriesByType('resource').length"))
        page.get_by_role("link", name="Services").click()
        # No supervisord here (503 for the list): the page's code and styles load all the same.
        page.get_by_role("heading", name="Services").wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        return int(page.evaluate(SERVICES_OWN, start))
    finally:
        context.close()


def uncompressed_copy(dist: Path, to: Path) -> Path:
    """The build without its .gz/.br: what the API served before issue 19."""
    shutil.copytree(dist, to, ignore=shutil.ignore_patterns("*.gz", "*.br"))
    return to


def screenshot(browser: Any, url: str, token: str, path: Path) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 760}, device_scale_factor=1)
    try:
        context.add_init_script(f"sessionStorage.setItem('svcstack.token', {json.dumps(token)});")
        page = context.new_page()
        page.goto(url)
        page.locator("tbody tr").nth(9).wait_for()
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
    finally:
        context.close()


def served_by_api(
    browser: Any, api: ApiServer, home: Path, token: str, loads: int, admin_token: str
) -> tuple[dict[str, tuple[list[float], list[int]]], list[int]]:
    """Cold loads of the items page from two more APIs on the same database, taking turns."""
    dist = home / "dist"
    shutil.copytree(FRONTEND / "dist", dist, ignore=shutil.ignore_patterns("bench-baseline.html"))
    raw = uncompressed_copy(dist, home / "dist-raw")
    env = {**API_TEST_ENV, "DATABASE_URL": api.database_url}
    (home / "ours").mkdir()
    (home / "before").mkdir()
    with (
        ApiServer(home / "ours", database_url=api.database_url, env={**env, "STATIC_DIR": str(dist)}) as ours,
        ApiServer(
            home / "before", database_url=api.database_url, env={**env, "STATIC_DIR": str(raw)}
        ) as before,
    ):
        variants = {
            "ours (precompressed, cached)": f"{ours.url}/items?limit={ROWS}",
            "before issue 19 (raw files)": f"{before.url}/items?limit={ROWS}",
        }
        for url in variants.values():  # warm up
            cold_load(browser, url, token)
        results: dict[str, tuple[list[float], list[int]]] = {name: ([], []) for name in variants}
        for _ in range(loads):
            for name, url in variants.items():
                ms, moved = cold_load(browser, url, token)
                results[name][0].append(ms)
                results[name][1].append(moved)
        services = [services_page_transfer(browser, ours.url, admin_token) for _ in range(3)]
    return results, services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench frontend", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=10, help="page loads per variant (default 10)")
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        metavar="PNG",
        help="also save a screenshot of the items page (docs/frontend.md shows it: docs/items-page.png)",
    )
    parser.add_argument(
        "--only",
        choices=["services"],
        default=None,
        help="services: only the Services page with three hosts against one, and the history endpoint",
    )
    args = parser.parse_args(argv)
    if args.only == "services":
        return services_only(args.loads)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print("chromium is not installed: apt-get install -y chromium", file=sys.stderr)
        return 2
    ensure_node_modules()
    sizes = build_bundle()
    (FRONTEND / "dist" / "bench-baseline.html").write_text(BASELINE_HTML)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-frontend-") as tmp:
        home = Path(tmp)
        with ApiServer(home, env=API_TEST_ENV) as api:
            seed_items(api, create_user(api, EMAIL), 120)
            token = httpx.post(
                api.url + "/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}
            ).json()["access_token"]
            create_user(api, ADMIN_EMAIL, is_admin=True)
            admin_token = httpx.post(
                api.url + "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
            ).json()["access_token"]
            with (
                ViteServer(api_url=api.url, log_dir=home, mode="preview") as preview,
                ViteServer(api_url=api.url, log_dir=home, mode="dev") as dev,
                sync_playwright() as playwright,
            ):
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                variants = {
                    "ours (vite preview, production build)": f"{preview.url}/items?limit={ROWS}",
                    "baseline (hand-written HTML + fetch)": f"{preview.url}/bench-baseline.html",
                    "dev server (npm run dev)": f"{dev.url}/items?limit={ROWS}",
                }
                for url in variants.values():  # warm the servers (Vite's dev transform, SQLite pages)
                    time_to_table(browser, url, token)
                times: dict[str, list[float]] = {name: [] for name in variants}
                for _ in range(args.loads):
                    for name, url in variants.items():
                        times[name].append(time_to_table(browser, url, token))
                # The development shape as bin/run starts it (Vite's dev server): bytes moved too.
                dev_shape = [
                    cold_load(browser, f"{dev.url}/items?limit={ROWS}", token) for _ in range(args.loads)
                ]
                if args.screenshot:
                    screenshot(browser, f"{preview.url}/items?limit=25", token, args.screenshot)
                served, services = served_by_api(browser, api, home, token, args.loads, admin_token)
                hosts_report = bench_services_page.run(
                    browser, api, home, home / "dist", admin_token, args.loads
                )
                browser.close()
    (FRONTEND / "dist" / "bench-baseline.html").unlink(missing_ok=True)

    print("\nfrontend bundle (npm run build), gzip -9:")
    for suffix, (raw, packed) in sizes.items():
        print(f"  {suffix:<6} {raw / 1024:8.1f} KiB raw  {packed / 1024:7.1f} KiB gzip")
    total = sum(p for _, p in sizes.values())
    print(f"  total  {sum(r for r, _ in sizes.values()) / 1024:8.1f} KiB raw  {total / 1024:7.1f} KiB gzip")
    ours = statistics.median(next(iter(times.values())))
    print(
        f"\nnavigation -> items table with {ROWS} rows, chromium headless, median of {args.loads} cold loads:"
    )
    print(f"  {'page':<42} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'ratio to ours':>14}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<42} {median:10.0f} {min(values):8.0f} {max(values):8.0f} {median / ours:14.2f}")
    print(
        f"\nproduction build served by the API (STATIC_DIR), items page, median of {args.loads} cold loads:"
    )
    print(f"  {'serving':<42} {'KiB moved':>10} {'ms to 50 rows':>14} {'min ms':>8} {'max ms':>8}")
    for name, (loads, moved) in served.items():
        print(
            f"  {name:<42} {statistics.median(moved) / 1024:10.1f} {statistics.median(loads):14.0f}"
            f" {min(loads):8.0f} {max(loads):8.0f}"
        )
    ours_loads, ours_bytes = next(iter(served.values()))
    print("\nthe two shapes bin/run starts, items page, cold load (median):")
    print(f"  {'shape':<42} {'KiB moved':>10} {'ms to 50 rows':>14}")
    print(
        f"  {'production (APP_ENV=production: the API)':<42} {statistics.median(ours_bytes) / 1024:10.1f}"
        f" {statistics.median(ours_loads):14.0f}"
    )
    print(
        f"  {'development (Vite dev server)':<42} {statistics.median(b for _, b in dev_shape) / 1024:10.1f}"
        f" {statistics.median(ms for ms, _ in dev_shape):14.0f}"
    )
    ours_moved = statistics.median(ours_bytes) / 1024
    verdict = "met" if ours_moved <= TARGET_KIB else "NOT met"
    print(f"  target: ours <= {TARGET_KIB} KiB moved: {verdict}; issue 19 measured 213 KiB and 255 ms before")
    print(
        f"\nServices page (admins, loaded lazily): its own code and styles, median of {len(services)}: "
        f"{statistics.median(services) / 1024:.1f} KiB moved (not part of the items page's load)"
    )
    print(hosts_report)
    if args.screenshot:
        print(f"\nscreenshot: {args.screenshot}")
    return 0


def services_only(loads: int) -> int:
    """``--only services``: the build, one API with an admin, and tests/bench/bench_services_page.py."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print("chromium is not installed: apt-get install -y chromium", file=sys.stderr)
        return 2
    ensure_node_modules()
    build_bundle()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-services-") as tmp:
        home = Path(tmp)
        dist = home / "dist"
        shutil.copytree(FRONTEND / "dist", dist)
        with ApiServer(home, env=API_TEST_ENV) as api, sync_playwright() as playwright:
            create_user(api, ADMIN_EMAIL, is_admin=True)
            admin_token = httpx.post(
                api.url + "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
            ).json()["access_token"]
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                print(bench_services_page.run(browser, api, home, dist, admin_token, loads))
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
