"""A worker on a team's table of its own (``links``: nothing of the items table), on both backends:
the whole row in, its own columns out, PermanentError, a result naming a wrong column, a plain SQL
insert, and real processes: one SIGKILLing itself on one link among nine others, two workers on
two tables in one stack, two programs on one table."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from config.config import load
from store.item_store import WORKER_DIED_ERROR
from store.models import ItemStatus
from tests.integration.workers.links import Link, LinksDatabase
from tests.integration.workers.support import ItemsDatabase, WorkerProcess
from tests.support.wait import wait_until
from workers import ClaimedItem, ItemResult, ItemWorker, PermanentError


@pytest.fixture
def links_db(database_url: str) -> Iterator[LinksDatabase]:
    db = LinksDatabase(database_url)
    yield db
    db.close()


class ScriptedLinks(ItemWorker):
    worker_name = "scripted_links"
    model = Link

    def __init__(self, answer: Callable[[ClaimedItem], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.answer = answer

    def process_item(self, item: ClaimedItem) -> ItemResult:
        return self.answer(item)  # type: ignore[no-any-return]


@pytest.fixture
def run_batch(links_db: LinksDatabase) -> Iterator[Callable[[Callable[[ClaimedItem], Any]], int]]:
    workers: list[ItemWorker] = []

    def run(answer: Callable[[ClaimedItem], Any]) -> int:
        settings = load({"DATABASE_URL": links_db.url, "WORKER_MAX_RETRIES": "3"}, environ={})
        worker = ScriptedLinks(answer, settings=settings, health_port=None, handle_signals=False, once=True)
        workers.append(worker)
        return worker.process_batch()

    yield run
    for worker in workers:
        worker.stop()


def test_the_worker_gets_the_whole_row_typed_and_sets_its_own_columns(
    links_db: LinksDatabase, run_batch: Callable[[Callable[[ClaimedItem], Any]], int]
) -> None:
    ids = links_db.add_links(["https://example.org/a", "https://example.org/b"])
    seen: list[ClaimedItem] = []
    when = datetime(2026, 12, 7, 3, 30, tzinfo=UTC)

    def answer(item: ClaimedItem) -> ItemResult | None:
        seen.append(item)
        if item.id == ids[0]:
            return ItemResult(status_code=204, checked_at=when, tags={"seen": [item.url]})
        return None  # done, nothing changed

    assert run_batch(answer) == 2
    first = seen[0]
    assert (first.url, first["url"], first.status_code, first.tags, first.attempts) == (
        "https://example.org/a",
        "https://example.org/a",
        None,
        None,
        1,
    )
    assert isinstance(first.created_at, datetime) and first.created_at.tzinfo is not None
    assert set(first.row) == set(Link.__table__.c.keys())
    with pytest.raises(AttributeError, match="no column 'title'"):
        _ = first.title  # nothing of the items table is imposed
    rows = [(r.status, r.status_code, r.checked_at, r.tags, r.url, r.error) for r in links_db.links()]
    assert rows == [
        (ItemStatus.DONE, 204, when, {"seen": ["https://example.org/a"]}, "https://example.org/a", None),
        (ItemStatus.DONE, None, None, None, "https://example.org/b", None),
    ]


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (ItemResult(status_code=200, colour="red"), "table 'links' has no column 'colour'"),
        (ItemResult(status="done"), "'status' is a queue column of 'links'"),
        (ItemResult(lease_expires_at=datetime.now(UTC)), "'lease_expires_at' is a queue column"),
        (ItemResult(title="x"), "table 'links' has no column 'title'"),
        (ItemResult(status_code="200"), "ItemResult.status_code must be int, got '200'"),
        (ItemResult(checked_at=datetime(2026, 1, 1)), "naive datetime"),
        (ItemResult(checked_by="x" * 101), "checked_by of 101 characters; at most 100 fit"),
    ],
)
def test_a_result_naming_a_wrong_column_is_that_items_error_and_writes_nothing(
    links_db: LinksDatabase,
    run_batch: Callable[[Callable[[ClaimedItem], Any]], int],
    result: ItemResult,
    message: str,
) -> None:
    bad, good = links_db.add_links(["https://bad.example", "https://good.example"])
    assert run_batch(lambda item: result if item.id == bad else ItemResult(status_code=200)) == 2
    rows = {r.id: r for r in links_db.links()}
    assert (rows[good].status, rows[good].status_code) == (ItemStatus.DONE, 200)
    assert rows[bad].status == ItemStatus.PENDING  # an error of this item: retried, then failed
    assert (rows[bad].status_code, rows[bad].checked_at, rows[bad].checked_by) == (None, None, None)
    assert rows[bad].error is not None and "ScriptedLinks.process_item()" in rows[bad].error
    assert message in rows[bad].error


def test_permanent_error_fails_the_item_at_once_and_others_are_retried(
    links_db: LinksDatabase, run_batch: Callable[[Callable[[ClaimedItem], Any]], int]
) -> None:
    permanent, retried, fine = links_db.add_links(["ftp://x", "https://down.example", "https://ok"])

    def answer(item: ClaimedItem) -> ItemResult:
        if item.id == permanent:
            raise PermanentError(f"not an http(s) URL: {item.url}")
        if item.id == retried:
            raise ConnectionError("connection refused")
        return ItemResult(status_code=200)

    assert run_batch(answer) == 3
    rows = {r.id: r for r in links_db.links()}
    assert (rows[permanent].status, rows[permanent].attempts, rows[permanent].error) == (
        ItemStatus.FAILED,
        1,
        "not an http(s) URL: ftp://x",
    )
    assert (rows[retried].status, rows[retried].error) == (
        ItemStatus.PENDING,
        "ConnectionError: connection refused",
    )
    assert rows[fine].status == ItemStatus.DONE


def test_a_plain_sql_insert_makes_a_pending_row_the_worker_takes(
    links_db: LinksDatabase, run_batch: Callable[[Callable[[ClaimedItem], Any]], int]
) -> None:
    with links_db.db.engine.begin() as conn:  # what psql or another program would do
        conn.execute(text("INSERT INTO links (url) VALUES ('https://inserted.example')"))
    [row] = links_db.links()
    assert (row.status, row.attempts, row.error) == (ItemStatus.PENDING, 0, None)
    assert run_batch(lambda item: ItemResult(status_code=len(item.url))) == 1
    [row] = links_db.links()
    assert (row.status, row.status_code, row.attempts) == (ItemStatus.DONE, 24, 1)


# ----- real processes ---------------------------------------------------------------------
LINKS = "tests.integration.workers.links"


def test_a_worker_killed_by_one_item_costs_only_that_item(links_db: LinksDatabase, tmp_path: Path) -> None:
    """10 links, batch 10, max retries 3; the worker SIGKILLs itself on the fifth, and is restarted
    (as supervisord would) until all settle: nine done with one attempt each, the killer failed
    with an error saying its worker died. Each link takes 0.15 s, longer than the worker's
    flush_interval: the four finished before the first death are written by then."""
    urls = [f"https://example.org/{n}" for n in range(10)]
    urls[4] = "kill"
    ids = links_db.add_links(urls)
    env = {
        "LINKS_PROGRAM": "killer",
        "WORKER_BATCH_SIZE": "10",
        "WORKER_MAX_RETRIES": "3",
        "WORKER_LEASE_SECONDS": "1",
        "WORKER_IDLE_INTERVAL": "0.3",
        "WORKER_SIMULATED_WORK": "0.15",
    }
    processes: list[WorkerProcess] = []
    done_at_deaths: list[int] = []

    def settled() -> bool:
        current = processes[-1] if processes else None
        if current is None or (current.process is not None and current.process.poll() is not None):
            if current is not None:
                done_at_deaths.append(links_db.counts().get(ItemStatus.DONE, 0))
            processes.append(
                WorkerProcess(tmp_path, links_db.url, env=env, module=LINKS, health=False).start()
            )
        return links_db.counts() == {ItemStatus.DONE: 9, ItemStatus.FAILED: 1}

    try:
        wait_until(settled, timeout=90, message=lambda: f"settled: {links_db.counts()}")
    finally:
        for process in processes:
            process.stop()
    died = [p for p in processes if p.process is not None and p.process.returncode == -signal.SIGKILL]
    assert len(died) == 4  # once uncharged (a batch of ten: which one?), then three times on its own
    assert done_at_deaths[0] == 4  # the results finished before the first death were kept
    rows = {r.id: r for r in links_db.links()}
    killer = rows[ids[4]]
    assert (killer.status, killer.attempts, killer.error) == (ItemStatus.FAILED, 3, WORKER_DIED_ERROR)
    assert "worker died while processing this item" in WORKER_DIED_ERROR
    others = [rows[i] for i in ids if i != ids[4]]
    assert [(r.status, r.attempts, r.status_code, r.error) for r in others] == [
        (ItemStatus.DONE, 1, 200, None)
    ] * 9


def test_two_workers_on_two_queue_tables_in_one_stack(
    items_db: ItemsDatabase, tmp_path: Path, database_url: str
) -> None:
    links_db = LinksDatabase(database_url)  # the same database as the items
    try:
        links_db.add_links([f"https://example.org/{n}" for n in range(100)])
        items_db.add_items(100)
        with (
            WorkerProcess(tmp_path, database_url, worker_id=0) as example,
            WorkerProcess(tmp_path, database_url, worker_id=1, module=LINKS) as stamper,
        ):
            wait_until(
                lambda: (
                    items_db.counts() == {ItemStatus.DONE: 100}
                    and links_db.counts() == {ItemStatus.DONE: 100}
                ),
                timeout=60,
                message=lambda: f"both done: {items_db.counts()} {links_db.counts()}",
            )
            # Each found only its own table's work, and woke for new rows of its own table.
            links_db.add_links(["https://example.org/late"])
            wait_until(lambda: links_db.counts() == {ItemStatus.DONE: 101}, timeout=30, message="late link")
            bodies = [example.health()[1], stamper.health()[1]]
        assert [b["items_processed"] for b in bodies] == [100, 101]
        assert [b["errors_total"] for b in bodies] == [0, 0]
        assert all(item.metadata_["result"]["words"] == 6 for item in items_db.items())
        assert {link.checked_by.rsplit("-", 1)[0].rsplit(":", 1)[1] for link in links_db.links()} == {
            "link_stamper"
        }
    finally:
        links_db.close()


def test_two_programs_on_one_table_share_its_rows(links_db: LinksDatabase, tmp_path: Path) -> None:
    # 3 s of work for one program alone: the other, polling idle, claims batches of its own.
    env = {"WORKER_SIMULATED_WORK": "0.01", "WORKER_BATCH_SIZE": "5"}
    with (
        WorkerProcess(tmp_path, links_db.url, worker_id=0, module=LINKS, env=env) as stamper,
        WorkerProcess(
            tmp_path, links_db.url, worker_id=1, module=LINKS, env={**env, "LINKS_PROGRAM": "lengths"}
        ) as lengths,
    ):
        stamper.wait_ready()
        lengths.wait_ready()
        links_db.add_links([f"https://example.org/{n}" for n in range(300)])
        wait_until(
            lambda: links_db.counts() == {ItemStatus.DONE: 300},
            timeout=60,
            interval=0.25,
            message=lambda: f"all done: {links_db.counts()}\n{stamper.log_tail()}\n{lengths.log_tail()}",
        )
        processed = [stamper.health()[1]["items_processed"], lengths.health()[1]["items_processed"]]
    assert sum(processed) == 300  # each row handled once, by one program or the other
    rows = links_db.links()
    by = {row.checked_by.split(":")[2].rsplit("-", 1)[0] for row in rows}
    assert by == {"link_stamper", "url_lengths"}  # both took part
    for row in rows:
        expected = 200 if "link_stamper" in row.checked_by else len(row.url)
        assert (row.status_code, row.attempts) == (expected, 1)


def test_the_migrated_items_table_takes_a_plain_sql_insert_too(items_db: ItemsDatabase) -> None:
    """Migration 0005 gave the items table the mixin's database-side defaults."""
    with items_db.db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO items (user_id, title) VALUES (:user, 'from psql')"), {"user": items_db.user_id}
        )
    [item] = items_db.items()
    assert (item.status, item.attempts, item.description, item.metadata_, item.error) == (
        ItemStatus.PENDING,
        0,
        "",
        {},
        None,
    )
    assert item.available_at <= datetime.now(UTC) and item.created_at.tzinfo is not None
