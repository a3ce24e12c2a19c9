"""The audit log: who did which admin action, when, and how it went (the ``audit_log`` table).

    record(engine, Actor.of_user(admin.user_id, admin.email), "service.restart", "worker:worker_0",
           outcome=FAILED, error="FATAL: exited too quickly", keep=Retention(days=90, rows=100_000))
    page = list_entries(conn, limit=50, before=None, action="queue.requeue_all")

A row is written in its own short transaction, after the action: its outcome is known then, and a
failed write of the log never undoes (or hides) what was done; the caller logs it. Bounded: each
``record`` also deletes the rows older than ``keep.days`` and those beyond the newest ``keep.rows``
(two indexed deletes, nothing to do most of the time), so the table never outgrows the setting.
Texts are cut to their column's size, so no input can make the write fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select

from store.models import AuditEntry, utcnow

OK = "ok"
FAILED = "failed"
OUTCOMES = (OK, FAILED)
VIA_API = "api"
VIA_CTL = "ctl"
MAX_LIST_LIMIT = 1000  # one page of the list, whoever asks (API, ctl)
ERROR_CHARS = 2000
TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]  # declared as FromClause; it is a Table


@dataclass(frozen=True)
class Actor:
    """Who acted: an account (its id and email) through the API or ``ctl --as``, or the OS user
    running ``ctl`` (no account: ``user_id`` None, ``name`` "os:USER@HOST")."""

    name: str
    user_id: int | None = None
    via: str = VIA_API

    @classmethod
    def of_user(cls, user_id: int, email: str, *, via: str = VIA_API) -> Actor:
        return cls(name=email, user_id=user_id, via=via)


@dataclass(frozen=True)
class Retention:
    """How much of the log is kept: ``days`` of it, and at most ``rows`` rows."""

    days: int
    rows: int


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    user_id: int | None
    actor: str
    via: str
    action: str
    target: str
    host: str | None
    outcome: str
    error: str | None
    detail: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


@dataclass(frozen=True)
class EntryPage:
    entries: list[Entry]
    next_cursor: int | None  # pass as ``before`` for the next (older) page; None: no more


def _cut(text: str | None, size: int) -> str | None:
    return None if text is None else text[:size]


def record(
    engine: Engine,
    actor: Actor,
    action: str,
    target: str,
    *,
    outcome: str,
    keep: Retention,
    host: str | None = None,
    error: str | None = None,
    detail: str | None = None,
    now: datetime | None = None,
) -> int:
    """Write one entry (and prune what ``keep`` no longer keeps); its id."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
    at = now or utcnow()
    values = {
        "at": at,
        "user_id": actor.user_id,
        "actor": _cut(actor.name, 320),
        "via": _cut(actor.via, 16),
        "action": _cut(action, 64),
        "target": _cut(target, 200),
        "host": _cut(host, 200),
        "outcome": outcome,
        "error": _cut(error, ERROR_CHARS),
        "detail": _cut(detail, 500),
    }
    with engine.begin() as conn:
        new_id = int(conn.execute(insert(TABLE).values(**values).returning(TABLE.c.id)).scalar_one())
        prune(conn, keep, now=at, newest_id=new_id)
    return new_id


def prune(conn: Connection, keep: Retention, *, now: datetime, newest_id: int | None = None) -> int:
    """Delete entries older than ``keep.days`` and beyond the newest ``keep.rows``; how many.
    Ids only grow, so "the newest N" is ``id > newest_id - N`` (an index range, no count)."""
    deleted = conn.execute(delete(TABLE).where(TABLE.c.at < now - timedelta(days=keep.days))).rowcount
    if newest_id is None:
        newest_id = conn.execute(select(func.max(TABLE.c.id))).scalar()
    if newest_id is not None and newest_id > keep.rows:
        deleted += conn.execute(delete(TABLE).where(TABLE.c.id <= newest_id - keep.rows)).rowcount
    return int(deleted or 0)


def list_entries(
    conn: Connection,
    *,
    limit: int,
    before: int | None = None,
    action: str | None = None,
    actor: str | None = None,
    outcome: str | None = None,
) -> EntryPage:
    """Entries newest first, at most ``limit`` (1 to MAX_LIST_LIMIT), older than the cursor
    ``before`` when given, filtered by exact ``action``, ``actor`` and ``outcome``."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIST_LIMIT}")
    query = select(TABLE).order_by(TABLE.c.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(TABLE.c.id < before)
    for column, wanted in (("action", action), ("actor", actor), ("outcome", outcome)):
        if wanted is not None:
            query = query.where(TABLE.c[column] == wanted)
    rows = conn.execute(query).all()
    entries = [Entry(**row._mapping) for row in rows[:limit]]
    return EntryPage(entries=entries, next_cursor=entries[-1].id if len(rows) > limit else None)
