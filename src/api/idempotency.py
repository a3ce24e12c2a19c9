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

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import Conflict
from store.models import IdempotencyRecord, UTCDateTime
from store.pg_async import AsyncConnection, AsyncPostgres, Json
from store.pg_async import IntegrityError as UniqueKeyTaken

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


_RECORDS: Table = IdempotencyRecord.__table__  # type: ignore[assignment]  # a FromClause that is a Table
# The async path's statements (PostgreSQL), the same rows as the ORM's: built once.
_CLAIM = (
    insert(_RECORDS)
    .values(
        user_id=bindparam("user_id"),
        key=bindparam("key"),
        request_hash=bindparam("request_hash"),
        status_code=bindparam("status_code"),  # 0 until the response is stored
        created_at=bindparam("created_at", type_=UTCDateTime()),
    )
    .returning(_RECORDS.c.id)
)
_RECORD_RESPONSE = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("record_id"))
    .values(status_code=bindparam("status_code"), response_body=bindparam("response_body"))
)
_STORED = select(_RECORDS.c.status_code, _RECORDS.c.response_body, _RECORDS.c.request_hash).where(
    _RECORDS.c.user_id == bindparam("user_id"), _RECORDS.c.key == bindparam("key")
)


async def claim_key_async(
    aio: AsyncPostgres, conn: AsyncConnection, *, user_id: int, key: str, fingerprint: str
) -> int:
    """``claim_key`` on the event loop, in ``conn``'s transaction: the record's id; DuplicateKey
    when the key is taken (maybe after waiting for the transaction that took it)."""
    params = {
        "user_id": user_id,
        "key": key,
        "request_hash": fingerprint,
        "status_code": 0,
        "created_at": datetime.now(UTC),
    }
    try:
        row = await aio.fetch_one(_CLAIM, params, conn=conn)
    except UniqueKeyTaken:
        raise DuplicateKey(key) from None
    return int(row[0])


async def record_response_async(
    aio: AsyncPostgres, conn: AsyncConnection, record_id: int, status_code: int, body: dict[str, Any]
) -> None:
    """The first response, stored with the key in the creating transaction."""
    params = {"record_id": record_id, "status_code": status_code, "response_body": Json(body)}
    await aio.execute(_RECORD_RESPONSE, params, conn=conn)


async def stored_response_async(
    aio: AsyncPostgres, *, user_id: int, key: str, fingerprint: str
) -> StoredResponse:
    """``stored_response`` on the event loop."""
    row = await aio.fetch_one(_STORED, {"user_id": user_id, "key": key})
    if row is None or row[0] == 0 or row[1] is None:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry later")
    if row[2] != fingerprint:
        raise Conflict("Idempotency-Key already used with a different request body")
    return StoredResponse(status_code=row[0], body=row[1], replayed=True)


def purge_expired(conn: Connection, *, older_than: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete up to ``batch`` records created before ``older_than`` (oldest first, by the created_at
    index); the number deleted."""
    records = _RECORDS
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

    def due(self) -> bool:
        """Whether a purge is due (no I/O): the async path hands ``maybe_purge`` to a thread then only."""
        return self.clock() >= self._next_at

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
