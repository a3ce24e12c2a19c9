"""The queue operations with a controlled clock: leases expire, fencing keeps the new owner's work."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.models import ItemStatus
from tests.integration.workers.support import ItemsDatabase
from workers.item_store import LEASE_EXPIRED_ERROR, ItemStore, Outcome


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_lost_lease_never_overwrites_the_new_owners_result(items_db: ItemsDatabase) -> None:
    [item_id] = items_db.add_items(1)
    clock = Clock()
    store = ItemStore(items_db.db, now=clock)
    first = store.claim_batch(worker="slow", limit=5, lease_seconds=10)
    assert first is not None and [i.id for i in first.items] == [item_id]
    assert store.claim_batch(worker="other", limit=5, lease_seconds=10) is None  # leased: not claimable

    clock.now += timedelta(seconds=11)  # the slow worker's lease runs out
    assert store.requeue_expired(max_attempts=5) == (1, 0)
    second = store.claim_batch(worker="fast", limit=5, lease_seconds=10)
    assert second is not None and second.items[0].attempts == 2
    assert store.finish(second, [Outcome.done(item_id, {"result": "fast"})]) == [item_id]

    # The slow worker finishes late: its write lands nowhere.
    assert store.finish(first, [Outcome.done(item_id, {"result": "slow"})]) == []
    assert store.finish(first, [Outcome.retry(item_id, "late", clock.now)]) == []
    assert store.renew_lease(first, 10) == set()
    [item] = items_db.items()
    assert item.status == ItemStatus.DONE and item.metadata_ == {"result": "fast"} and item.attempts == 2
    store.close()


def test_expired_leases_with_no_attempts_left_fail(items_db: ItemsDatabase) -> None:
    items_db.add_items(1)
    clock = Clock()
    store = ItemStore(items_db.db, now=clock)
    for attempt in range(1, 4):
        claim = store.claim_batch(worker="dies", limit=1, lease_seconds=5)
        assert claim is not None and claim.items[0].attempts == attempt
        clock.now += timedelta(seconds=6)
        store.requeue_expired(max_attempts=3)
    [item] = items_db.items()
    assert item.status == ItemStatus.FAILED and item.error == LEASE_EXPIRED_ERROR and item.attempts == 3
    store.close()


def test_retry_waits_until_due_and_renewal_keeps_the_lease(items_db: ItemsDatabase) -> None:
    [item_id] = items_db.add_items(1)
    clock = Clock()
    store = ItemStore(items_db.db, now=clock)
    claim = store.claim_batch(worker="w", limit=1, lease_seconds=5)
    assert claim is not None
    clock.now += timedelta(seconds=4)
    assert store.renew_lease(claim, 5) == {item_id}
    clock.now += timedelta(seconds=4)  # past the first lease, within the renewed one
    assert store.requeue_expired(max_attempts=5) == (0, 0)
    retry = Outcome.retry(item_id, "boom", clock.now + timedelta(seconds=30))
    assert store.finish(claim, [retry]) == [item_id]
    assert store.claim_batch(worker="w", limit=1, lease_seconds=5) is None  # not due yet
    due = store.seconds_until_due()
    assert due is not None and 29 <= due <= 30
    clock.now += timedelta(seconds=31)
    again = store.claim_batch(worker="w", limit=1, lease_seconds=5)
    assert again is not None and again.items[0].attempts == 2
    [item] = items_db.items()
    assert item.error == "boom" and item.status == ItemStatus.PROCESSING
    store.close()
