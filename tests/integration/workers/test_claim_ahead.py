"""ExampleWorker in-process: the next batch is claimed in the finish's transaction, but never after a
stop was requested, never with ``--once``, and a batch claimed ahead but not started is given back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from store.item_store import Claim, ClaimedItem, ItemStore
from store.models import ItemStatus
from tests.integration.workers.support import ItemsDatabase
from workers import ExampleWorker
from workers.item_worker import ItemResult

MakeWorker = Callable[..., ExampleWorker]


@pytest.fixture(autouse=True)
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("APP_HOME", str(tmp_path))
    yield tmp_path


@pytest.fixture
def make_worker(items_db: ItemsDatabase) -> Iterator[MakeWorker]:
    """In-process workers on ``items_db`` (batch size 2, going straight on); all stopped after."""
    made: list[ExampleWorker] = []

    def make(**options: Any) -> ExampleWorker:
        worker = ExampleWorker(
            database_url=items_db.url,
            batch_size=2,
            active_interval=0,
            idle_interval=30,
            health_port=None,
            handle_signals=False,
            **options,
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop()  # idempotent: closes the worker's connections even when a test failed


def states(db: ItemsDatabase) -> list[tuple[str, int]]:
    return [(item.status, item.attempts) for item in db.items()]


def spy(
    store: ItemStore, monkeypatch: pytest.MonkeyPatch, after: Callable[[], None] | None = None
) -> list[str]:
    """Record which store calls write outcomes; ``after`` runs right after each finish_and_claim."""
    calls: list[str] = []
    finish, finish_and_claim = store.finish, store.finish_and_claim

    def spy_finish(*args: Any, **kwargs: Any) -> Any:
        calls.append("finish")
        return finish(*args, **kwargs)

    def spy_finish_and_claim(*args: Any, **kwargs: Any) -> Any:
        calls.append("finish_and_claim")
        result = finish_and_claim(*args, **kwargs)
        if after is not None:
            after()
        return result

    monkeypatch.setattr(store, "finish", spy_finish)
    monkeypatch.setattr(store, "finish_and_claim", spy_finish_and_claim)
    return calls


def test_going_straight_on_claims_the_next_batch_with_the_finish(
    items_db: ItemsDatabase, make_worker: MakeWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    items_db.add_items(5)
    worker = make_worker()
    calls = spy(worker.store, monkeypatch)
    assert worker.process_batch() == 2
    # The finish claimed the next batch: it is held, not yet started.
    assert states(items_db) == [("done", 1)] * 2 + [("processing", 1)] * 2 + [("pending", 0)]
    assert worker.process_batch() == 2
    assert worker.process_batch() == 1
    assert worker.process_batch() == 0
    worker.stop()
    assert calls == ["finish_and_claim"] * 3
    assert states(items_db) == [("done", 1)] * 5


def test_a_stop_during_the_finish_gives_the_next_batch_back(
    items_db: ItemsDatabase, make_worker: MakeWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stop (a SIGTERM, say) lands while finish_and_claim is on its round trip."""
    items_db.add_items(6)
    worker = make_worker()
    calls = spy(worker.store, monkeypatch, after=worker.stop)
    assert worker.run() == 0
    assert calls == ["finish_and_claim"]
    # The batch in flight finished; the one claimed with it went back untouched, attempts and all.
    assert states(items_db) == [("done", 1)] * 2 + [("pending", 0)] * 4
    assert all(item.claim_token is None for item in items_db.items())


def test_a_stop_before_the_finish_claims_nothing_new(
    items_db: ItemsDatabase, make_worker: MakeWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    items_db.add_items(6)
    worker = make_worker()
    store = worker.store
    calls = spy(store, monkeypatch)

    def process_item(item: ClaimedItem) -> ItemResult:
        worker.stop()  # a warm stop mid-batch: the batch finishes, nothing new is claimed
        return ItemResult(metadata={"seen": item.id})

    monkeypatch.setattr(worker, "process_item", process_item)
    assert worker.run() == 0
    assert calls == ["finish"]
    assert states(items_db) == [("done", 1)] * 2 + [("pending", 0)] * 4


def test_a_stop_between_batches_gives_the_claimed_batch_back(
    items_db: ItemsDatabase, make_worker: MakeWorker
) -> None:
    items_db.add_items(4)
    worker = make_worker()
    assert worker.process_batch() == 2
    assert states(items_db) == [("done", 1)] * 2 + [("processing", 1)] * 2
    worker.stop()  # the loop is not running: on_shutdown gives the claim back
    assert states(items_db) == [("done", 1)] * 2 + [("pending", 0)] * 2


def test_once_does_one_batch_and_claims_nothing_more(
    items_db: ItemsDatabase, make_worker: MakeWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    items_db.add_items(5)
    worker = make_worker(once=True)
    calls = spy(worker.store, monkeypatch)
    assert worker.run() == 0
    assert calls == ["finish"]
    assert states(items_db) == [("done", 1)] * 2 + [("pending", 0)] * 3


def test_a_pause_between_batches_claims_after_the_pause(
    items_db: ItemsDatabase, make_worker: MakeWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    items_db.add_items(3)
    worker = make_worker()
    worker.active_interval = 0.5  # claimed items would wait out the sleep: no claim ahead
    calls = spy(worker.store, monkeypatch)
    assert worker.process_batch() == 2
    assert states(items_db) == [("done", 1)] * 2 + [("pending", 0)]
    worker.stop()
    assert calls == ["finish"]


def test_a_claim_ahead_whose_lease_was_lost_is_skipped_not_written(
    items_db: ItemsDatabase, make_worker: MakeWorker, request: pytest.FixtureRequest
) -> None:
    """The batch claimed ahead is taken over before its turn: nothing of it is processed or written."""
    ids = items_db.add_items(4)
    worker = make_worker()
    assert worker.process_batch() == 2
    assert worker._next_claim is not None
    ahead: Claim = worker._next_claim[0]
    assert [item.id for item in ahead.items] == ids[2:]
    # Another worker takes the items over (as after an expired lease and a requeue).
    other = ItemStore(items_db.db)
    request.addfinalizer(other.close)
    with items_db.db.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE items SET status = 'pending', claim_token = NULL WHERE id IN ({ids[2]}, {ids[3]})"
        )
    taken = other.claim_batch(worker="other", limit=2, lease_seconds=60)
    assert taken is not None and [item.id for item in taken.items] == ids[2:]
    extra = items_db.add_items(2)
    worker.lease_seconds = 0  # renew before the first item: the renewal finds the lease lost
    assert worker.process_batch() == 0
    assert worker._next_claim is None  # an empty batch claims nothing ahead: the loop may pause now
    worker.stop()
    items = items_db.items()
    assert [item.status for item in items[2:4]] == [ItemStatus.PROCESSING] * 2
    assert all(item.claim_token == taken.token and "result" not in item.metadata_ for item in items[2:4])
    assert [(item.id, item.status, item.attempts) for item in items[4:]] == [
        (item_id, ItemStatus.PENDING, 0) for item_id in extra
    ]
