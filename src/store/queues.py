"""Every queue of the stack, and how many of its rows are in each status: one count for all views.

    names = queue_tables(conn)            # ["items", "links", ...]: items first, then by name
    for queue in count_queues(conn):      # QueueCounts(table="items", counts={...}, total=...)
        ...

A queue is a table with ``store.models.QueueItemMixin``'s columns. Two sources, so a queue is in
view wherever it is looked at from: the models declared with the mixin in this process
(``registered_queues()``, filled by the mixin's ``__init_subclass__``), and the tables of the
database that have the queue's columns (a team's ``links`` table is counted by ``ctl status`` and
the API, which never import the team's module). A registered table not created yet is left out.

``ctl status``, ``GET /api/v1/admin/queue`` and the workers' ``queue_items`` gauge all count here:
one grouped count per table over ``ix_<table>_status_id`` (an index-only walk on both backends).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Column, Connection, MetaData, String, Table, func, inspect, select

from store.models import ItemStatus, registered_queues

# The columns that make a table a queue (the mixin's bookkeeping; ``id`` and ``status`` besides).
QUEUE_COLUMNS = frozenset({"id", "status", "attempts", "available_at", "claim_token", "lease_expires_at"})
FIRST = "items"  # the API's own queue leads every listing


@dataclass(frozen=True)
class QueueCounts:
    """One queue's rows by status (every status present, 0 when none) and their total."""

    table: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        """done + failed: its change over time is the throughput."""
        return self.counts[ItemStatus.DONE] + self.counts[ItemStatus.FAILED]


def _order(name: str) -> tuple[bool, str]:
    return (name != FIRST, name)


def queue_tables(conn: Connection) -> list[str]:
    """The queue tables that exist in ``conn``'s database: registered models and any table with
    the queue's columns, the items table first."""
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    found = {name for name in registered_queues() if name in existing}
    for name in existing - found:
        columns = {column["name"] for column in inspector.get_columns(name)}
        if QUEUE_COLUMNS <= columns:
            found.add(name)
    return sorted(found, key=_order)


def _status_column(table: str) -> Table:
    return Table(table, MetaData(), Column("status", String))


def count_queue(conn: Connection, table: str) -> QueueCounts:
    """``table``'s rows by status. A status outside the four is counted in the total only when
    it is one of them: a queue's statuses are the mixin's."""
    status = _status_column(table).c.status
    rows = conn.execute(select(status, func.count()).group_by(status)).all()
    counts = dict.fromkeys(ItemStatus.ALL, 0)
    for state, number in rows:
        if state in counts:
            counts[state] = int(number)
    return QueueCounts(table=table, counts=counts)


def count_queues(conn: Connection, tables: list[str] | None = None) -> list[QueueCounts]:
    """Every queue's counts (``tables``: these, e.g. a list from ``queue_tables`` kept a while)."""
    return [count_queue(conn, table) for table in (queue_tables(conn) if tables is None else tables)]
