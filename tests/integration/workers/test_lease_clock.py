"""Leases are timed by the database's clock: a host whose clock runs ahead reclaims nothing early."""

from __future__ import annotations

from datetime import datetime, timedelta

from store.item_store import ItemStore, Outcome, utcnow
from store.models import ItemStatus
from tests.integration.workers.support import ItemsDatabase

SKEW = timedelta(seconds=30)
LEASE = 20.0  # shorter than the skew: a host timing leases by its own clock would reclaim at once


def ahead() -> datetime:
    """The wall clock of a host whose clock runs 30 s ahead."""
    return utcnow() + SKEW


def test_a_host_whose_clock_runs_ahead_reclaims_nothing_early(items_db: ItemsDatabase) -> None:
    ids = items_db.add_items(3)
    on_time = ItemStore(items_db.db)  # host A, clock right
    skewed = ItemStore(items_db.db, now=ahead)  # host B, clock 30 s ahead
    try:
        claim = on_time.claim_batch(worker="host-a", limit=3, lease_seconds=LEASE)
        assert claim is not None and [i.id for i in claim.items] == ids
        # Host B's housekeeping and claims while A holds the items: nothing has expired.
        assert skewed.requeue_expired(max_attempts=3) == (0, 0)
        assert skewed.claim_batch(worker="host-b", limit=3, lease_seconds=LEASE) is None
        due = skewed.seconds_until_due()
        assert due is not None and LEASE - 10 < due <= LEASE  # the lease's end, by the one clock
        # The lease end is the database's: within a few seconds of A's now, not B's.
        assert abs((claim.lease_expires_at - utcnow()).total_seconds() - LEASE) < 5
        landed = on_time.finish(claim, [Outcome.done(i, {"by": "host-a"}) for i in ids])
        assert landed == ids
        rows = items_db.items()
        assert [(r.status, r.attempts, r.metadata_) for r in rows] == [
            (ItemStatus.DONE, 1, {"by": "host-a"})
        ] * 3
    finally:
        on_time.close()
        skewed.close()


def test_the_same_skew_in_a_clock_of_our_own_would_reclaim_at_once(items_db: ItemsDatabase) -> None:
    # The hazard the database's clock removes (so the test above could fail): leases timed by
    # host B's own clock expire 30 s early, mid-work.
    items_db.add_items(1)
    on_time = ItemStore(items_db.db)
    own_clock = ItemStore(items_db.db, lease_clock=ahead)
    try:
        assert on_time.claim_batch(worker="host-a", limit=1, lease_seconds=LEASE) is not None
        assert own_clock.requeue_expired(max_attempts=3) == (1, 0)
        assert [r.status for r in items_db.items()] == [ItemStatus.PENDING]
    finally:
        on_time.close()
        own_clock.close()
