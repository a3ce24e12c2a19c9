"""The items queue in the database: claim a batch with a lease, finish it fenced by the claim token.

    store = ItemStore(Database(url))              # the items table; ItemStore(db, table=Note) for
                                                  # any model with store.models.QueueItemMixin
    claim = store.claim_batch(worker="host:123:example_worker-0", limit=10, lease_seconds=60)
    landed = store.finish(claim, [Outcome.done(item.id, metadata) for item in claim.items])
    # or, going straight on: finish this batch and claim the next one in one transaction
    landed, claim = store.finish_and_claim(claim, outcomes, limit=10, lease_seconds=60)

Rules that keep work from being lost or done twice:
- A claim sets ``status='processing'``, ``claimed_by``, one random ``claim_token`` for the batch,
  ``lease_expires_at`` and ``attempts + 1``. PostgreSQL: one statement with
  ``FOR UPDATE SKIP LOCKED``; SQLite: the same statement in a ``BEGIN IMMEDIATE`` transaction.
- Every later write about a claimed item (finish, renew) matches ``id``, ``claim_token`` and
  ``status='processing'``: a worker whose lease ran out and was taken over writes nothing.
- ``finish_and_claim`` is ``finish`` and ``claim_batch`` in one transaction (PostgreSQL: one
  statement, one commit; SQLite: one ``BEGIN IMMEDIATE``), with the same fencing and lease rules;
  ``release`` gives a claimed batch that was never started back as it was (attempt not counted).
- A done outcome may also set the item's ``title`` and ``description`` (None keeps them), in the
  same fenced write as its metadata.
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

from sqlalchemy import JSON, Connection, String, Table, bindparam, func, inspect, select, text, update

from store.db import Database
from store.models import Item, ItemStatus, UTCDateTime

QUEUE_COLUMNS = frozenset(
    {"id", "title", "description", "status", "metadata", "attempts", "error", "available_at"}
    | {"claimed_by", "claim_token", "lease_expires_at", "updated_at"}
)
CLAIMED_COLUMNS = ("id", "title", "description", "metadata", "attempts")  # what a claim reads
ITEMS: Table = Item.__table__  # type: ignore[assignment]  # declared as FromClause; it is a Table
items = ITEMS  # the name this module used before tables became a parameter
LEASE_EXPIRED_ERROR = "lease expired: the worker holding the item stopped or stalled"


def utcnow() -> datetime:
    return datetime.now(UTC)


def notify_channel(table: Table) -> str:
    """The PostgreSQL channel a table's new work is announced on (``items_pending`` for items)."""
    return f"{table.name}_pending"


def notify_trigger_sql(table_name: str) -> list[str]:
    """PostgreSQL DDL that announces new work on ``<table>_pending`` (as migration 0002 does for
    items), for the migration of a table of your own; without it an idle worker polls."""
    function = f"{table_name}_notify_pending"
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{table_name}_pending', ''); RETURN NULL; END $$",
        f"CREATE TRIGGER {function} AFTER INSERT OR UPDATE OF status ON {table_name} "
        f"FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION {function}()",
    ]


def _finish_statement(table: Table, **values: Any) -> Any:
    """UPDATE one claimed item, fenced: only while it is still ours (same token, still processing)."""
    return (
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.claim_token == bindparam("b_token"),
            table.c.status == ItemStatus.PROCESSING,
        )
        .values(
            status=bindparam("b_status"),
            error=bindparam("b_error"),
            claimed_by=None,
            claim_token=None,
            lease_expires_at=None,
            updated_at=bindparam("b_now", type_=UTCDateTime()),
            **values,
        )
    )


def _finish_done_statement(table: Table) -> Any:
    # None keeps a field as it was (SQL NULL, hence none_as_null for the JSON parameter).
    return _finish_statement(
        table,
        metadata=func.coalesce(bindparam("b_metadata", type_=JSON(none_as_null=True)), table.c.metadata),
        title=func.coalesce(bindparam("b_title", type_=String()), table.c.title),
        description=func.coalesce(bindparam("b_description", type_=String()), table.c.description),
    )


