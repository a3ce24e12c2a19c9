"""The queue operations with a controlled clock: leases expire, fencing keeps the new owner's work."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from store.item_store import LEASE_EXPIRED_ERROR, WORKER_DIED_ERROR, ItemStore, Outcome
from store.models import ItemStatus
from tests.integration.workers.support import ItemsDatabase


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_lost_lease_never_overwrites_the_new_owners_result(items_db: ItemsDatabase) -> None:
    [item_id] = items_db.add_items(1)
    clock = Clock()
    store = ItemStore(items_db.db, lease_clock=clock)
    first = store.claim_batch(worker="slow", limit=5, lease_seconds=10)
    assert first is not None and [i.id for i in first.items] == [item_id]
    assert store.claim_batch(worker="other", limit=5, lease_seconds=10) is None  # leased: not claimable

    clock.now += timedelta(seconds=11)  # the slow worker's lease runs out
    assert store.requeue_expired(max_attempts=5) == (1, 0)
    second = store.claim_batch(worker="fast", limit=5, lease_seconds=10)
    # Not charged for the first expiry (nothing says it was this item's fault), but a suspect now.
    assert second is not None and second.items[0].attempts == 1 and second.suspects == {item_id}
    assert store.finish(second, [Outcome.done(item_id, {"result": "fast"})]) == [item_id]

    # The slow worker finishes late: its write lands nowhere.
    assert store.finish(first, [Outcome.done(item_id, {"result": "slow"})]) == []
    assert store.finish(first, [Outcome.retry(item_id, "late", clock.now)]) == []
    assert store.renew_lease(first, 10) == set()
    [item] = items_db.items()
    assert item.status == ItemStatus.DONE and item.metadata_ == {"result": "fast"} and item.attempts == 1
    assert item.error is None
    store.close()


def test_an_item_its_worker_dies_on_fails_after_max_attempts_and_costs_the_others_nothing(
    items_db: ItemsDatabase,
) -> None:
    killer, *others = items_db.add_items(4)
    clock = Clock()
    store = ItemStore(items_db.db, lease_clock=clock)
    # A batch of four; the worker dies on the first before writing anything: nobody is charged,
    # all four come back as suspects.
    claim = store.claim_batch(worker="dies", limit=4, lease_seconds=5)
    assert claim is not None and claim.suspects == frozenset()
    clock.now += timedelta(seconds=6)
    assert store.requeue_expired(max_attempts=3) == (4, 0)
    rows = items_db.items()
    assert [(r.status, r.attempts, r.error) for r in rows] == [
        (ItemStatus.PENDING, 0, LEASE_EXPIRED_ERROR)
    ] * 4
    # From now on it dies on the killer each time, which runs first and on its own terms: each
    # death is charged to it alone; the three after it get their attempt back every time.
    for attempt in range(1, 4):
        claim = store.claim_batch(worker="dies", limit=4, lease_seconds=5)
        assert claim is not None and [i.id for i in claim.items] == [killer, *others]
        assert claim.suspects == {killer, *others} and claim.items[0].attempts == attempt
        clock.now += timedelta(seconds=6)
        store.requeue_expired(max_attempts=3)
    rows = {r.id: r for r in items_db.items()}
    assert (rows[killer].status, rows[killer].attempts, rows[killer].error) == (
        ItemStatus.FAILED,
        3,
        WORKER_DIED_ERROR,
    )
    assert all(rows[i].status == ItemStatus.PENDING and rows[i].attempts == 0 for i in others)
    claim = store.claim_batch(worker="lives", limit=4, lease_seconds=5)
    assert claim is not None and [i.id for i in claim.items] == others
    assert store.finish(claim, [Outcome.done(i.id) for i in claim.items]) == others
    rows = {r.id: r for r in items_db.items()}
    assert all(
        rows[i].status == ItemStatus.DONE and rows[i].attempts == 1 and rows[i].error is None for i in others
    )
    store.close()


def test_retry_waits_until_due_and_renewal_keeps_the_lease(items_db: ItemsDatabase) -> None:
    [item_id] = items_db.add_items(1)
    clock = Clock()
    store = ItemStore(items_db.db, lease_clock=clock)
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


def test_finish_and_claim_finishes_fenced_and_claims_the_next_batch(items_db: ItemsDatabase) -> None:
    ids = items_db.add_items(5)
    store = ItemStore(items_db.db)
    first = store.claim_batch(worker="w", limit=2, lease_seconds=60)
    assert first is not None and [i.id for i in first.items] == ids[:2]
    outcomes = [Outcome.done(i.id, {"result": i.id}) for i in first.items]
    landed, second = store.finish_and_claim(first, outcomes, limit=2, lease_seconds=60)
    assert landed == ids[:2]
    assert second is not None and [i.id for i in second.items] == ids[2:4]
    assert second.token != first.token and second.worker == "w"
    assert all(i.attempts == 1 for i in second.items)
    # The old token is spent: writing with it again lands nowhere, even on the new batch's items.
    assert store.finish(first, [Outcome.done(ids[2], {"result": "stale"})]) == []
    landed, third = store.finish_and_claim(
        second, [Outcome.done(i.id, {}) for i in second.items], limit=2, lease_seconds=60, worker="w2"
    )
    assert landed == ids[2:4] and third is not None and [i.id for i in third.items] == ids[4:]
    landed, none = store.finish_and_claim(third, [Outcome.done(ids[4], {})], limit=2, lease_seconds=60)
    assert landed == [ids[4]] and none is None  # nothing left to claim
    items = items_db.items()
    assert [(i.status, i.attempts, i.claim_token) for i in items] == [(ItemStatus.DONE, 1, None)] * 5
    assert [i.metadata_ for i in items[:2]] == [{"result": ids[0]}, {"result": ids[1]}]
    assert items[4].claimed_by is None and items[4].lease_expires_at is None
    store.close()


def test_finish_and_claim_with_a_lost_lease_writes_nothing_and_still_claims(items_db: ItemsDatabase) -> None:
    [taken, waiting] = items_db.add_items(2)
    clock = Clock()
    store = ItemStore(items_db.db, lease_clock=clock)
    slow = store.claim_batch(worker="slow", limit=1, lease_seconds=10)
    assert slow is not None and [i.id for i in slow.items] == [taken]
    clock.now += timedelta(seconds=11)  # the slow worker's lease runs out; another takes the item
    assert store.requeue_expired(max_attempts=5) == (1, 0)
    fast = store.claim_batch(worker="fast", limit=1, lease_seconds=10)
    assert fast is not None and [i.id for i in fast.items] == [taken]

    # The slow worker finishes late and claims on: its outcome lands nowhere, its claim is fenced
    # like any other (it cannot take the item the fast worker holds).
    landed, claim = store.finish_and_claim(
        slow, [Outcome.done(taken, {"result": "slow"})], limit=5, lease_seconds=10
    )
    assert landed == [] and claim is not None and [i.id for i in claim.items] == [waiting]
    assert store.finish(fast, [Outcome.done(taken, {"result": "fast"})]) == [taken]
    items = {i.id: i for i in items_db.items()}
    assert items[taken].status == ItemStatus.DONE and items[taken].metadata_ == {"result": "fast"}
    assert items[waiting].status == ItemStatus.PROCESSING and items[waiting].claim_token == claim.token
    store.close()


def test_finish_writes_done_retry_and_failed_outcomes_of_one_batch(items_db: ItemsDatabase) -> None:
    ids = items_db.add_items(3, metadata={"keep": 1})
    clock = Clock()
    store = ItemStore(items_db.db, lease_clock=clock)
    claim = store.claim_batch(worker="w", limit=3, lease_seconds=10)
    assert claim is not None
    retry_at = clock.now + timedelta(seconds=30)
    outcomes = [
        Outcome.done(ids[0], {"keep": 1, "result": "ok"}),
        Outcome.retry(ids[1], "later", retry_at),
        Outcome.failed(ids[2], "broken"),
    ]
    landed, nxt = store.finish_and_claim(claim, outcomes, limit=3, lease_seconds=10)
    assert landed == ids and nxt is None  # the retry is not due yet
    done, retry, failed = items_db.items()
    assert (done.status, done.metadata_, done.error) == (ItemStatus.DONE, {"keep": 1, "result": "ok"}, None)
    assert (retry.status, retry.metadata_, retry.error) == (ItemStatus.PENDING, {"keep": 1}, "later")
    assert retry.available_at == retry_at
    assert (failed.status, failed.metadata_, failed.error) == (ItemStatus.FAILED, {"keep": 1}, "broken")
    assert all(i.claim_token is None and i.lease_expires_at is None for i in (done, retry, failed))
    store.close()


def test_release_gives_an_unstarted_claim_back_and_is_fenced(items_db: ItemsDatabase) -> None:
    ids = items_db.add_items(3)
    clock = Clock()
    store = ItemStore(items_db.db, lease_clock=clock)
    claim = store.claim_batch(worker="w", limit=3, lease_seconds=10)
    assert claim is not None
    assert store.release(claim) == ids
    assert [(i.status, i.attempts, i.claim_token) for i in items_db.items()] == [
        (ItemStatus.PENDING, 0, None)
    ] * 3
    again = store.claim_batch(worker="w", limit=3, lease_seconds=10)
    assert again is not None and [i.attempts for i in again.items] == [1, 1, 1]  # the release cost none
    assert store.release(claim) == []  # a spent token gives back nothing
    clock.now += timedelta(seconds=11)
    assert store.requeue_expired(max_attempts=5) == (3, 0)
    taken = store.claim_batch(worker="other", limit=3, lease_seconds=10)
    assert taken is not None
    assert store.release(again) == []  # the lease was lost: the new owner keeps the items
    assert all(i.status == ItemStatus.PROCESSING and i.claim_token == taken.token for i in items_db.items())
    store.close()


def test_closing_the_store_leaves_no_session_settings_in_the_pool(postgres_url: str) -> None:
    db = ItemsDatabase.create(postgres_url)
    try:
        [item_id] = db.add_items(1)
        store = ItemStore(db.db)
        claim = store.claim_batch(worker="w", limit=1, lease_seconds=10)  # the asynchronous connection
        assert claim is not None
        assert store.finish(claim, [Outcome.done(item_id, {})]) == [item_id]  # the durable one
        store.close()
        # Every connection the pool can hand out (4: pool_size 2 + max_overflow 2) has the defaults.
        with ExitStack() as stack:
            conns = [stack.enter_context(db.db.engine.connect()) for _ in range(4)]
            settings = [
                conn.exec_driver_sql(
                    "SELECT current_setting('enable_sort'), current_setting('synchronous_commit')"
                ).one()
                for conn in conns
            ]
        assert settings == [("on", "on")] * 4
    finally:
        db.close()
