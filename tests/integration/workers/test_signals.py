"""Signals through real worker processes: warm stop on the first SIGTERM, cold stop on the second."""

from __future__ import annotations

import signal
from pathlib import Path

from store.models import ItemStatus
from tests.integration.workers.support import ItemsDatabase, WorkerProcess
from tests.support.wait import wait_until


def test_sigterm_while_idle_exits_zero_at_once(items_db: ItemsDatabase, tmp_path: Path) -> None:
    # A 30 s idle interval: the worker exits only because SIGTERM ends its sleep.
    with WorkerProcess(tmp_path, items_db.url, env={"WORKER_IDLE_INTERVAL": "30"}) as worker:
        worker.wait_ready()
        worker.wait_state("idle")
        worker.signal(signal.SIGTERM)
        assert worker.wait_exit(timeout=5) == 0
        assert "warm stop on SIGTERM" in worker.log_text()


def test_sigint_is_a_warm_stop_too(items_db: ItemsDatabase, tmp_path: Path) -> None:
    with WorkerProcess(tmp_path, items_db.url) as worker:
        worker.wait_ready()
        worker.signal(signal.SIGINT)
        assert worker.wait_exit(timeout=5) == 0
        assert "Traceback" not in worker.log_text()


def test_sigterm_mid_batch_finishes_the_batch(items_db: ItemsDatabase, tmp_path: Path) -> None:
    ids = items_db.add_items(20)
    env = {"WORKER_SIMULATED_WORK": "0.2", "WORKER_BATCH_SIZE": "5"}
    with WorkerProcess(tmp_path, items_db.url, env=env) as worker:
        wait_until(
            lambda: items_db.counts().get(ItemStatus.PROCESSING, 0) > 0,
            timeout=30,
            message=lambda: f"a batch in progress; log:\n{worker.log_tail()}",
        )
        worker.signal(signal.SIGTERM)
        assert worker.wait_exit(timeout=20) == 0
    counts = items_db.counts()
    assert counts.get(ItemStatus.PROCESSING, 0) == 0, counts
    done = counts.get(ItemStatus.DONE, 0)
    assert 5 <= done < len(ids), counts  # the batch in flight completed; no new batch began
    assert counts.get(ItemStatus.PENDING, 0) == len(ids) - done


def test_second_sigterm_is_a_cold_stop(items_db: ItemsDatabase, tmp_path: Path) -> None:
    items_db.add_items(10)
    env = {"WORKER_SIMULATED_WORK": "2", "WORKER_BATCH_SIZE": "10"}
    with WorkerProcess(tmp_path, items_db.url, env=env) as worker:
        worker.wait_state("running")
        wait_until(lambda: items_db.counts().get(ItemStatus.PROCESSING, 0) > 0, timeout=30)
        worker.signal(signal.SIGTERM)
        worker.wait_state("draining")
        assert worker.get("/readyz").status_code == 503  # draining: take no new traffic
        assert worker.get("/livez").status_code == 200
        worker.signal(signal.SIGTERM)
        code = worker.wait_exit(timeout=5)
    assert code == 128 + signal.SIGTERM
    assert "cold stop" in worker.log_text()
    # The claimed items stay leased and come back to other workers when the lease expires: none is
    # given back or failed. (On a slow machine an item may finish between the two signals: done.)
    counts = items_db.counts()
    assert counts.get(ItemStatus.PROCESSING, 0) >= 1, counts
    assert counts.get(ItemStatus.PROCESSING, 0) + counts.get(ItemStatus.DONE, 0) == 10, counts
