"""Chaos: three workers on 2,000 items, one of them SIGKILLed again and again and restarted.

At the end every item is done, its result written exactly once (by the claim that finished it),
nothing lost and nothing left processing, a kill charged to one item at most. Three times:
``ExampleWorker`` on the items table, a test-only worker that changes titles on a table of its
own (``notes``), and one on a team's table with nothing of the items table (``links``: two
columns written per item).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from store.models import ItemStatus
from tests.integration.workers.links import LinksDatabase
from tests.integration.workers.notes import NotesDatabase, suffix_counts
from tests.integration.workers.support import ItemsDatabase, WorkerProcess, completions
from tests.support.wait import wait_until

ITEMS = 2000
KILLS = 4
ENV = {
    "WORKER_SIMULATED_WORK": "0.01",
    "WORKER_BATCH_SIZE": "10",
    "WORKER_LEASE_SECONDS": "1.5",
    "WORKER_MAX_RETRIES": str(KILLS + 2),
    "WORKER_IDLE_INTERVAL": "0.5",
}


class Queue(Protocol):
    url: str

    def counts(self) -> dict[str, int]: ...
    def held_by(self, pid: int) -> int: ...


def run_chaos(queue: Queue, tmp_path: Path, module: str) -> tuple[list[WorkerProcess], int]:
    """Two steady workers and a victim killed KILLS times while it holds items; all done at the end."""

    def worker(n: int) -> WorkerProcess:
        return WorkerProcess(
            tmp_path, queue.url, worker_id=n, env=ENV, args=["--log-level", "DEBUG"], module=module
        )

    steady = [worker(0), worker(1)]
    victims: list[WorkerProcess] = []
    kills = 0
    try:
        for process in steady:
            process.start()
        for _ in range(KILLS):
            victim = worker(2).start()
            victims.append(victim)
            assert victim.process is not None
            pid = victim.process.pid
            # Kill it while it holds claimed items.
            held = wait_until(
                lambda: queue.held_by(pid) or not queue.counts().get(ItemStatus.PENDING),  # noqa: B023
                timeout=30,
                message=lambda: f"victim holding items; log:\n{victim.log_tail()}",  # noqa: B023
            )
            victim.signal(signal.SIGKILL)
            victim.wait_exit(timeout=10)
            if held is True:
                break  # nothing pending any more
            kills += 1
        victims.append(worker(2).start())
        wait_until(
            lambda: queue.counts() == {ItemStatus.DONE: ITEMS},
            timeout=90,
            interval=0.25,  # a count of the whole table: a few a second while the workers work
            message=lambda: f"all done: {queue.counts()}",
        )
    finally:
        for process in steady + victims:
            process.stop()
    return steady + victims, kills


def check_logs(workers: list[WorkerProcess], kills: int) -> None:
    # No item was finished twice: every "item N done" line (logged after the commit) is unique.
    finished = completions([w.log_text() for w in workers])
    assert finished and max(finished.values()) == 1
    assert len(finished) >= ITEMS - 10 * KILLS  # a kill may land between commit and log line
    assert kills >= 2


def check_rows(rows: list[Any], kills: int, written_by_last_claim: Callable[[Any], bool]) -> None:
    assert len(rows) == ITEMS  # none lost
    assert all(row.status == ItemStatus.DONE and row.claim_token is None for row in rows)  # none stuck
    assert max(row.attempts for row in rows) <= 1 + KILLS
    assert all(written_by_last_claim(row) for row in rows)
    # A kill costs at most the item in progress an attempt; the rest of the victim's batch none.
    assert sum(row.attempts > 1 for row in rows) <= kills


def test_sigkill_loses_nothing_and_does_nothing_twice(items_db: ItemsDatabase, tmp_path: Path) -> None:
    items_db.add_items(ITEMS)
    workers, kills = run_chaos(items_db, tmp_path, "workers.example_worker")
    check_logs(workers, kills)
    # The result in metadata comes from the claim that finished the item, the last one.
    check_rows(items_db.items(), kills, lambda item: item.metadata_["result"]["attempt"] == item.attempts)


def test_a_title_changing_worker_on_its_own_table_loses_nothing_either(
    database_url: str, tmp_path: Path
) -> None:
    notes_db = NotesDatabase(database_url)
    try:
        notes_db.add_notes(ITEMS)
        workers, kills = run_chaos(notes_db, tmp_path, "tests.integration.workers.notes")
        check_logs(workers, kills)
        notes = notes_db.notes()
        # Each title changed exactly once, by the claim that finished the note (the last one).
        assert set(suffix_counts(notes).values()) == {1}
        check_rows(notes, kills, lambda note: note.title.endswith(f" [titled by attempt {note.attempts}]"))
    finally:
        notes_db.close()


def test_kill_9_on_a_teams_own_table_loses_nothing_and_writes_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    links_db = LinksDatabase(database_url)
    try:
        links_db.add_links([f"https://example.org/{n}" for n in range(ITEMS)])
        workers, kills = run_chaos(links_db, tmp_path, "tests.integration.workers.links")
        check_logs(workers, kills)
        # The status code says which attempt wrote it (200 + attempt - 1): the last claim's.
        check_rows(
            links_db.links(),
            kills,
            lambda link: link.status_code == 199 + link.attempts and link.checked_at is not None,
        )
    finally:
        links_db.close()
