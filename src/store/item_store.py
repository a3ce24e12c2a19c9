"""A queue on any table: claim a batch with a lease, finish it fenced by the claim token.

    store = ItemStore(Database(url))              # the items table; ItemStore(db, table=Link) for
                                                  # any model with store.models.QueueItemMixin
    claim = store.claim_batch(worker="host:123:example_worker-0", limit=10, lease_seconds=60)
    landed = store.finish(claim, [Outcome.done(item.id, {"status_code": 200}) for item in claim.items])
    # or, going straight on: finish this batch and claim the next one in one transaction
    landed, claim = store.finish_and_claim(claim, outcomes, limit=10, lease_seconds=60)

A queue table is any table with the queue's columns (``QUEUE_COLUMNS``, from the mixin); its other
columns are its own. A claim reads the whole row (``ClaimedItem``: every column, typed); a done
outcome may set any of the table's own columns (None keeps a value), in the same fenced write as
the status.

Rules that keep work from being lost or done twice:
- A claim sets ``status='processing'``, ``claimed_by``, one random ``claim_token`` for the batch,
  ``lease_expires_at`` and ``attempts + 1``. PostgreSQL: one statement with
  ``FOR UPDATE SKIP LOCKED``; SQLite: the same statement in a ``BEGIN IMMEDIATE`` transaction.
- Every later write about a claimed item (finish, renew) matches ``id``, ``claim_token`` and
  ``status='processing'``: a worker whose lease ran out and was taken over writes nothing.
- ``finish_and_claim`` is ``finish`` and ``claim_batch`` in one transaction (PostgreSQL: one
  statement, one commit; SQLite: one ``BEGIN IMMEDIATE``), with the same fencing and lease rules;
  ``release`` gives a claimed batch that was never started back as it was (attempt not counted).
- Leases are timed by the database's clock (PostgreSQL's ``now()``, SQLite's ``'now'``), read in
  the statements themselves: hosts whose clocks disagree agree on when a lease ends, so a host
  whose clock runs ahead reclaims nothing early. (``lease_clock=`` replaces it: tests step time.)
- ``requeue_expired`` gives back the items of workers that died or stalled, charging the crash to
  the item that caused it only: workers process a claim in id order and write outcomes as they go,
  so of an expired claim's rows the first may have been in progress and the others were never
  started (or their result was not written yet). The others get their attempt back. The first
  is charged only when it was run on its own terms (a *suspect*: an item that came back from an
  expired lease, which a worker runs with every result before it written, and its own written at
  once); otherwise it gets its attempt back too and becomes a suspect. A suspect out of attempts
  is ``failed`` with ``WORKER_DIED_ERROR``: an item that kills its worker cannot kill workers
  forever, nor take the items claimed with it along.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Dialect,
    Engine,
    Table,
    bindparam,
    column,
    func,
    inspect,
    literal_column,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Interval, String, TypeDecorator, TypeEngine

from store.db import Database
from store.models import Item, ItemStatus, UTCDateTime

# The queue's bookkeeping (store.models.QueueItemMixin): read by a claim, written only by the store.
QUEUE_COLUMNS = frozenset(
    {"id", "status", "attempts", "error", "available_at", "claimed_by", "claim_token"}
    | {"lease_expires_at", "created_at", "updated_at"}
)
ITEMS: Table = Item.__table__  # type: ignore[assignment]  # declared as FromClause; it is a Table
ITEMS_OWNER_COLUMNS = frozenset({"user_id"})
items = ITEMS  # the name this module used before tables became a parameter
# The error of an item whose worker died (or stalled past its lease) while processing it.
WORKER_DIED_ERROR = (
    "worker died while processing this item: its lease expired (the process was killed, crashed, "
    "ran out of memory, or stalled)"
)
# The error of an item given back from an expired lease without being charged for it.
LEASE_EXPIRED_ERROR = (
    "lease expired: the worker holding this item died or stalled before its result was written; "
    "not counted as an attempt, it runs on its own next"
)
SUSPECT_ERRORS = frozenset({WORKER_DIED_ERROR, LEASE_EXPIRED_ERROR})


def utcnow() -> datetime:
    return datetime.now(UTC)


def notify_channel(table: Table) -> str:
    """The PostgreSQL channel a table's new work is announced on (``items_pending`` for items)."""
    return f"{table.name}_pending"


