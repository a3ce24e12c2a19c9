"""ItemWorker: the item pipeline as a library. Implement ``process_item``; the base does the rest.

    class Shouter(ItemWorker):
        worker_name = "shouter"

        def process_item(self, item: ClaimedItem) -> ItemResult:
            return ItemResult(title=item.title.upper(), metadata={**item.metadata, "shouted": True})

    python -m workers run myapp.shouter:Shouter --once   # --batch-size, --lease-seconds, ...

What the base owns, on the items table or on any table of ``store.models.QueueItemMixin``
(``model = Link``):

- each batch claims up to WORKER_BATCH_SIZE due items with a lease (WORKER_LEASE_SECONDS) and a
  claim token, renews the lease at half-time while it works, hands ``process_item`` the whole
  row (``ClaimedItem``: every column, typed) and writes what it returned (any of the table's own
  columns; None keeps a value) fenced by the token, so a worker that lost its lease writes
  nothing. Outcomes are written as the batch goes (``flush_interval``), so a worker that dies
  costs only the item it was on: items not started get their attempt back, results written
  before stay, and the item it died on is ``failed`` after WORKER_MAX_RETRIES such deaths;
- ``process_item`` raising puts the item back to ``pending`` with its ``error``, due again after
  an exponential backoff (BACKOFF_MIN_DELAY .. BACKOFF_MAX_DELAY); after WORKER_MAX_RETRIES
  attempts it is ``failed`` for good; ``PermanentError`` fails it at once, with its message.
  Returning anything but an ``ItemResult`` (or None: done, nothing changed), or a result naming
  a column the table lacks or a queue column, counts as raising, with a message saying so;
- while the loop goes straight on (WORKER_ACTIVE_INTERVAL 0, not ``--once``, no stop requested),
  writing a batch's outcomes and claiming the next batch are one transaction; a stop that
  arrives meanwhile gives that claim back untouched;
- items of workers that died are requeued when their lease runs out (or failed, once their
  attempts are used up);
- a warm stop (first SIGTERM) lets the batch go on for WORKER_STOP_TIMEOUT seconds; then the
  items not started yet are given back untouched (pending, attempt not counted) and the item in
  progress finishes;
- an idle worker is woken by PostgreSQL LISTEN/NOTIFY (``<table>_pending``) or SQLite's
  ``PRAGMA data_version`` (``store.change_feed``), with polling as fallback;
- the worker does not run migrations: until its table exists a batch handles nothing and
  ``/readyz`` answers 503 saying why.
"""

from __future__ import annotations

import os
import socket
from abc import abstractmethod
from datetime import timedelta
from typing import Any

from sqlalchemy import Table

from store.change_feed import ChangeFeed
from store.db import Database
from store.item_store import Claim, ClaimedItem, ItemStore, Outcome, utcnow
from store.queues import count_queues, queue_tables
from workers.backoff import backoff_delay
from workers.base_worker import BaseWorker
from workers.options import Option, non_negative_seconds

__all__ = ["ClaimedItem", "ItemResult", "ItemWorker", "PermanentError"]


class PermanentError(Exception):
    """Raised in ``process_item``: the item is ``failed`` at once with this message, no retry
    (a URL that can never succeed, input that will never parse). Any other exception is retried."""


class ItemResult:
    """What ``process_item`` made of an item: the columns of its table to set, by name. On the
    items table ``title``, ``description`` and ``metadata``; on a table of your own, its own
    columns (``ItemResult(status_code=200, checked_at=now)``). A column left out or given as
    None keeps its value; ``metadata`` replaces the item's metadata as a whole (spread
    ``item.metadata`` to keep it). All of it is written in the same fenced write as the status."""

    __slots__ = ("values",)

    def __init__(
        self,
        title: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        **columns: Any,
    ) -> None:
        given = {"title": title, "description": description, "metadata": metadata, **columns}
        object.__setattr__(self, "values", {k: v for k, v in given.items() if v is not None})

    values: dict[str, Any]

    @property
    def title(self) -> str | None:
        return self.values.get("title")

    @property
    def description(self) -> str | None:
        return self.values.get("description")

    @property
    def metadata(self) -> dict[str, Any] | None:
        return self.values.get("metadata")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ItemResult is read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ItemResult) and self.values == other.values

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ItemResult({', '.join(f'{k}={v!r}' for k, v in self.values.items())})"


