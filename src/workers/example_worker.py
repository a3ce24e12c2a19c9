"""ExampleWorker: processes pending items — text statistics of title and description into metadata.

    python -m workers.example_worker --worker-id 0 --health-port auto

Each batch claims up to WORKER_BATCH_SIZE due items with a lease (WORKER_LEASE_SECONDS) and a
claim token, processes them, and writes the outcomes fenced by the token (see ``item_store``).
While the worker goes straight on (WORKER_ACTIVE_INTERVAL 0, not ``--once``, no stop requested),
writing a batch's outcomes and claiming the next batch are one transaction (one commit per batch
instead of two); the next ``process_batch()`` works on that claim. A stop that arrives meanwhile
gives the claim back untouched (``ItemStore.release``), so a warm stop still claims nothing new.
Outcomes:

- done: ``metadata["result"] = {"words", "chars", "lines", "unique_words", "top_words",
  "attempt", "worker", "processed_at"}`` (the item's other metadata is kept);
- an error: the item goes back to ``pending`` with its ``error`` and becomes due again after an
  exponential backoff (BACKOFF_MIN_DELAY .. BACKOFF_MAX_DELAY); after WORKER_MAX_RETRIES
  attempts it is ``failed`` for good.

Poison items, for tests and demos: an item whose metadata has ``"fail": true`` raises on every
attempt, so it ends ``failed`` after WORKER_MAX_RETRIES attempts while the others finish.
WORKER_SIMULATED_WORK adds that many seconds of work per item (a slow handler for demos).

The database comes from DATABASE_URL. The worker does not run migrations (the API does, once, at
start; N workers racing DDL helps no one): until the items table exists a batch handles nothing,
returns 0 and ``/readyz`` answers 503 saying why. An idle worker is woken by PostgreSQL
LISTEN/NOTIFY or SQLite's ``PRAGMA data_version`` (``change_feed``), with polling as fallback.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from store.change_feed import ChangeFeed
from store.db import Database
from store.item_store import Claim, ClaimedItem, ItemStore, Outcome, utcnow
from workers.backoff import backoff_delay
from workers.base_worker import BaseWorker, WorkerError, non_negative_seconds

POISON_KEY = "fail"
SCHEMA_MISSING = "the items table does not exist yet: run the migrations (the API runs them at start)"
_WORD = re.compile(r"\w+")


class PoisonItemError(Exception):
    """The item asks to fail (metadata ``{"fail": true}``)."""


def text_stats(title: str, description: str) -> dict[str, Any]:
    """Cheap, real statistics of an item's text."""
    text = f"{title}\n{description}" if description else title
    words = _WORD.findall(text.lower())
    return {
        "words": len(words),
        "chars": len(text),
        "lines": text.count("\n") + 1,
        "unique_words": len(set(words)),
        "top_words": [word for word, _ in Counter(words).most_common(3)],
    }


