"""An honest warm stop: after WORKER_STOP_TIMEOUT the items of the batch not yet started are given
back untouched (pending, attempt not counted); the item in progress finishes; exit 0."""

from __future__ import annotations

import signal
from pathlib import Path

from config.config import load
from store.models import ItemStatus
from tests.integration.workers.support import ItemsDatabase, WorkerProcess
from tests.support.wait import wait_until
from workers.example_worker import ExampleWorker
from workers.item_worker import ClaimedItem, ItemResult


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sigterm_gives_back_what_a_long_batch_has_not_started(
    items_db: ItemsDatabase, tmp_path: Path
) -> None:
    # The case: 10 items of 2 s each, a 3 s lease renewed under way. Before, the whole
    # batch ran to the end (20 s), past any stopwaitsecs shorter than that.
    items_db.add_items(10)
    env = {
        "WORKER_SIMULATED_WORK": "2",
        "WORKER_BATCH_SIZE": "10",
        "WORKER_LEASE_SECONDS": "3",
        "WORKER_STOP_TIMEOUT": "0",
    }
    with WorkerProcess(tmp_path, items_db.url, env=env) as worker:
        assert worker.process is not None
        pid = worker.process.pid
        wait_until(lambda: items_db.held_by(pid) == 10, timeout=30, message=lambda: worker.log_tail())
        worker.signal(signal.SIGTERM)
        assert worker.wait_exit(timeout=15) == 0
    items = items_db.items()
    done = [item for item in items if item.status == ItemStatus.DONE]
    given_back = [item for item in items if item.status == ItemStatus.PENDING]
    assert len(done) + len(given_back) == 10  # nothing left processing, nothing failed
    assert len(done) <= 2  # the item in progress (and at most one finished before the signal)
    assert all(item.attempts == 0 and item.error is None and item.claim_token is None for item in given_back)
    assert f"gave back {len(given_back)} item(s) after WORKER_STOP_TIMEOUT (0s)" in worker.log_text()


def test_the_batch_goes_on_until_the_stop_timeout_then_gives_back_the_rest(items_db: ItemsDatabase) -> None:
    items_db.add_items(6)
    clock = FakeClock()
    settings = load({"DATABASE_URL": items_db.url, "WORKER_STOP_TIMEOUT": "5"}, environ={})
    worker = ExampleWorker(
        settings=settings, batch_size=6, lease_seconds=60, clock=clock, health_port=None, handle_signals=False
    )
    seen: list[int] = []

    def process_item(item: ClaimedItem) -> ItemResult:
        if not seen:
            worker.stop()  # a warm stop while the first item is in progress
        seen.append(item.id)
        clock.now += 2  # each item takes 2 s: items 1..3 start within the 5 s, then it is overdue
        return ItemResult(metadata={"seen": True})

    worker.process_item = process_item  # type: ignore[method-assign]
    try:
        assert worker.run() == 0
    finally:
        worker.stop()
    assert len(seen) == 3
    states = [(item.status, item.attempts) for item in items_db.items()]
    assert states == [(ItemStatus.DONE, 1)] * 3 + [(ItemStatus.PENDING, 0)] * 3
