"""Three hosts in network namespaces sharing one PostgreSQL queue (tests/support/host_lab.py).

Host 1 runs the API and two workers, hosts 2 and 3 two workers each, every one under its own
supervisord reached over its private address. The tools run here, outside the namespaces, as an
operator's machine would. A host cut mid-batch loses nothing and writes nothing twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.integration.workers.support import ItemsDatabase
from tests.support.databases import postgres_server_url
from tests.support.host_lab import USERNAME, HostLab, can_run
from tests.support.stack import REPO
from tests.support.wait import wait_until

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

MONITOR = str(REPO / "bin" / "monitor.py")
LEASE = 6.0
WORKERS = {
    "WORKER_LEASE_SECONDS": str(LEASE),
    "WORKER_SIMULATED_WORK": "0.2",
    "WORKER_BATCH_SIZE": "5",
    "WORKER_IDLE_INTERVAL": "2",
}
# Counts every write that makes an item done: a completion written twice shows as a 2.
AUDIT = [
    "CREATE TABLE completions (item_id bigint NOT NULL, worker text)",
    "CREATE FUNCTION count_completion() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO completions (item_id, worker) VALUES (NEW.id, NEW.metadata->'result'->>'worker'); "
    "RETURN NULL; END $$",
    "CREATE TRIGGER count_completion AFTER UPDATE OF status ON items FOR EACH ROW "
    "WHEN (NEW.status = 'done') EXECUTE FUNCTION count_completion()",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostLab]:
    why = can_run()
    server = postgres_server_url()
    if why or not server:
        pytest.skip(why or "TEST_DATABASE_URL is not set")
    made = HostLab.create(tmp_path_factory.mktemp("hosts"), hosts=3, admin_url=server, worker_env=WORKERS)
    try:
        made.up()
        wait_until(
            lambda: monitor(made).returncode == 0, timeout=120, interval=1, message="every host healthy"
        )
        yield made
    finally:
        problems = made.down()
        assert not problems, problems
        assert not Path(f"/run/netns/{made.host(1).netns}").exists()


@pytest.fixture(scope="module")
def items(lab: HostLab) -> Iterator[ItemsDatabase]:
    """The lab's database with a user to own items (the API migrated it at its start)."""
    made = ItemsDatabase.create(lab.local_database_url)
    yield made
    made.close()