# PostgreSQL finish: one statement for the whole batch, whatever the outcomes. The outcomes come
# as one JSON array (one bind parameter, so the SQL text is the same for every batch and psycopg
# prepares it once); fenced by id, claim token and status='processing' like every write about a
# claimed item. Done: the new metadata, title and description (each kept when null), no error;
# retry/failed: the error and when it is due. {table} is the quoted table name.
_PG_OUTCOMES = (
    "json_to_recordset(CAST(:outcomes AS json)) AS v(id bigint, status text, metadata json, "
    "title text, description text, error text, available_at timestamptz)"
)
_PG_FINISH_SET = (
    "UPDATE {table} AS i SET status = v.status, "  # noqa: S608 - the table name comes from the model, values are bound
    "metadata = CASE WHEN v.status = 'done' THEN COALESCE(v.metadata, i.metadata) ELSE i.metadata END, "
    "title = COALESCE(v.title, i.title), description = COALESCE(v.description, i.description), "
    "error = v.error, available_at = COALESCE(v.available_at, i.available_at), "
    "claimed_by = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = :now "
    f"FROM {_PG_OUTCOMES} "
    "WHERE i.id = v.id AND i.claim_token = :{token} AND i.status = 'processing' "
    "RETURNING i.id"
)
# Finish and claim the next batch in one statement (one round trip, one commit). The two parts
# touch disjoint rows (ours are 'processing', the claim takes 'pending' ones) and both see the
# statement's snapshot, so an item this finish sends back for a retry is not claimed again by it.
# The batch size is written into the SQL (one statement per size, like the claim statement): a
# LIMIT parameter would leave the plan of a prepared statement guessing how many rows it takes.
_PG_FINISH_AND_CLAIM = (
    "WITH fin AS ({finish}), "
    "claimed AS (UPDATE {table} SET status = 'processing', claimed_by = :worker, claim_token = :token, "
    "lease_expires_at = :expires, attempts = attempts + 1, updated_at = :now "
    "WHERE id IN (SELECT id FROM {table} WHERE status = 'pending' AND available_at <= :now "
    "ORDER BY status, id LIMIT {limit} FOR UPDATE SKIP LOCKED) "
    "RETURNING id, title, description, metadata, attempts) "
    "SELECT 'finished' AS kind, id, NULL AS title, NULL AS description, CAST(NULL AS json) AS metadata, "
    "CAST(NULL AS integer) AS attempts FROM fin "
    "UNION ALL SELECT 'claimed', id, title, description, metadata, attempts FROM claimed"
)


def _outcomes_json(outcomes: Sequence[Outcome], now: datetime) -> str:
    return json.dumps(
        [
            {
                "id": o.item_id,
                "status": o.status,
                "metadata": o.metadata,
                "title": o.title,
                "description": o.description,
                "error": None,
                "available_at": None,
            }
            if o.status == ItemStatus.DONE
            else {
                "id": o.item_id,
                "status": o.status,
                "metadata": None,
                "title": None,
                "description": None,
                "error": o.error,
                "available_at": (o.retry_at or now).isoformat(),
            }
            for o in outcomes
        ]
    )


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


def _claim_from_rows(rows: Sequence[Any], token: str, worker: str, expires: datetime) -> Claim | None:
    if not rows:
        return None
    claimed = sorted(
        (ClaimedItem(r.id, r.title, r.description or "", dict(r.metadata or {}), r.attempts) for r in rows),
        key=lambda item: item.id,
    )
    return Claim(token=token, worker=worker, items=claimed, lease_expires_at=expires)


