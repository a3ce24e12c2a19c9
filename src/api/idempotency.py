"""Idempotent creates: the same ``Idempotency-Key`` from the same user returns the first response.

The record is inserted as the transaction's first write, before the item: the unique constraint
(user_id, key) then makes a concurrent duplicate wait for the first transaction (a row lock on
PostgreSQL, the write lock on SQLite) and fail with IntegrityError once it commits, after which it
reads and replays the stored response. So concurrent duplicates create exactly one item.

Records are kept for ``IDEMPOTENCY_KEY_TTL_SECONDS`` (a day by default, as Stripe does): long enough
for any client's retries. ``IdempotencyJanitor`` then deletes them in small batches, from the API
process itself (at most once per interval, after an idempotent create), so the table stays the
size of a day's keyed creates without a cron job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import Conflict
from store.models import IdempotencyRecord

log = logging.getLogger("api.idempotency")

# Each purge deletes at most this many records (one short transaction), oldest first.
PURGE_BATCH = 1000


class DuplicateKey(Exception):
    """The key is already recorded for this user (raised out of the transaction to roll it back)."""


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False  # True when it comes from an earlier request with the same key


def request_fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def claim_key(session: Session, *, user_id: int, key: str, fingerprint: str) -> IdempotencyRecord:
    """Insert the record for ``key``; raise DuplicateKey when it exists (maybe after waiting)."""
    record = IdempotencyRecord(user_id=user_id, key=key, request_hash=fingerprint, status_code=0)
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        raise DuplicateKey(key) from None
    return record


def stored_response(session: Session, *, user_id: int, key: str, fingerprint: str) -> StoredResponse:
    """The first response for ``key``; Conflict when the key was used with another body."""
    record = session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )
    if record is None or record.status_code == 0 or record.response_body is None:
        # Cannot happen while records are written in the creating transaction; say so plainly.
        raise Conflict("a request with this Idempotency-Key is still in progress; retry later")
    if record.request_hash != fingerprint:
        raise Conflict("Idempotency-Key already used with a different request body")
    return StoredResponse(status_code=record.status_code, body=record.response_body, replayed=True)


def purge_expired(conn: Connection, *, older_than: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete up to ``batch`` records created before ``older_than`` (oldest first, by the created_at
    index); the number deleted."""
    records: Table = IdempotencyRecord.__table__  # type: ignore[assignment]  # a FromClause that is a Table
    expired = (
        select(records.c.id)
        .where(records.c.created_at < older_than)
        .order_by(records.c.created_at)
        .limit(batch)
        .scalar_subquery()
    )
    result = conn.execute(delete(records).where(records.c.id.in_(expired)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class IdempotencyJanitor:
    """Purges expired records from within the API, at most once per ``interval`` per process.

    ``maybe_purge`` is called after an idempotent create (blocking: call it from a worker thread);
    one call deletes one batch, so a backlog drains over several intervals without a long
    transaction. Concurrent calls in one process skip rather than queue.
    """

    def __init__(
        self,
        ttl_seconds: float,
        *,
        interval_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ttl = timedelta(seconds=ttl_seconds)
        self.interval = interval_seconds
        self.clock, self.now = clock, now
        self._next_at = float("-inf")
        self._lock = threading.Lock()

    def maybe_purge(self, begin: Callable[[], Any]) -> int | None:
        """Purge one batch if the interval has passed (None if not due). ``begin`` opens a
        transaction yielding a Connection (``Database.engine.begin`` or ``RequestScope.write``)."""
        if self.clock() < self._next_at or not self._lock.acquire(blocking=False):
            return None
        try:
            if self.clock() < self._next_at:
                return None
            self._next_at = self.clock() + self.interval
            try:
                with begin() as conn:
                    deleted = purge_expired(conn, older_than=self.now() - self.ttl)
            except Exception as exc:  # noqa: BLE001 - housekeeping must never fail a create
                log.warning("could not purge expired idempotency keys: %s", exc)
                return None
            if deleted:
                log.info("purged %d expired idempotency keys", deleted)
            return deleted
        finally:
            self._lock.release()