def _backend_name(backend: str | Connection | Engine | Dialect) -> str:
    if isinstance(backend, str):
        return backend.split("+", 1)[0]
    if isinstance(backend, Connection | Engine):
        return backend.dialect.name
    return backend.name


def notify_trigger_sql(table_name: str, backend: str | Connection | Engine | Dialect) -> list[str]:
    """The DDL that announces new work on ``<table>_pending`` (as migration 0002 does for items),
    for the migration of a table of your own: ``notify_trigger_sql("links", op.get_bind())``.
    PostgreSQL only; on SQLite (workers watch ``PRAGMA data_version`` there) the list is empty.
    ``backend``: the migration's bind, an engine, a dialect or its name. Without the trigger an
    idle worker finds new rows at its next poll."""
    if _backend_name(backend) != "postgresql":
        return []
    function = f"{table_name}_notify_pending"
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{table_name}_pending', ''); RETURN NULL; END $$",
        f"CREATE TRIGGER {function} AFTER INSERT OR UPDATE OF status ON {table_name} "
        f"FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION {function}()",
    ]


def drop_notify_trigger_sql(table_name: str, backend: str | Connection | Engine | Dialect) -> list[str]:
    """The DDL that undoes ``notify_trigger_sql`` (for ``downgrade()``); empty on SQLite."""
    if _backend_name(backend) != "postgresql":
        return []
    function = f"{table_name}_notify_pending"
    return [f"DROP TRIGGER IF EXISTS {function} ON {table_name}", f"DROP FUNCTION IF EXISTS {function}()"]