@dataclass(frozen=True)
class Outcome:
    """What became of one item: done (with what it changed: its metadata, title, description;
    None keeps a field as it was), retry later, or failed for good."""

    item_id: int
    status: str
    metadata: dict[str, Any] | None = None
    error: str | None = None
    retry_at: datetime | None = field(default=None)
    title: str | None = None
    description: str | None = None

    @classmethod
    def done(
        cls,
        item_id: int,
        metadata: dict[str, Any] | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
    ) -> Outcome:
        return cls(item_id, ItemStatus.DONE, metadata=metadata, title=title, description=description)

    @classmethod
    def retry(cls, item_id: int, error: str, retry_at: datetime) -> Outcome:
        return cls(item_id, ItemStatus.PENDING, error=error, retry_at=retry_at)

    @classmethod
    def failed(cls, item_id: int, error: str) -> Outcome:
        return cls(item_id, ItemStatus.FAILED, error=error)


class ItemStore:
    """Queue operations on the items table (or ``table``: any table or model with the columns of
    ``store.models.QueueItemMixin``), through ``store.db.Database``."""

    def __init__(
        self,
        db: Database,
        *,
        table: Table | type[Any] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.now = now
        self.table: Table = (
            ITEMS if table is None else (table if isinstance(table, Table) else table.__table__)
        )
        missing = sorted(QUEUE_COLUMNS - set(self.table.c.keys()))
        if missing:
            raise ValueError(
                f"table {self.table.name!r} lacks the queue's columns {', '.join(missing)} "
                "(use store.models.QueueItemMixin)"
            )
        self.is_postgres = db.url.get_backend_name() == "postgresql"
        self.notify_channel = notify_channel(self.table)
        self._finish_done = _finish_done_statement(self.table)
        self._finish_other = _finish_statement(
            self.table, available_at=bindparam("b_available_at", type_=UTCDateTime())
        )
        name = db.engine.dialect.identifier_preparer.format_table(self.table)
        self._pg_finish = text(_PG_FINISH_SET.format(table=name, token="token"))  # noqa: S106 - a bind parameter's name
        self._pg_finish_and_claim = _PG_FINISH_AND_CLAIM.replace(
            "{finish}",
            _PG_FINISH_SET.format(table=name, token="old_token"),  # noqa: S106 - a bind parameter's name
        ).replace("{table}", name)
        self._claim_statements: dict[int, Any] = {}
        self._finish_and_claim_statements: dict[int, Any] = {}
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
            # A claim must walk ix_items_status_id (status, id) in order and stop after a batch.
            # Right after a burst of new items the statistics are stale (autoanalyze runs up to a
            # minute later) and the planner would rather fetch every pending row and sort them:
            # milliseconds per claim, growing with the backlog. No statement of this connection
            # needs a sort otherwise; where no index gives the order, the planner still sorts.
            held.exec_driver_sql("SET enable_sort = off")
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
                # The session settings of _single() (no sorts, asynchronous commits) must not
                # follow the connection back into the pool, to other statements.
                conn.exec_driver_sql("RESET ALL")
                conn.close()
            except Exception:  # noqa: BLE001 - closing a connection that is already broken
                conn.invalidate()

    def schema_ready(self) -> bool:
        """True once the migrations have created the items table."""
        with self.db.engine.connect() as conn:
            return inspect(conn).has_table(self.table.name, schema=self.table.schema)

    def _claim_statement(self, limit: int) -> Any:
        # Built once per batch size with bind parameters: building Core statements per call
        # costs more than the SQL itself.
        stmt = self._claim_statements.get(limit)
        if stmt is None:
            now = bindparam("now", type_=UTCDateTime())
            # ORDER BY status, id: with status fixed that is id order, the order of the index
            # (status, id), so the oldest due items come straight from it (see _single).
            due = (
                select(self.table.c.id)
                .where(self.table.c.status == ItemStatus.PENDING, self.table.c.available_at <= now)
                .order_by(self.table.c.status, self.table.c.id)
                .limit(limit)
            )
            if self.is_postgres:
                due = due.with_for_update(skip_locked=True)
            stmt = (
                update(self.table)
                .where(self.table.c.id.in_(due.scalar_subquery()))
                .values(
                    status=ItemStatus.PROCESSING,
                    claimed_by=bindparam("worker"),
                    claim_token=bindparam("token"),
                    lease_expires_at=bindparam("expires"),
                    attempts=self.table.c.attempts + 1,
                    updated_at=now,
                )
                .returning(*(self.table.c[name] for name in CLAIMED_COLUMNS))
            )
            self._claim_statements[limit] = stmt
        return stmt

    def claim_batch(self, *, worker: str, limit: int, lease_seconds: float) -> Claim | None:
        """Claim up to ``limit`` due pending items, oldest first; None when there are none."""
        token, expires, params = self._claim_params(worker, lease_seconds)
        with self._single(durable=False) as conn:
            rows = conn.execute(self._claim_statement(limit), params).all()
        return _claim_from_rows(rows, token, worker, expires)

    def _claim_params(self, worker: str, lease_seconds: float) -> tuple[str, datetime, dict[str, Any]]:
        now = self.now()
        token = secrets.token_hex(16)
        expires = now + timedelta(seconds=lease_seconds)
        return token, expires, {"now": now, "worker": worker[:100], "token": token, "expires": expires}

    def renew_lease(self, claim: Claim, lease_seconds: float) -> set[int]:
        """Extend the lease of the claim's items; the ids still held (others were taken over)."""
        expires = self.now() + timedelta(seconds=lease_seconds)
        stmt = (
            update(self.table)
            .where(self.table.c.claim_token == claim.token, self.table.c.status == ItemStatus.PROCESSING)
            .values(lease_expires_at=expires)
            .returning(self.table.c.id)
        )
        with self._single(durable=False) as conn:
            return {row.id for row in conn.execute(stmt)}

    def finish(self, claim: Claim, outcomes: Sequence[Outcome]) -> list[int]:
        """Write the outcomes, each fenced by the claim token; the ids whose write landed."""
        if not outcomes:
            return []
        now = self.now()
        if self.is_postgres:
            params = {"outcomes": _outcomes_json(outcomes, now), "token": claim.token, "now": now}
            with self._single() as conn:
                landed = {row.id for row in conn.execute(self._pg_finish, params)}
        else:
            with self._write() as conn:
                landed = self._finish_sqlite(conn, claim, outcomes, now)
        return [o.item_id for o in outcomes if o.item_id in landed]

    def finish_and_claim(
        self,
        claim: Claim,
        outcomes: Sequence[Outcome],
        *,
        limit: int,
        lease_seconds: float,
        worker: str | None = None,
    ) -> tuple[list[int], Claim | None]:
        """``finish(claim, outcomes)`` and ``claim_batch(...)`` in one transaction: the ids whose
        write landed, and the next claim (None when nothing was due). The finish is fenced exactly
        as in ``finish``; the claim follows the rules of ``claim_batch`` (``worker`` defaults to
        the finished claim's). PostgreSQL: one statement, so one round trip and one commit (which
        waits for the WAL flush, as every finish does); SQLite: one ``BEGIN IMMEDIATE``."""
        worker = claim.worker if worker is None else worker
        if not outcomes:
            return [], self.claim_batch(worker=worker, limit=limit, lease_seconds=lease_seconds)
        token, expires, params = self._claim_params(worker, lease_seconds)
        now = params["now"]
        if self.is_postgres:
            params.update(outcomes=_outcomes_json(outcomes, now), old_token=claim.token)
            stmt = self._finish_and_claim_statements.get(limit)
            if stmt is None:
                stmt = text(self._pg_finish_and_claim.replace("{limit}", str(int(limit))))
                self._finish_and_claim_statements[limit] = stmt
            with self._single() as conn:
                rows = conn.execute(stmt, params).all()
            landed = {row.id for row in rows if row.kind == "finished"}
            claimed = [row for row in rows if row.kind == "claimed"]
        else:
            with self._write() as conn:
                landed = self._finish_sqlite(conn, claim, outcomes, now)
                claimed = list(conn.execute(self._claim_statement(limit), params).all())
        return [o.item_id for o in outcomes if o.item_id in landed], _claim_from_rows(
            claimed, token, worker, expires
        )

    def release(self, claim: Claim, item_ids: Sequence[int] | None = None) -> list[int]:
        """Give back claimed items that were never started (all of the claim's, or ``item_ids``):
        pending again, due as before, the claim's attempt not counted. Fenced like ``finish``;
        the ids given back."""
        now = self.now()
        fence = [self.table.c.claim_token == claim.token, self.table.c.status == ItemStatus.PROCESSING]
        if item_ids is not None:
            if not item_ids:
                return []
            fence.append(self.table.c.id.in_(list(item_ids)))
        stmt = (
            update(self.table)
            .where(*fence)
            .values(
                status=ItemStatus.PENDING,
                attempts=self.table.c.attempts - 1,
                claimed_by=None,
                claim_token=None,
                lease_expires_at=None,
                updated_at=now,
            )
            .returning(self.table.c.id)
        )
        # Not durable: a release lost in a server crash leaves the items leased, and they come back
        # when the lease runs out (with the attempt counted), as after a worker crash.
        with self._single(durable=False) as conn:
            return sorted(row.id for row in conn.execute(stmt))

    def _finish_sqlite(
        self, conn: Connection, claim: Claim, outcomes: Sequence[Outcome], now: datetime
    ) -> set[int]:
        # The ids still ours: stable for the rest of this transaction, which holds the write lock
        # (BEGIN IMMEDIATE). Then one executemany per kind.
        held = set(
            conn.execute(
                select(self.table.c.id).where(
                    self.table.c.claim_token == claim.token, self.table.c.status == ItemStatus.PROCESSING
                )
            ).scalars()
        )
        finished = [o for o in outcomes if o.item_id in held]
        base = {"b_token": claim.token, "b_now": now}
        done_rows = [
            {
                **base,
                "b_id": o.item_id,
                "b_status": o.status,
                "b_error": None,
                "b_metadata": o.metadata,
                "b_title": o.title,
                "b_description": o.description,
            }
            for o in finished
            if o.status == ItemStatus.DONE
        ]
        other_rows = [
            {
                **base,
                "b_id": o.item_id,
                "b_status": o.status,
                "b_error": o.error,
                "b_available_at": o.retry_at or now,
            }
            for o in finished
            if o.status != ItemStatus.DONE
        ]
        if done_rows:
            conn.execute(self._finish_done, done_rows)
        if other_rows:
            conn.execute(self._finish_other, other_rows)
        return {o.item_id for o in finished}

    def requeue_expired(self, *, max_attempts: int) -> tuple[int, int]:
        """Give back items whose lease ran out: (requeued, failed for having no attempts left)."""
        now = self.now()
        expired = (self.table.c.status == ItemStatus.PROCESSING) & (self.table.c.lease_expires_at < now)
        released = {"claimed_by": None, "claim_token": None, "lease_expires_at": None, "updated_at": now}
        with self._write() as conn:
            failed = conn.execute(
                update(self.table)
                .where(expired, self.table.c.attempts >= max_attempts)
                .values(status=ItemStatus.FAILED, error=LEASE_EXPIRED_ERROR, **released)
            ).rowcount
            requeued = conn.execute(
                update(self.table)
                .where(expired)
                .values(status=ItemStatus.PENDING, available_at=now, error=LEASE_EXPIRED_ERROR, **released)
            ).rowcount
        return requeued, failed

    def seconds_until_due(self) -> float | None:
        """Seconds until the next retry becomes due or the next lease runs out; None if neither."""
        next_retry = (
            select(func.min(self.table.c.available_at))
            .where(self.table.c.status == ItemStatus.PENDING)
            .scalar_subquery()
        )
        next_expiry = (
            select(func.min(self.table.c.lease_expires_at))
            .where(self.table.c.status == ItemStatus.PROCESSING)
            .scalar_subquery()
        )
        with self.db.engine.connect() as conn:
            row = conn.execute(select(next_retry.label("retry"), next_expiry.label("expiry"))).one()
        moments = [m for m in (row.retry, row.expiry) if m is not None]
        if not moments:
            return None
        return max(0.0, (min(moments) - self.now()).total_seconds())