class ExampleWorker(BaseWorker):
    """Claims pending items in batches and writes text statistics into their metadata.

    Options besides BaseWorker's (each defaults to config): ``batch_size``, ``lease_seconds``,
    ``max_retries``, ``simulated_work``, ``database_url``; ``database`` to share a Database.
    """

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        lease_seconds: float | None = None,
        max_retries: int | None = None,
        simulated_work: float | None = None,
        database_url: str | None = None,
        database: Database | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(worker_name="example_worker", **kwargs)
        s = self.settings
        self.batch_size = s.WORKER_BATCH_SIZE if batch_size is None else batch_size
        self.lease_seconds = s.WORKER_LEASE_SECONDS if lease_seconds is None else lease_seconds
        self.max_retries = s.WORKER_MAX_RETRIES if max_retries is None else max_retries
        self.simulated_work = s.WORKER_SIMULATED_WORK if simulated_work is None else simulated_work
        self.database_url = database_url or s.DATABASE_URL
        if self.batch_size < 1 or self.max_retries < 1:
            raise WorkerError("batch size and max retries must be at least 1")
        self.label = f"{socket.gethostname()}:{os.getpid()}:example_worker-{self.worker_id}"
        self._db = database
        self._owns_db = database is None
        self._store: ItemStore | None = None
        self._feed: ChangeFeed | None = None
        self._schema_ready = False
        self._want_feed = False  # set by on_startup: a bare process_batch() call starts no thread
        self._next_requeue = 0.0
        # The batch claimed together with the last finish, and when (self.clock()) it was claimed.
        self._next_claim: tuple[Claim, float] | None = None

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

    def _database(self) -> Database:
        if self._db is None:
            self._db = Database(
                self.database_url,
                pool_size=self.settings.DB_POOL_SIZE,
                max_overflow=self.settings.DB_MAX_OVERFLOW,
                application_name=f"example_worker-{self.worker_id}",
            )
        return self._db

    def _item_store(self) -> ItemStore:
        if self._store is None:
            self._store = ItemStore(self._database())
        return self._store

    # ----- one batch -----------------------------------------------------------------------
    def process_batch(self) -> int:
        store = self._item_store()
        if not self._schema_ready:
            if not store.schema_ready():
                if self.status.not_ready_reason != SCHEMA_MISSING:
                    self.log.warning("waiting: %s", SCHEMA_MISSING)
                self.status.not_ready_reason = SCHEMA_MISSING
                return 0
            self._schema_ready = True
            self.status.not_ready_reason = None
        if self._want_feed and self._feed is None:
            self._feed = ChangeFeed(self._database(), self.wake, logger=self.log).start()
        self._requeue_expired(store)
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
        outcomes = self._process_claim(store, claim, claimed_at)
        landed = set(self._finish(store, claim, outcomes))
        for outcome in outcomes:
            if outcome.item_id in landed:
                self.log.debug("item %d %s", outcome.item_id, outcome.status)
            else:
                self.log.warning("item %d: lease lost to another worker; result dropped", outcome.item_id)
        return len(outcomes)

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
        try:
            released = self._store.release(claim)
        except Exception as exc:  # noqa: BLE001 - the lease brings the items back anyway
            self.log.warning(
                "could not give back %d claimed item(s) (%s: %s); they come back when their lease expires",
                len(claim.items),
                type(exc).__name__,
                exc,
            )
            return
        self.log.info("gave back %d item(s) claimed ahead, not started", len(released))

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

    def _process_claim(self, store: ItemStore, claim: Claim, claimed_at: float) -> list[Outcome]:
        outcomes: list[Outcome] = []
        held = {item.id for item in claim.items}
        renew_at = claimed_at + self.lease_seconds / 2
        for item in claim.items:
            if self.clock() >= renew_at:
                held = store.renew_lease(claim, self.lease_seconds)
                renew_at = self.clock() + self.lease_seconds / 2
            if item.id not in held:
                self.log.warning("item %d: lease lost before processing; skipped", item.id)
                continue
            outcomes.append(self._process_item(item))
            self.heartbeat()
        return outcomes

    def _process_item(self, item: ClaimedItem) -> Outcome:
        try:
            result = self.process_item(item)
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
        return Outcome.done(item.id, {**item.metadata, "result": result})

    def process_item(self, item: ClaimedItem) -> dict[str, Any]:
        """The work on one item: its ``result``. Raise to have it retried (then failed)."""
        if item.metadata.get(POISON_KEY):
            raise PoisonItemError(f'metadata has "{POISON_KEY}": true')
        if self.simulated_work > 0:
            time.sleep(self.simulated_work)  # a stand-in for real work (demos and tests)
        return {
            **text_stats(item.title, item.description),
            "attempt": item.attempts,
            "worker": self.label,
            "processed_at": utcnow().isoformat(),
        }

    # ----- command line --------------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            metavar="N",
            help="items claimed per batch (WORKER_BATCH_SIZE)",
        )
        parser.add_argument(
            "--lease-seconds",
            type=non_negative_seconds,
            default=None,
            metavar="SECONDS",
            help="how long a claim is held before others may take it (WORKER_LEASE_SECONDS)",
        )
        parser.add_argument(
            "--max-retries",
            type=int,
            default=None,
            metavar="N",
            help="attempts before an item is marked failed (WORKER_MAX_RETRIES)",
        )
        parser.add_argument(
            "--simulated-work",
            type=non_negative_seconds,
            default=None,
            metavar="SECONDS",
            help="extra seconds of work per item, for demos (WORKER_SIMULATED_WORK)",
        )
        parser.add_argument(
            "--database-url", default=None, metavar="URL", help="SQLAlchemy database URL (DATABASE_URL)"
        )

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        return {
            **super().options_from_args(args),
            "batch_size": args.batch_size,
            "lease_seconds": args.lease_seconds,
            "max_retries": args.max_retries,
            "simulated_work": args.simulated_work,
            "database_url": args.database_url,
        }


if __name__ == "__main__":
    sys.exit(ExampleWorker.main())