class ClaimedItem:
    """One claimed row: every column of its table, typed, as an attribute (``item.title``,
    ``item.url``) or by name (``item["url"]``); ``attempts`` counts this claim.

    ``ClaimedItem({"id": 1, "title": "x", "metadata": {}, "attempts": 1})`` makes one by hand
    (for a unit test of ``process_item``)."""

    __slots__ = ("_row",)

    def __init__(self, row: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_row", MappingProxyType(dict(row)))

    @classmethod
    def _of(cls, row: dict[str, Any]) -> ClaimedItem:
        """One of a dict no one else holds (the store's): no copy."""
        item = cls.__new__(cls)
        object.__setattr__(item, "_row", MappingProxyType(row))
        return item

    @property
    def id(self) -> int:
        return int(self._row["id"])

    @property
    def attempts(self) -> int:
        return int(self._row.get("attempts", 0))

    @property
    def row(self) -> Mapping[str, Any]:
        """Every column by name (read-only)."""
        return self._row

    def __getattr__(self, name: str) -> Any:
        try:
            return self._row[name]
        except KeyError:
            raise AttributeError(
                f"the claimed row has no column {name!r} (columns: {', '.join(self._row)})"
            ) from None

    def __getitem__(self, name: str) -> Any:
        return self._row[name]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a claimed item is read-only: return its changes in an ItemResult")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClaimedItem) and dict(self._row) == dict(other._row)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ClaimedItem({dict(self._row)!r})"


@dataclass(frozen=True)
class Claim:
    token: str
    worker: str
    items: list[ClaimedItem]
    lease_expires_at: datetime
    # Items back from an expired lease: run each on its own terms (results before it written
    # first, its own at once), so a crash on one is charged to it (see requeue_expired).
    suspects: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Outcome:
    """What became of one item: done (with the columns it sets; None keeps a value), retry
    later, or failed for good."""

    item_id: int
    status: str
    values: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    retry_at: datetime | None = None

    @classmethod
    def done(
        cls,
        item_id: int,
        metadata: dict[str, Any] | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Outcome:
        given = {"metadata": metadata, "title": title, "description": description, **(values or {})}
        return cls(item_id, ItemStatus.DONE, values={k: v for k, v in given.items() if v is not None})

    @classmethod
    def retry(cls, item_id: int, error: str, retry_at: datetime) -> Outcome:
        return cls(item_id, ItemStatus.PENDING, error=error, retry_at=retry_at)

    @classmethod
    def failed(cls, item_id: int, error: str) -> Outcome:
        return cls(item_id, ItemStatus.FAILED, error=error)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()  # bytea's text input
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _is_json(type_: TypeEngine[Any]) -> bool:
    impl = type_.impl_instance if isinstance(type_, TypeDecorator) else type_  # type: ignore[attr-defined]
    return isinstance(impl, JSON)


def _bind_type(col: Column[Any]) -> TypeEngine[Any]:
    # None keeps a value: for a JSON column that means SQL NULL, not the JSON text 'null'.
    return JSON(none_as_null=True) if isinstance(col.type, JSON) else col.type


@dataclass(frozen=True)
class _ColumnRule:
    """What a value for one of a table's own columns must be (worked out once per table)."""

    is_json: bool
    dict_only: bool
    python_type: type | None
    length: int | None
    processor: Callable[[Any], Any] | None
    decorator: TypeDecorator[Any] | None

    @classmethod
    def of(cls, col: Column[Any], dialect: Dialect, *, dict_only: bool) -> _ColumnRule:
        try:
            python_type: type | None = col.type.python_type
        except NotImplementedError:
            python_type = None
        return cls(
            is_json=_is_json(col.type),
            dict_only=dict_only,
            python_type=python_type,
            length=getattr(col.type, "length", None) if isinstance(col.type, String) else None,
            processor=col.type.bind_processor(dialect),
            decorator=col.type if isinstance(col.type, TypeDecorator) else None,
        )


class ItemStore:
    """Queue operations on the items table (or ``table``: any table or model with the columns of
    ``store.models.QueueItemMixin``), through ``store.db.Database``."""

    def __init__(
        self,
        db: Database,
        *,
        table: Table | type[Any] | None = None,
        now: Callable[[], datetime] = utcnow,
        lease_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        # This host's wall clock: nothing about leases reads it (hosts' clocks differ).
        self.now = now
        # What leases are timed by: None, the database's clock (one clock for every host), read
        # in the statements themselves; else a clock of our own, bound (a test stepping time).
        self.lease_clock = lease_clock
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
        self.dialect = db.engine.dialect
        self.notify_channel = notify_channel(self.table)
        self._column_names = tuple(c.name for c in self.table.c)
        self._now_expr, self._expires_expr, now_sql, expires_sql = self._clock_sql()
        # The table's own columns: what a done outcome may set (on the items table, not whose
        # item it is: the API shows each user only their own items).
        fixed = ITEMS_OWNER_COLUMNS if self.table is ITEMS else frozenset()
        self.own_columns: dict[str, Column[Any]] = {
            c.key: c for c in self.table.c if c.key not in QUEUE_COLUMNS and c.key not in fixed
        }
        self._own_params = {key: f"v{n}" for n, key in enumerate(self.own_columns)}
        self._rules = {
            key: _ColumnRule.of(col, self.dialect, dict_only=self.table is ITEMS and key == "metadata")
            for key, col in self.own_columns.items()
        }
        self._finish_done = self._finish_statement(
            **{
                key: func.coalesce(bindparam(self._own_params[key], type_=_bind_type(col)), col)
                for key, col in self.own_columns.items()
            }
        )
        self._finish_other = self._finish_statement(
            available_at=bindparam("b_available_at", type_=UTCDateTime())
        )
        quote = self.dialect.identifier_preparer.quote
        name = self.dialect.identifier_preparer.format_table(self.table)
        self._quoted_table = name
        if self.is_postgres:
            own_sets = "".join(
                f"{quote(col.name)} = COALESCE(v.{self._own_params[key]}, i.{quote(col.name)}), "
                for key, col in self.own_columns.items()
            )
            own_defs = "".join(
                f", {self._own_params[key]} {col.type.compile(dialect=self.dialect)}"
                for key, col in self.own_columns.items()
            )
            finish = (
                f"UPDATE {name} AS i SET status = v.status, {own_sets}"  # noqa: S608 - names from the model, values bound
                "error = v.error, available_at = COALESCE(v.available_at, i.available_at), "
                "claimed_by = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = {now} "
                "FROM json_to_recordset(CAST(:outcomes AS json)) AS v(id bigint, status text, "
                f"error text, available_at timestamptz{own_defs}) "
                "WHERE i.id = v.id AND i.claim_token = :{token} AND i.status = 'processing' "
                "RETURNING i.id"
            )
            finish = finish.replace("{now}", now_sql)
            self._pg_finish = text(finish.replace("{token}", "token"))
            # Finish and claim the next batch in one statement (one round trip, one commit). The
            # two parts touch disjoint rows (ours are 'processing', the claim takes 'pending'
            # ones) and both see the statement's snapshot, so an item this finish sends back for
            # a retry is not claimed again by it. One row per claimed item (each with the ids
            # the finish landed), or one row of NULLs and those ids when nothing was due. The
            # batch size is written into the SQL (one statement per size, like the claim
            # statement): a LIMIT parameter would leave the plan of a prepared statement
            # guessing how many rows it takes.
            returning = ", ".join(quote(c.name) for c in self.table.c)
            self._pg_finish_and_claim = (
                f"WITH fin AS ({finish.replace('{token}', 'old_token')}), "  # noqa: S608 - names from the model
                f"claimed AS (UPDATE {name} SET status = 'processing', claimed_by = :worker, "
                f"claim_token = :token, lease_expires_at = {expires_sql}, attempts = attempts + 1, "
                f"updated_at = {now_sql} WHERE id IN (SELECT id FROM {name} WHERE status = 'pending' "
                f"AND available_at <= {now_sql} ORDER BY status, id LIMIT {{limit}} FOR UPDATE SKIP LOCKED) "
                f"RETURNING {returning}) "
                "SELECT f.ids AS finished_ids, c.* FROM (SELECT array_agg(id) AS ids FROM fin) AS f "
                "LEFT JOIN claimed AS c ON true"
            )
        self._claim_statements: dict[int, Any] = {}
        self._finish_and_claim_statements: dict[int, Any] = {}
        self._held: dict[bool, Connection] = {}  # PostgreSQL autocommit connections, by durability

    def _clock_sql(self) -> tuple[Any, Any, str, str]:
        """The queue's now and lease end: (Core expression of now, of now + ``:lease``, the same
        two as PostgreSQL text). The database's clock: ``now()`` on PostgreSQL (the statement's,
        in autocommit), SQLite's ``strftime('now')`` in the text format SQLAlchemy stores there;
        with a ``lease_clock`` of our own, the bound values ``:now`` and ``:expires``."""
        if self.lease_clock is not None:
            return (
                bindparam("now", type_=UTCDateTime()),
                bindparam("expires", type_=UTCDateTime()),
                ":now",
                ":expires",
            )
        if self.is_postgres:
            now = type_coerce(func.now(), UTCDateTime())
            expires = type_coerce(func.now() + bindparam("lease", type_=Interval()), UTCDateTime())
            return now, expires, "now()", "now() + CAST(:lease AS interval)"
        # SQLite's time in milliseconds, written as SQLAlchemy stores datetimes there (microseconds)
        fmt: Any = literal_column("'%Y-%m-%d %H:%M:%f'")
        micro: Any = literal_column("'000'")
        now = type_coerce(func.strftime(fmt, literal_column("'now'")).op("||")(micro), UTCDateTime())
        modifier = bindparam("lease", type_=String())
        expires = type_coerce(
            func.strftime(fmt, literal_column("'now'"), modifier).op("||")(micro), UTCDateTime()
        )
        return now, expires, "", ""

    def _times(self, lease_seconds: float | None = None) -> dict[str, Any]:
        """The bind values of the clock expressions (:meth:`_clock_sql`)."""
        if self.lease_clock is not None:
            now = self.lease_clock()
            out: dict[str, Any] = {"now": now}
            if lease_seconds is not None:
                out["expires"] = now + timedelta(seconds=lease_seconds)
            return out
        if lease_seconds is None:
            return {}
        if self.is_postgres:
            return {"lease": timedelta(seconds=lease_seconds)}
        return {"lease": f"{lease_seconds:+.6f} seconds"}  # SQLite's date modifier

    def _finish_statement(self, **values: Any) -> Any:
        """UPDATE one claimed item, fenced: only while it is still ours (same token, still processing)."""
        table = self.table
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
                updated_at=self._now_expr,
                **values,
            )
        )

    # ----- what a done outcome may write ----------------------------------------------------
    def check_values(self, values: Mapping[str, Any]) -> None:
        """Raise (ValueError, TypeError) naming what is wrong when ``values`` (column name ->
        value) cannot be written to this table by a done outcome: a column it lacks, a queue
        column, a value of the wrong type, too long, or one the database could not take."""
        table = self.table.name
        for name, value in values.items():
            if name in QUEUE_COLUMNS:
                raise ValueError(
                    f"{name!r} is a queue column of {table!r}: the worker writes it, a result cannot "
                    "(raise to retry, PermanentError to fail)"
                )
            col = self.own_columns.get(name)
            if col is None and name in self.table.c:
                raise ValueError(
                    f"{name!r} of {table!r} is not for a worker to change (it may set "
                    f"{', '.join(self.own_columns)})"
                )
            if col is None:
                raise ValueError(
                    f"table {table!r} has no column {name!r} (its own columns: "
                    f"{', '.join(self.own_columns) or 'none'})"
                )
            if value is None:
                continue
            self._check_value(col, value)

    def _check_value(self, col: Column[Any], value: Any) -> None:
        rule = self._rules[col.key]
        if rule.is_json:
            if rule.dict_only and not isinstance(value, dict):
                raise TypeError(f"ItemResult.{col.name} must be a dict, got {value!r:.200}")
            json.dumps(value)  # TypeError naming the value that JSON cannot hold
            return
        expected = rule.python_type
        if expected is not None:
            if expected is float:
                ok = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
            elif expected is int:
                ok = isinstance(value, int) and not isinstance(value, bool)
            else:
                ok = isinstance(value, expected)
            if not ok:
                kind = "text" if expected is str else expected.__name__
                raise TypeError(f"ItemResult.{col.name} must be {kind}, got {value!r:.200}")
        if rule.length is not None and len(value) > rule.length:
            raise ValueError(f"{col.name} of {len(value)} characters; at most {rule.length} fit")
        processed = rule.processor(value) if rule.processor is not None else value  # a naive datetime
        if self.is_postgres and not isinstance(processed, str | int | float):
            json.dumps(processed, default=_json_default)

    def _pg_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in values.items():
            decorator = self._rules[name].decorator
            out[self._own_params[name]] = (
                value if decorator is None else decorator.process_bind_param(value, self.dialect)
            )
        return out

    def _outcomes_json(self, outcomes: Sequence[Outcome], now: datetime) -> str:
        return json.dumps(
            [
                {"id": o.item_id, "status": o.status, **self._pg_values(o.values)}
                if o.status == ItemStatus.DONE
                else {
                    "id": o.item_id,
                    "status": o.status,
                    "error": o.error,
                    "available_at": (o.retry_at or now).isoformat(),
                }
                for o in outcomes
            ],
            default=_json_default,
        )

    def _claim_from_rows(
        self, rows: Sequence[Any], token: str, worker: str, *, skip: int = 0
    ) -> Claim | None:
        """The claim of the rows of a ``RETURNING`` of every column in table order (after
        ``skip`` leading columns of its own)."""
        names = self._column_names
        claimed = []
        for row in rows:
            values = dict(zip(names, row[skip:] if skip else row, strict=True))
            if values["id"] is None:
                continue  # finish_and_claim's row when nothing was claimed
            claimed.append(ClaimedItem._of(values))
        if not claimed:
            return None
        claimed.sort(key=lambda item: item.id)
        suspects = frozenset(item.id for item in claimed if item.row.get("error") in SUSPECT_ERRORS)
        expires = claimed[0].row["lease_expires_at"]  # by the clock leases are timed by
        return Claim(token=token, worker=worker, items=claimed, lease_expires_at=expires, suspects=suspects)

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
            now = self._now_expr
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
                    lease_expires_at=self._expires_expr,
                    attempts=self.table.c.attempts + 1,
                    updated_at=now,
                )
                .returning(*self.table.c)
            )
            self._claim_statements[limit] = stmt
        return stmt

    def claim_batch(self, *, worker: str, limit: int, lease_seconds: float) -> Claim | None:
        """Claim up to ``limit`` due pending items, oldest first; None when there are none."""
        token, params = self._claim_params(worker, lease_seconds)
        with self._single(durable=False) as conn:
            rows = conn.execute(self._claim_statement(limit), params).all()
        return self._claim_from_rows(rows, token, worker)

    def _claim_params(self, worker: str, lease_seconds: float) -> tuple[str, dict[str, Any]]:
        token = secrets.token_hex(16)
        return token, {**self._times(lease_seconds), "worker": worker[:100], "token": token}

    def renew_lease(self, claim: Claim, lease_seconds: float) -> set[int]:
        """Extend the lease of the claim's items; the ids still held (others were taken over)."""
        stmt = (
            update(self.table)
            .where(self.table.c.claim_token == claim.token, self.table.c.status == ItemStatus.PROCESSING)
            .values(lease_expires_at=self._expires_expr)
            .returning(self.table.c.id)
        )
        with self._single(durable=False) as conn:
            return {row.id for row in conn.execute(stmt, self._times(lease_seconds))}

    def finish(self, claim: Claim, outcomes: Sequence[Outcome]) -> list[int]:
        """Write the outcomes, each fenced by the claim token; the ids whose write landed."""
        if not outcomes:
            return []
        now = self.now()
        if self.is_postgres:
            params = {"outcomes": self._outcomes_json(outcomes, now), "token": claim.token, **self._times()}
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
        token, params = self._claim_params(worker, lease_seconds)
        now = self.now()
        if self.is_postgres:
            params.update(outcomes=self._outcomes_json(outcomes, now), old_token=claim.token)
            stmt = self._finish_and_claim_statements.get(limit)
            if stmt is None:
                stmt = text(self._pg_finish_and_claim.replace("{limit}", str(int(limit)))).columns(
                    column("finished_ids", ARRAY(BigInteger())), *self.table.c
                )
                self._finish_and_claim_statements[limit] = stmt
            with self._single() as conn:
                claimed = conn.execute(stmt, params).all()
            landed = set(claimed[0][0] or ()) if claimed else set()
        else:
            with self._write() as conn:
                landed = self._finish_sqlite(conn, claim, outcomes, now)
                claimed = list(conn.execute(self._claim_statement(limit), params).all())
        return [o.item_id for o in outcomes if o.item_id in landed], self._claim_from_rows(
            claimed, token, worker, skip=1 if self.is_postgres else 0
        )

    def release(self, claim: Claim, item_ids: Sequence[int] | None = None) -> list[int]:
        """Give back claimed items that were never started (all of the claim's, or ``item_ids``):
        pending again, due as before, the claim's attempt not counted. Fenced like ``finish``;
        the ids given back."""
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
                updated_at=self._now_expr,
            )
            .returning(self.table.c.id)
        )
        # Not durable: a release lost in a server crash leaves the items leased, and they come back
        # when the lease runs out (with the attempt counted), as after a worker crash.
        with self._single(durable=False) as conn:
            return sorted(row.id for row in conn.execute(stmt, self._times()))

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
        base = {"b_token": claim.token, **self._times()}
        nothing = dict.fromkeys(self._own_params.values())
        done_rows = [
            {
                **base,
                **nothing,
                **{self._own_params[k]: v for k, v in o.values.items()},
                "b_id": o.item_id,
                "b_status": o.status,
                "b_error": None,
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
        """Give back items whose lease ran out: (requeued, failed for having no attempts left).

        Per expired claim (rows in id order, the order a worker processes them): the first is
        charged when it is a suspect (it ran on its own terms, so the worker died on it): error
        ``WORKER_DIED_ERROR``, ``failed`` once ``max_attempts`` are used. Every other row, and
        the first when it is no suspect, gets its attempt back and becomes a suspect
        (``LEASE_EXPIRED_ERROR``)."""
        now = self._now_expr
        times = self._times()
        t = self.table
        expired = select(t.c.id, t.c.claim_token, t.c.attempts, t.c.error).where(
            t.c.status == ItemStatus.PROCESSING, t.c.lease_expires_at < now
        )
        if self.is_postgres:
            # Two workers requeueing at once: the second waits, then finds these rows gone.
            expired = expired.order_by(t.c.id).with_for_update()
        else:
            expired = expired.order_by(t.c.id)
        fence = (t.c.id == bindparam("b_id"), t.c.claim_token == bindparam("b_token"))
        give_back = (
            update(t)
            .where(*fence, t.c.status == ItemStatus.PROCESSING)
            .values(
                status=bindparam("b_status"),
                error=bindparam("b_error"),
                attempts=bindparam("b_attempts"),
                available_at=now,
                claimed_by=None,
                claim_token=None,
                lease_expires_at=None,
                updated_at=now,
            )
        )
        with self._write() as conn:
            rows = conn.execute(expired, times).all()
            seen: set[str | None] = set()
            changes = []
            for row in rows:
                first = row.claim_token not in seen
                seen.add(row.claim_token)
                base = {**times, "b_id": row.id, "b_token": row.claim_token}
                if first and row.error in SUSPECT_ERRORS:  # it died on this one
                    status = ItemStatus.FAILED if row.attempts >= max_attempts else ItemStatus.PENDING
                    changes.append(
                        {**base, "b_status": status, "b_error": WORKER_DIED_ERROR, "b_attempts": row.attempts}
                    )
                else:  # never started, or not to blame yet: the attempt is given back
                    changes.append(
                        {
                            **base,
                            "b_status": ItemStatus.PENDING,
                            "b_error": LEASE_EXPIRED_ERROR,
                            "b_attempts": max(0, row.attempts - 1),
                        }
                    )
            if changes:
                conn.execute(give_back, changes)
        failed = sum(change["b_status"] == ItemStatus.FAILED for change in changes)
        return len(changes) - failed, failed

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
        query = select(next_retry.label("retry"), next_expiry.label("expiry"), self._now_expr.label("now"))
        with self.db.engine.connect() as conn:
            row = conn.execute(query, self._times()).one()
        moments = [m for m in (row.retry, row.expiry) if m is not None]
        if not moments:
            return None
        return max(0.0, (min(moments) - row.now).total_seconds())