def monitor(lab: HostLab, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, MONITOR, *args],
        env={**lab.tool_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def hosts_json(lab: HostLab, *servers: str) -> tuple[int, dict[str, Any]]:
    done = monitor(lab, "--json", *(a for s in servers for a in ("--server", s)))
    return done.returncode, json.loads(done.stdout)


def worker_pids(lab: HostLab, index: int) -> set[str]:
    _, body = hosts_json(lab, lab.host(index).supervisor_url)
    return {str(p["pid"]) for p in body["hosts"][0]["processes"] if p["group"] == "worker"}


def pid_of(label: str | None) -> str:
    return (label or "").split(":")[1] if label and label.count(":") >= 2 else ""


def test_every_host_is_listed_with_its_programs(lab: HostLab) -> None:
    code, body = hosts_json(lab)
    assert code == 0, body
    assert [h["host"] for h in body["hosts"]] == [h.label for h in lab.hosts]
    names = [sorted(p["name"] for p in h["processes"]) for h in body["hosts"]]
    assert names == [["api", "worker_0", "worker_1"], ["worker_0", "worker_1"], ["worker_0", "worker_1"]]
    urls = [p["health_url"] for h in body["hosts"] for p in h["processes"]]
    assert all(any(url.startswith(f"http://{h.address}:") for h in lab.hosts) for url in urls), urls
    ctl = subprocess.run(
        [sys.executable, "-m", "cli.ctl", "status"],
        cwd=REPO,
        env=lab.tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ctl.returncode == 0, ctl.stdout + ctl.stderr
    assert all(f"== host {h.label} ==" in ctl.stdout for h in lab.hosts), ctl.stdout


def test_restart_acts_on_the_host_named(lab: HostLab) -> None:
    before = {i: worker_pids(lab, i) for i in (1, 2, 3)}
    done = monitor(lab, "--server", lab.host(2).supervisor_url, "--restart", "worker", "--timeout", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    after = {i: worker_pids(lab, i) for i in (1, 2, 3)}
    assert after[1] == before[1] and after[3] == before[3]
    assert not after[2] & before[2] and len(after[2]) == 2


def test_a_host_cut_mid_batch_loses_nothing_and_rejoins(lab: HostLab, items: ItemsDatabase) -> None:
    engine = create_engine(lab.local_database_url)
    try:
        with engine.begin() as conn:
            for statement in AUDIT:
                conn.execute(text(statement))
        cut_pids = worker_pids(lab, 3)
        ids = items.add_items(120)

        def held_by_host_3() -> list[int]:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT id, claimed_by FROM items WHERE status = 'processing'")
                ).all()
            return [r.id for r in rows if pid_of(r.claimed_by) in cut_pids]

        wait_until(held_by_host_3, timeout=60, interval=0.02, message="host 3 to claim a batch")
        lab.cut(3)
        cut_at = time.monotonic()
        held = held_by_host_3()  # nothing of host 3 reaches the database from here on
        assert held

        # While it is cut: the others are listed, host 3 shown unreachable within the timeout.
        down = monitor(lab)
        assert down.returncode == 2, down.stdout + down.stderr
        assert f"host {lab.host(3).label}: supervisord did not answer" in down.stderr
        assert f"== host {lab.host(2).label} ==" in down.stdout and "RUNNING" in down.stdout

        def all_done() -> bool:
            counts = items.counts()
            return counts.get("done", 0) == len(ids)

        wait_until(all_done, timeout=120, interval=0.2, message=lambda: f"every item done: {items.counts()}")
        print(f"\nhost 3 held {len(held)} items at its cut; all done {time.monotonic() - cut_at:.1f}s later")
        with engine.connect() as conn:
            twice = conn.execute(
                text("SELECT item_id, count(*) FROM completions GROUP BY item_id HAVING count(*) > 1")
            ).all()
            completed = conn.execute(text("SELECT count(DISTINCT item_id) FROM completions")).scalar_one()
            finishers = dict(
                conn.execute(
                    text("SELECT id, metadata->'result'->>'worker' FROM items WHERE id = ANY(:ids)"),
                    {"ids": held},
                ).all()
            )
        assert twice == [] and completed == len(ids)
        assert items.counts().get("failed", 0) == 0
        assert not {pid_of(w) for w in finishers.values()} & cut_pids, finishers  # finished elsewhere

        # The link back: host 3 is listed healthy again and takes its share of new work.
        lab.heal(3)
        wait_until(lambda: monitor(lab).returncode == 0, timeout=90, interval=1, message="host 3 back")
        more = items.add_items(60)

        def host_3_worked() -> bool:
            with engine.connect() as conn:
                workers = conn.execute(
                    text(
                        "SELECT metadata->'result'->>'worker' FROM items "
                        "WHERE id = ANY(:ids) AND status = 'done'"
                    ),
                    {"ids": more},
                ).scalars()
                return any(pid_of(w) in cut_pids for w in workers)

        wait_until(host_3_worked, timeout=60, interval=0.3, message="host 3 to finish items again")
        wait_until(lambda: items.counts().get("done", 0) == len(ids) + len(more), timeout=60, interval=0.3)
        with engine.connect() as conn:
            assert (
                conn.execute(
                    text(
                        "SELECT count(*) FROM (SELECT item_id FROM completions "
                        "GROUP BY item_id HAVING count(*) > 1) AS t"
                    )
                ).scalar_one()
                == 0
            )
    finally:
        lab.heal(3)
        engine.dispose()


def test_a_wrong_password_for_one_host_is_one_line_naming_it(lab: HostLab) -> None:
    h2 = lab.host(2)
    wrong = f"http://{USERNAME}:not-it@{h2.address}:9001"
    done = monitor(
        lab, "--server", lab.host(1).supervisor_url, "--server", wrong, "--server", lab.host(3).supervisor_url
    )
    assert done.returncode == 3, done.stdout + done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and h2.label in errors[0] and "password" in errors[0], errors
    assert "not-it" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert f"== host {lab.host(3).label} ==" in done.stdout


def test_the_same_host_listed_twice_is_refused(lab: HostLab) -> None:
    h1 = lab.host(1)
    done = monitor(lab, "--server", h1.supervisor_url, "--server", f"http://{h1.address}:9001/")
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        done.stderr.strip() == f"monitor.py: host {h1.label} is listed twice (--server / SUPERVISOR_SERVERS)"
    )


def test_a_host_that_accepts_and_never_answers_times_out_the_others_listed(lab: HostLab) -> None:
    pid = int((Path(lab.host(2).home) / "var" / "run" / "supervisord.pid").read_text())
    os.kill(pid, signal.SIGSTOP)  # the kernel still accepts its connections; nobody answers
    try:
        started = time.monotonic()
        done = monitor(lab)
        took = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"host {lab.host(2).label}: supervisord did not answer within 10s" in done.stderr
    assert (
        f"== host {lab.host(1).label} ==" in done.stdout and f"== host {lab.host(3).label} ==" in done.stdout
    )
    assert took < 60, took  # one timeout for the host, not a hang


def test_the_database_forwarder_cut_instead_of_a_host(lab: HostLab, items: ItemsDatabase) -> None:
    try:
        lab.cut_database()
        # Every host still answers; its workers say the database is away (not ready).
        wait_until(lambda: monitor(lab).returncode == 1, timeout=60, interval=1, message="workers not ready")
        code, body = hosts_json(lab)
        assert code == 1 and all(h.get("supervisord") == "RUNNING" for h in body["hosts"]), body
        ids = items.add_items(20)  # written here, straight to the server
        lab.heal_database()
        wait_until(lambda: monitor(lab).returncode == 0, timeout=90, interval=1, message="every host healthy")
        wait_until(
            lambda: all(i.status == "done" for i in items.items() if i.id in ids),
            timeout=60,
            interval=0.3,
            message="the items added during the cut to be done",
        )
    finally:
        lab.heal_database()
