"""Workers on several hosts (network namespaces, tests/support/host_lab.py) sharing one PostgreSQL.

Used by ``bin/bench scale --hosts 1,2,3`` (root only):

1. Items per second with the workers of 1, 2 and 3 hosts (two worker processes each) on one
   queue, median of ``repeat`` runs: one lab, the workers of the hosts not in a step stopped
   through their supervisord.
2. Seconds from a host's cut (link down) to the last of the items it held finished elsewhere,
   median of ``repeat`` cuts, beside the aim: the lease plus one requeue interval.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from ops.rpc import SupervisorClient
from tests.integration.workers.support import ItemsDatabase
from tests.support.host_lab import SUPERVISOR_PORT, USERNAME, HostLab
from tests.support.wait import wait_until

LEASE = 4.0
REQUEUE_INTERVAL = min(5.0, max(0.5, LEASE / 4))  # workers.item_worker: how often a worker requeues
ENV = {
    "WORKER_LEASE_SECONDS": str(LEASE),
    "WORKER_BATCH_SIZE": "10",
    "WORKER_IDLE_INTERVAL": "2",
    "WORKER_SIMULATED_WORK": "0.002",  # a batch lasts a few ms: long enough to be cut mid-batch
    "LOG_LEVEL": "WARNING",
}


def _client(lab: HostLab, index: int) -> SupervisorClient:
    h = lab.host(index)
    return SupervisorClient.over_http(h.address, SUPERVISOR_PORT, username=USERNAME, password=lab.password)


def _workers(lab: HostLab, index: int, *, running: bool) -> set[str]:
    """Start or stop host ``index``'s workers; their pids (when running)."""
    client = _client(lab, index)
    client.call("supervisor.startProcessGroup" if running else "supervisor.stopProcessGroup", "worker", True)
    _, infos = client.snapshot()
    return {str(i["pid"]) for i in infos if i["group"] == "worker" and i["statename"] == "RUNNING"}


def _pid(label: str | None) -> str:
    parts = (label or "").split(":")
    return parts[1] if len(parts) >= 3 else ""


def measure(
    root: Path, admin_url: str, hosts: list[int], items: int, repeat: int
) -> tuple[dict[int, float], list[float]]:
    """(items/s by number of hosts, seconds from each cut to its items finished elsewhere)."""
    lab = HostLab.create(root, hosts=max(hosts), admin_url=admin_url, worker_env=ENV)
    try:
        lab.up()
        wait_until(lambda: _healthy(lab), timeout=120, interval=1, message="every host healthy")
        db = ItemsDatabase.create(lab.local_database_url)
        engine = create_engine(lab.local_database_url)
        try:
            rates: dict[int, float] = {}
            for count in hosts:
                for index in range(1, max(hosts) + 1):
                    _workers(lab, index, running=index <= count)
                runs = []
                for _ in range(repeat):
                    done_before = db.counts().get("done", 0)
                    db.add_items(items)
                    started = time.perf_counter()
                    wait_until(
                        lambda d=done_before: db.counts().get("done", 0) == d + items,
                        timeout=900,
                        interval=0.05,
                    )
                    runs.append(items / (time.perf_counter() - started))
                rates[count] = statistics.median(runs)
                print(f"  hosts={count}: {', '.join(f'{r:.0f}' for r in runs)} items/s", flush=True)
            cuts = [_one_cut(lab, db, engine) for _ in range(repeat)]
            print(f"  cut to finished elsewhere: {', '.join(f'{c:.1f}' for c in cuts)} s", flush=True)
            return rates, cuts
        finally:
            engine.dispose()
            db.close()
    finally:
        problems = lab.down()
        if problems:
            print(f"  lab left behind: {problems}")


def _healthy(lab: HostLab) -> bool:
    from config.config import load
    from ops.status import collect_status

    settings = load(lab.tool_env(), environ={})
    try:
        return all(collect_status(_client(lab, h.index), settings).healthy for h in lab.hosts)
    except Exception:  # noqa: BLE001 - not up yet
        return False


def _one_cut(lab: HostLab, db: ItemsDatabase, engine: object) -> float:
    """Cut the last host once it holds a claim; seconds until those items are done elsewhere."""
    last = len(lab.hosts)
    pids = _workers(lab, last, running=True)
    for index in range(1, last):
        _workers(lab, index, running=True)
    db.add_items(2000)

    def held() -> list[int]:
        with engine.connect() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(text("SELECT id, claimed_by FROM items WHERE status = 'processing'")).all()
        return [r.id for r in rows if _pid(r.claimed_by) in pids]

    for _ in range(20):  # its batch may be finished between our look and the cut: again then
        wait_until(held, timeout=60, interval=0.005, message="the last host to claim")
        lab.cut(last)
        cut_at = time.perf_counter()
        ids = held()  # nothing of the cut host reaches the database from here on
        if ids:
            break
        lab.heal(last)
    else:
        raise RuntimeError("the last host never held items at its cut")

    def finished() -> bool:
        with engine.connect() as conn:  # type: ignore[attr-defined]
            return bool(
                conn.execute(
                    text("SELECT count(*) = 0 FROM items WHERE id = ANY(:ids) AND status <> 'done'"),
                    {"ids": ids},
                ).scalar_one()
            )

    wait_until(finished, timeout=120, interval=0.05, message="the cut host's items done elsewhere")
    took = time.perf_counter() - cut_at
    wait_until(lambda: db.counts().get("pending", 0) + db.counts().get("processing", 0) == 0, timeout=300)
    lab.heal(last)
    wait_until(lambda: _healthy(lab), timeout=120, interval=1, message="the cut host back")
    return took
