"""The items queue in the database: claim a batch with a lease, finish it fenced by the claim token.

    store = ItemStore(Database(url))
    claim = store.claim_batch(worker="host:123:example_worker-0", limit=10, lease_seconds=60)
    landed = store.finish(claim, [Outcome.done(item.id, metadata) for item in claim.items])

Rules that keep work from being lost or done twice:
- A claim sets ``status='processing'``, ``claimed_by``, one random ``claim_token`` for the batch,
  ``lease_expires_at`` and ``attempts + 1``. PostgreSQL: one statement with
  ``FOR UPDATE SKIP LOCKED``; SQLite: the same statement in a ``BEGIN IMMEDIATE`` transaction.
- Every later write about a claimed item (finish, renew) matches ``id``, ``claim_token`` and
  ``status='processing'``: a worker whose lease ran out and was taken over writes nothing.
- ``requeue_expired`` gives items of dead or stalled workers back (or fails them once they have
  used up their attempts, so an item that kills its worker cannot kill workers forever).
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, Table, bindparam, func, inspect, select, text, update

from api.db import Database
from api.models import Item, ItemStatus, UTCDateTime

items: Table = Item.__table__  # type: ignore[assignment]  # declared as FromClause; it is a Table
LEASE_EXPIRED_ERROR = "lease expired: the worker holding the item stopped or stalled"


def _finish_statement(**values: Any) -> Any:
    """UPDATE one claimed item, fenced: only while it is still ours (same token, still processing)."""
    return (update(items)
            .where(items.c.id == bindparam("b_id"), items.c.claim_token == bindparam("b_token"),
                   items.c.status == ItemStatus.PROCESSING)
            .values(status=bindparam("b_status"), error=bindparam("b_error"), claimed_by=None,
                    claim_token=None, lease_expires_at=None,
                    updated_at=bindparam("b_now", type_=UTCDateTime()), **values))


_FINISH_DONE = _finish_statement(metadata=bindparam("b_metadata", type_=JSON()))
_FINISH_OTHER = _finish_statement(available_at=bindparam("b_available_at", type_=UTCDateTime()))


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ClaimedItem:
    id: int
    title: str
    description: str
    metadata: dict[str, Any]
    attempts: int  # including this claim


@dataclass(frozen=True)
class Claim:
    token: str
    worker: str
    items: list[ClaimedItem]
    lease_expires_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What became of one item: done (with its new metadata), retry later, or failed for good."""

    item_id: int
    status: str
    metadata: dict[str, Any] | None = None
    error: str | None = None
    retry_at: datetime | None = field(default=None)

    @classmethod
    def done(cls, item_id: int, metadata: dict[str, Any]) -> Outcome:
        return cls(item_id, ItemStatus.DONE, metadata=metadata)

    @classmethod
    def retry(cls, item_id: int, error: str, retry_at: datetime) -> Outcome:
        return cls(item_id, ItemStatus.PENDING, error=error, retry_at=retry_at)

    @classmethod
    def failed(cls, item_id: int, error: str) -> Outcome:
        return cls(item_id, ItemStatus.FAILED, error=error)


