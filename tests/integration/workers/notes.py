"""A test-only table of its own and a worker that changes titles on it: the item machinery on any
table with the queue's columns (``QueueItemMixin``). The table is made by ``create_all`` (no
migration: it exists only in tests).

    python -m tests.integration.workers.notes --worker-id 0     # TitleWorker on DATABASE_URL
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

from sqlalchemy import JSON, String, func, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.db import Database
from store.item_store import notify_trigger_sql
from store.models import ItemStatus, QueueItemMixin
from workers.item_worker import ClaimedItem, ItemResult, ItemWorker

SUFFIX = " [titled by attempt {attempt}]"


class NotesBase(DeclarativeBase):
    pass


class Note(QueueItemMixin, NotesBase):
    __tablename__ = "notes"

    # The team's own columns (the mixin brings only the queue's).
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(50), default="tests")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class TitleWorker(ItemWorker):
    """Appends which attempt titled the note to its title; metadata ``"fail": true`` raises."""

    worker_name = "title_worker"
    model = Note

    def process_item(self, item: ClaimedItem) -> ItemResult:
        if item.metadata.get("fail"):
            raise RuntimeError("this note asks to fail")
        if self.settings.WORKER_SIMULATED_WORK > 0:
            time.sleep(self.settings.WORKER_SIMULATED_WORK)
        return ItemResult(
            title=item.title + SUFFIX.format(attempt=item.attempts),
            metadata={**item.metadata, "titled_by": self.label},
        )


class NotesDatabase:
    """A fresh database with the notes table (and, on PostgreSQL, its wake-up trigger)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.db = Database(url, pool_size=2, max_overflow=2)
        NotesBase.metadata.create_all(self.db.engine)
        if not self.db.is_sqlite:
            with self.db.engine.begin() as conn:
                for statement in notify_trigger_sql("notes", conn):
                    conn.execute(text(statement))

    def add_notes(self, count: int, *, metadata: dict[str, Any] | None = None) -> list[int]:
        rows = [{"title": f"note {i}", "metadata_": dict(metadata or {})} for i in range(count)]
        with self.db.session() as session:
            return list(session.execute(insert(Note).returning(Note.id), rows).scalars().all())

    def counts(self) -> dict[str, int]:
        with self.db.session() as session:
            return dict(session.execute(select(Note.status, func.count()).group_by(Note.status)).all())

    def held_by(self, pid: int) -> int:
        with self.db.session() as session:
            return session.execute(
                select(func.count()).where(
                    Note.status == ItemStatus.PROCESSING, Note.claimed_by.like(f"%:{pid}:%")
                )
            ).scalar_one()

    def notes(self) -> list[Note]:
        with self.db.session() as session:
            return list(session.execute(select(Note).order_by(Note.id)).scalars())

    def close(self) -> None:
        self.db.dispose()


def suffix_counts(notes: list[Note]) -> Counter[int]:
    """How many times each note's title was changed (the suffix is appended once per write)."""
    return Counter({note.id: note.title.count(" [titled by attempt ") for note in notes})


if __name__ == "__main__":
    sys.exit(TitleWorker.main())
