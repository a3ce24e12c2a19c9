"""Chaos: three workers on 2,000 items, one of them SIGKILLed again and again and restarted.

At the end every item is done, its result written exactly once (by the claim that finished it),
attempts within the limit, nothing lost and nothing left processing.
"""

from __future__ import annotations

import signal
from pathlib import Path

from store.models import ItemStatus
from tests.integration.workers.support import ItemsDatabase, WorkerProcess, completions
from tests.support.wait import wait_until

ITEMS = 2000
KILLS = 4


def test_sigkill_loses_nothing_and_does_nothing_twice(items_db: ItemsDatabase, tmp_path: Path) -> None:
    items_db.add_items(ITEMS)
    env = {
        "WORKER_SIMULATED_WORK": "0.01",
        "WORKER_BATCH_SIZE": "10",
        "WORKER_LEASE_SECONDS": "1.5",
        "WORKER_MAX_RETRIES": str(KILLS + 2),
        "WORKER_IDLE_INTERVAL": "0.5",
    }
    args = ["--log-level", "DEBUG"]
    steady = [WorkerProcess(tmp_path, items_db.url, worker_id=n, env=env, args=args) for n in (0, 1)]
    victims: list[WorkerProcess] = []
    kills = 0
    try:
        for worker in steady:
            worker.start()
        for _ in range(KILLS):
            victim = WorkerProcess(tmp_path, items_db.url, worker_id=2, env=env, args=args).start()
            victims.append(victim)
            assert victim.process is not None
            pid = victim.process.pid
            # Kill it while it holds claimed items.
            held = wait_until(
                lambda: items_db.held_by(pid) or not items_db.counts().get(ItemStatus.PENDING),  # noqa: B023
                timeout=30,
                message=lambda: f"victim holding items; log:\n{victim.log_tail()}",  # noqa: B023
            )
            victim.signal(signal.SIGKILL)
            victim.wait_exit(timeout=10)
            if held is True:
                break  # nothing pending any more
            kills += 1
        victims.append(WorkerProcess(tmp_path, items_db.url, worker_id=2, env=env, args=args).start())
        wait_until(
            lambda: items_db.counts() == {ItemStatus.DONE: ITEMS},
            timeout=90,
            message=lambda: f"all done: {items_db.counts()}",
        )
    finally:
        for worker in steady + victims:
            worker.stop()
    items = items_db.items()
    assert len(items) == ITEMS
    assert all(item.status == ItemStatus.DONE and item.claim_token is None for item in items)
    assert max(item.attempts for item in items) <= 1 + KILLS
    # The result in metadata comes from the claim that finished the item, the last one.
    assert all(item.metadata_["result"]["attempt"] == item.attempts for item in items)
    # No item was finished twice: every "item N done" line (logged after the commit) is unique.
    finished = completions([w.log_text() for w in steady + victims])
    assert finished and max(finished.values()) == 1
    assert len(finished) >= ITEMS - 10 * KILLS  # a kill may land between commit and log line
    assert kills >= 2
    assert sum(item.attempts > 1 for item in items) >= kills  # each kill took items from the victim