class ItemStore:
    """Queue operations on the items table, through ``api.db.Database``."""

    def __init__(self, db: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.now = now
        self.is_postgres = db.url.get_backend_name() == "postgresql"
        self._claim_statements: dict[int, Any] = {}
        self._held: dict[bool, Connection] = {}  # PostgreSQL autocommit connections, by durability

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        # SQLite: take the write lock up front (db.py turns this option into BEGIN IMMEDIATE).
        with self.db.engine.connect() as conn:
            if not self.is_postgres:
                conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def _single(self, *, durable: bool = True) -> Iterator[Connection]:
        """For one statement, atomic on its own. PostgreSQL: a held autocommit connection, so a
        claim is one round trip (no pool checkout ping, no BEGIN/COMMIT); SQLite: ``_write()``.

        ``durable=False`` (claims, lease renewals) commits without waiting for the WAL flush:
        a claim lost in a server crash only means the item is claimed again, which the lease
        and the token fencing already allow. Finishing an item always waits for the flush."""
        if not self.is_postgres:
            with self._write() as conn:
                yield conn
            return
        held = self._held.get(durable)
        if held is None:
            held = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if not durable:
                held.exec_driver_sql("SET synchronous_commit = off")
            self._held[durable] = held
        conn = held
        try:
            yield conn
        except Exception:
            self.close()  # a broken connection is not reused; the next call takes a fresh one
            raise

    def close(self) -> None:
        held, self._held = self._held, {}
        for conn in held.values():
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a connection that is already broken
                conn.invalidate()

    def schema_ready(self) -> bool:
        """True once the migrations have created the items table."""
        with self.db.engine.connect() as conn:
            return inspect(conn).has_table("items")

    def _claim_statement(self, limit: int) -> Any:
        # Built once per batch size with bind parameters: building Core statements per call
        # costs more than the SQL itself.
        stmt = self._claim_statements.get(limit)
        if stmt is None:
            now = bindparam("now", type_=UTCDateTime())
            due = (select(items.c.id)
                   .where(items.c.status == ItemStatus.PENDING, items.c.available_at <= now)
                   .order_by(items.c.id).limit(limit))
            if self.is_postgres:
                due = due.with_for_update(skip_locked=True)
            stmt = (update(items).where(items.c.id.in_(due.scalar_subquery()))
                    .values(status=ItemStatus.PROCESSING, claimed_by=bindparam("worker"),
                            claim_token=bindparam("token"), lease_expires_at=bindparam("expires"),
                            attempts=items.c.attempts + 1, updated_at=now)
                    .returning(items.c.id, items.c.title, items.c.description, items.c.metadata,
                               items.c.attempts))
            self._claim_statements[limit] = stmt
        return stmt

    def claim_batch(self, *, worker: str, limit: int, lease_seconds: float) -> Claim | None:
        """Claim up to ``limit`` due pending items, oldest first; None when there are none."""
        now = self.now()
        token = secrets.token_hex(16)
        expires = now + timedelta(seconds=lease_seconds)
        params = {"now": now, "worker": worker[:100], "token": token, "expires": expires}
        with self._single(durable=False) as conn:
            rows = conn.execute(self._claim_statement(limit), params).all()
        if not rows:
            return None
        claimed = sorted((ClaimedItem(r.id, r.title, r.description or "", dict(r.metadata or {}),
                                      r.attempts) for r in rows), key=lambda item: item.id)
        return Claim(token=token, worker=worker, items=claimed, lease_expires_at=expires)

    def renew_lease(self, claim: Claim, lease_seconds: float) -> set[int]:
        """Extend the lease of the claim's items; the ids still held (others were taken over)."""
        expires = self.now() + timedelta(seconds=lease_seconds)
        stmt = (update(items)
                .where(items.c.claim_token == claim.token, items.c.status == ItemStatus.PROCESSING)
                .values(lease_expires_at=expires).returning(items.c.id))
        with self._single(durable=False) as conn:
            return {row.id for row in conn.execute(stmt)}

    def finish(self, claim: Claim, outcomes: Sequence[Outcome]) -> list[int]:
        """Write the outcomes, each fenced by the claim token; the ids whose write landed."""
        if not outcomes:
            return []
        now = self.now()
        landed: list[int] = []
        done = [o for o in outcomes if o.status == ItemStatus.DONE]
        others = [o for o in outcomes if o.status != ItemStatus.DONE]
        if self.is_postgres and done:
            with self._single() as conn:
                landed += self._finish_done_postgres(conn, claim.token, done, now)
        else:
            others = done + others
        if not others:
            return landed
        with self._write() as conn:
            # The ids still ours: stable for the rest of this transaction, which holds the write
            # lock (SQLite) or row locks (PostgreSQL, FOR UPDATE). Then one executemany per kind.
            held_query = select(items.c.id).where(items.c.claim_token == claim.token,
                                                  items.c.status == ItemStatus.PROCESSING)
            if self.is_postgres:
                held_query = held_query.with_for_update()
            held = set(conn.execute(held_query).scalars())
            finished = [o for o in others if o.item_id in held]
            base = {"b_token": claim.token, "b_now": now}
            done_rows = [{**base, "b_id": o.item_id, "b_status": o.status, "b_error": None,
                          "b_metadata": o.metadata} for o in finished if o.status == ItemStatus.DONE]
            other_rows = [{**base, "b_id": o.item_id, "b_status": o.status, "b_error": o.error,
                           "b_available_at": o.retry_at or now}
                          for o in finished if o.status != ItemStatus.DONE]
            if done_rows:
                conn.execute(_FINISH_DONE, done_rows)
            if other_rows:
                conn.execute(_FINISH_OTHER, other_rows)
            landed += [o.item_id for o in finished]
        return landed

    @staticmethod
    def _finish_done_postgres(conn: Connection, token: str, done: Sequence[Outcome],
                              now: datetime) -> list[int]:
        # One statement for the whole batch: UPDATE ... FROM (VALUES ...) RETURNING.
        params: dict[str, Any] = {"token": token, "now": now}
        rows = []
        for i, outcome in enumerate(done):
            params[f"id{i}"] = outcome.item_id
            params[f"m{i}"] = json.dumps(outcome.metadata)
            rows.append(f"(CAST(:id{i} AS bigint), CAST(:m{i} AS json))")
        sql = ("UPDATE items AS i SET status = 'done', metadata = v.metadata, error = NULL, "
               "claimed_by = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = :now "
               f"FROM (VALUES {', '.join(rows)}) AS v(id, metadata) "
               "WHERE i.id = v.id AND i.claim_token = :token AND i.status = 'processing' RETURNING i.id")
        return [row.id for row in conn.execute(text(sql), params)]

    def requeue_expired(self, *, max_attempts: int) -> tuple[int, int]:
        """Give back items whose lease ran out: (requeued, failed for having no attempts left)."""
        now = self.now()
        expired = (items.c.status == ItemStatus.PROCESSING) & (items.c.lease_expires_at < now)
        released = {"claimed_by": None, "claim_token": None, "lease_expires_at": None, "updated_at": now}
        with self._write() as conn:
            failed = conn.execute(update(items).where(expired, items.c.attempts >= max_attempts).values(
                status=ItemStatus.FAILED, error=LEASE_EXPIRED_ERROR, **released)).rowcount
            requeued = conn.execute(update(items).where(expired).values(
                status=ItemStatus.PENDING, available_at=now, error=LEASE_EXPIRED_ERROR, **released)).rowcount
        return requeued, failed

    def seconds_until_due(self) -> float | None:
        """Seconds until the next retry becomes due or the next lease runs out; None if neither."""
        next_retry = (select(func.min(items.c.available_at))
                      .where(items.c.status == ItemStatus.PENDING).scalar_subquery())
        next_expiry = (select(func.min(items.c.lease_expires_at))
                       .where(items.c.status == ItemStatus.PROCESSING).scalar_subquery())
        with self.db.engine.connect() as conn:
            row = conn.execute(select(next_retry.label("retry"), next_expiry.label("expiry"))).one()
        moments = [m for m in (row.retry, row.expiry) if m is not None]
        if not moments:
            return None
        return max(0.0, (min(moments) - self.now()).total_seconds())