class ItemWorker(BaseWorker):
    """Processes queued items one by one through ``process_item``; see the module docstring.

    Class attributes: ``worker_name``, ``model`` (a model or Table with the queue's columns;
    None = the items table). Options besides BaseWorker's (each defaults to its setting):
    ``batch_size``, ``lease_seconds``, ``max_retries``, ``database_url``; ``database`` to share a
    ``store.db.Database``.
    """

    worker_name = "item_worker"
    model: type[Any] | Table | None = None
    # Seconds of work after which the outcomes so far are written before the next item starts:
    # what a crash can cost besides its own item. 0 writes each outcome as its item ends.
    flush_interval: float = 0.1
    # Seconds between counts of every queue for /metrics' worker_queue_items (0: never count);
    # the list of queue tables is looked up again every tenth count.
    queue_count_interval: float = 5.0

    batch_size = Option("WORKER_BATCH_SIZE", parse=int, minimum=1, metavar="N")
    lease_seconds = Option("WORKER_LEASE_SECONDS", parse=non_negative_seconds, minimum=0, metavar="SECONDS")
    max_retries = Option("WORKER_MAX_RETRIES", parse=int, minimum=1, metavar="N")
    database_url = Option("DATABASE_URL", metavar="URL")

    def __init__(self, *, database: Database | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.label = f"{socket.gethostname()}:{os.getpid()}:{self.worker_name}-{self.worker_id}"
        self._db = database
        self._owns_db = database is None
        self._store: ItemStore | None = None
        self._feed: ChangeFeed | None = None
        self._schema_ready = False
        self._want_feed = False  # set by on_startup: a bare process_batch() call starts no thread
        self._next_requeue = 0.0
        self._next_count = 0.0
        self._counts_taken = 0
        self._queue_tables: list[str] = []
        # The batch claimed together with the last finish, and when (self.clock()) it was claimed.
        self._next_claim: tuple[Claim, float] | None = None

    # ----- the subclass's part -------------------------------------------------------------
    @abstractmethod
    def process_item(self, item: ClaimedItem) -> ItemResult | None:
        """The work on one item (under its lease): what to write, or None for "done, unchanged".
        Raise to have it retried, then failed after WORKER_MAX_RETRIES attempts."""

    # ----- lifecycle -----------------------------------------------------------------------
    def on_startup(self) -> None:
        # The change feed starts with the first batch that reaches the database: while it is
        # down, batches raise and the loop backs off (and says so in /readyz).
        self._want_feed = True

    def on_shutdown(self) -> None:
        self._release_next_claim()
        if self._feed is not None:
            self._feed.stop()
            self._feed = None
        if self._store is not None:
            self._store.close()
        if self._db is not None and self._owns_db:
            self._db.dispose()

    @property
    def store(self) -> ItemStore:
        """The queue's storage (created on first use; no connection until a query)."""
        if self._store is None:
            if self._db is None:
                self._db = Database(
                    self.database_url,
                    pool_size=self.settings.DB_POOL_SIZE,
                    max_overflow=self.settings.DB_MAX_OVERFLOW,
                    application_name=f"{self.worker_name}-{self.worker_id}",
                )
            self._store = ItemStore(self._db, table=self.model)
        return self._store

    def schema_missing_reason(self) -> str:
        return (
            f"the {self.store.table.name} table does not exist yet: run the migrations "
            "(the API runs them at start)"
        )

    # ----- one batch -----------------------------------------------------------------------
    def process_batch(self) -> int:
        store = self.store
        if not self._schema_ready:
            if not store.schema_ready():
                reason = self.schema_missing_reason()
                if self.status.not_ready_reason != reason:
                    self.log.warning("waiting: %s", reason)
                self.status.not_ready_reason = reason
                return 0
            self._schema_ready = True
            self.status.not_ready_reason = None
        if self._want_feed and self._feed is None:
            self._feed = ChangeFeed(
                store.db, self.wake, channel=store.notify_channel, logger=self.log
            ).start()
        self._requeue_expired(store)
        self._count_queues(store)
        if self._next_claim is not None:
            (claim, claimed_at), self._next_claim = self._next_claim, None
        else:
            claimed_at = self.clock()
            next_claim = store.claim_batch(
                worker=self.label, limit=self.batch_size, lease_seconds=self.lease_seconds
            )
            if next_claim is None:
                self._next_requeue = 0.0  # idle: look for dead workers' items on the next pass
                due = store.seconds_until_due()
                if due is not None:
                    self.request_wakeup(due + 0.05)
                return 0
            claim = next_claim
        handled, outcomes = self._process_claim(store, claim, claimed_at)
        self._log_landed(outcomes, self._finish(store, claim, outcomes))
        return handled

    def _log_landed(self, outcomes: list[Outcome], landed: list[int]) -> None:
        written = set(landed)
        for outcome in outcomes:
            if outcome.item_id in written:
                self.log.debug("item %d %s", outcome.item_id, outcome.status)
            else:
                self.log.warning("item %d: lease lost to another worker; result dropped", outcome.item_id)

    def _claims_ahead(self) -> bool:
        """Claim the next batch in the finish's transaction? Only when the loop goes straight on
        to it: never for ``--once`` or after a stop request, and not when a pause between
        batches would leave claimed items waiting out the sleep."""
        return not self.once and not self.stop_requested and self.active_interval == 0

    def _finish(self, store: ItemStore, claim: Claim, outcomes: list[Outcome]) -> list[int]:
        # No outcomes (every item's lease was lost): this batch counts as empty and the loop may
        # pause, so the next batch is claimed when it starts, not now.
        if not outcomes or not self._claims_ahead():
            return store.finish(claim, outcomes)
        claimed_at = self.clock()
        landed, next_claim = store.finish_and_claim(
            claim, outcomes, worker=self.label, limit=self.batch_size, lease_seconds=self.lease_seconds
        )
        if next_claim is not None:
            self._next_claim = (next_claim, claimed_at)
            if self.stop_requested:  # the stop came during the round trip: claim nothing new
                self._release_next_claim()
        return landed

    def _release_next_claim(self) -> None:
        """Give back a batch claimed ahead and never started (a stop came before its turn)."""
        if self._next_claim is None or self._store is None:
            return
        claim, _ = self._next_claim
        self._next_claim = None
        self._release(claim, None, "claimed ahead")

    def _release(self, claim: Claim, item_ids: list[int] | None, what: str) -> None:
        try:
            released = self.store.release(claim, item_ids)
        except Exception as exc:  # noqa: BLE001 - the lease brings the items back anyway
            self.log.warning(
                "could not give back claimed item(s) (%s: %s); they come back when their lease expires",
                type(exc).__name__,
                exc,
            )
            return
        self.log.info("gave back %d item(s) %s, not started", len(released), what)

    def _requeue_expired(self, store: ItemStore) -> None:
        now = self.clock()
        if now < self._next_requeue:
            return
        self._next_requeue = now + min(5.0, max(0.5, self.lease_seconds / 4))
        requeued, failed = store.requeue_expired(max_attempts=self.max_retries)
        if requeued or failed:
            self.log.info(
                "expired leases: %d item(s) requeued, %d failed (no attempts left)", requeued, failed
            )

    def _count_queues(self, store: ItemStore) -> None:
        """Every queue's counts into /metrics (``store.queues``), at most every
        ``queue_count_interval`` seconds; a failed count keeps the last one and fails nothing."""
        now = self.clock()
        if self.queue_count_interval <= 0 or now < self._next_count:
            return
        self._next_count = now + self.queue_count_interval
        try:
            with store.db.engine.connect() as conn:
                if self._counts_taken % 10 == 0:
                    self._queue_tables = queue_tables(conn)
                counted = count_queues(conn, self._queue_tables)
        except Exception as exc:  # noqa: BLE001 - a gauge must never cost a batch
            self.log.debug("could not count the queues: %s: %s", type(exc).__name__, exc)
            return
        self._counts_taken += 1
        self.status.queues = {q.table: dict(q.counts) for q in counted}

    def _process_claim(self, store: ItemStore, claim: Claim, claimed_at: float) -> tuple[int, list[Outcome]]:
        """Process the claim's items in id order; (items handled, the outcomes not written yet).

        Outcomes are written as the batch goes, so a worker that dies costs only the item it
        was on (see ``store.item_store``): before an item starts, the outcomes so far are
        written when they have waited ``flush_interval`` seconds of work, or when the next item
        or one of them is a suspect (back from an expired lease). Quick items cost one write per
        batch, as before; the last outcomes go with the next claim (``_finish``)."""
        pending: list[Outcome] = []
        pending_since = claimed_at
        handled = 0
        held = {item.id for item in claim.items}
        renew_at = claimed_at + self.lease_seconds / 2
        for index, item in enumerate(claim.items):
            if self.stop_overdue:
                rest = [later.id for later in claim.items[index:] if later.id in held]
                if rest:
                    self._release(claim, rest, f"after WORKER_STOP_TIMEOUT ({self.stop_timeout:g}s)")
                break
            if self.clock() >= renew_at:
                held = store.renew_lease(claim, self.lease_seconds)
                renew_at = self.clock() + self.lease_seconds / 2
            if item.id not in held:
                self.log.warning("item %d: lease lost before processing; skipped", item.id)
                continue
            if pending and (
                item.id in claim.suspects
                or any(o.item_id in claim.suspects for o in pending)
                or self.clock() - pending_since >= self.flush_interval
            ):
                self._log_landed(pending, store.finish(claim, pending))
                pending = []
            if not pending:
                pending_since = self.clock()
            pending.append(self._outcome(item))
            handled += 1
            self.heartbeat()
        return handled, pending

    def _outcome(self, item: ClaimedItem) -> Outcome:
        try:
            result = self._checked(self.process_item(item))
        except PermanentError as exc:
            error = (str(exc) or type(exc).__name__)[:2000]
            self.log.warning("item %d failed for good (permanent error): %s", item.id, error)
            return Outcome.failed(item.id, error)
        except Exception as exc:  # noqa: BLE001 - an item's failure is recorded on the item
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if item.attempts >= self.max_retries:
                self.log.warning(
                    "item %d failed for good after %d attempt(s): %s", item.id, item.attempts, error
                )
                return Outcome.failed(item.id, error)
            delay = backoff_delay(
                item.attempts, min_delay=self.backoff.min_delay, max_delay=self.backoff.max_delay
            )
            self.log.info(
                "item %d attempt %d failed (%s); retry in %.1fs", item.id, item.attempts, error, delay
            )
            return Outcome.retry(item.id, error, utcnow() + timedelta(seconds=delay))
        return Outcome.done(item.id, values=result.values)

    def _checked(self, result: object) -> ItemResult:
        """The result, or an error naming what is wrong with it (one bad item must not fail the
        whole batch's write): a column the table lacks, a queue column, a value it cannot hold."""
        method = f"{type(self).__name__}.process_item()"
        if result is None:
            return ItemResult()
        if not isinstance(result, ItemResult):
            raise TypeError(f"{method} must return an ItemResult or None, it returned {result!r:.200}")
        try:
            self.store.check_values(result.values)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{method}: {exc}") from None
        return result
