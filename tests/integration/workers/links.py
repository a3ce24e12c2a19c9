"""A team's table of its own with nothing of the items table: ``links`` (a URL in, a status code
and a time out), and workers on it. Made by ``create_all`` (it exists only in tests).

    python -m tests.integration.workers.links --worker-id 0     # LinkStamper
    LINKS_PROGRAM=killer python -m tests.integration.workers.links  # SIGKILLs itself on "kill"
    LINKS_PROGRAM=lengths python -m tests.integration.workers.links # another program, same table
    LINKS_PROGRAM=two-columns ...                                   # bin/bench workers' own table
"""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, func, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.db import Database
from store.item_store import notify_trigger_sql
from store.models import ItemStatus, QueueItemMixin, UTCDateTime
from workers import ClaimedItem, ItemResult, ItemWorker, PermanentError


class LinksBase(DeclarativeBase):
    pass


class Link(QueueItemMixin, LinksBase):
    __tablename__ = "links"

    url: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    checked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    tags: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class LinkStamper(ItemWorker):
    """Writes two columns per link (status code and when), and who did it; no network.

    ``bad:`` URLs fail for good (PermanentError); ``flaky:`` ones raise (retried)."""

    worker_name = "link_stamper"
    model = Link

    def process_item(self, item: ClaimedItem) -> ItemResult:
        if item.url.startswith("bad:"):
            raise PermanentError(f"not a URL one can check: {item.url}")
        if item.url.startswith("flaky:"):
            raise ConnectionError("flaky link")
        if self.settings.WORKER_SIMULATED_WORK > 0:
            time.sleep(self.settings.WORKER_SIMULATED_WORK)
        return ItemResult(
            status_code=200 + item.attempts - 1, checked_at=datetime.now(UTC), checked_by=self.label
        )


class Killer(LinkStamper):
    """Dies by SIGKILL (as an OOM kill or a segfault would) on the link ``kill``."""

    worker_name = "killer"

    def process_item(self, item: ClaimedItem) -> ItemResult:
        if item.url == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        return super().process_item(item)


class TwoColumns(ItemWorker):
    """For ``bin/bench workers``: two columns written per link, nothing else."""

    worker_name = "two_columns"
    model = Link

    def process_item(self, item: ClaimedItem) -> ItemResult:
        return ItemResult(status_code=200, checked_at=datetime.now(UTC))


class TwoColumnsEachWritten(TwoColumns):
    """The same, each outcome written as its item ends (flush_interval 0): what per-item costs."""

    worker_name = "two_columns_each"
    flush_interval = 0.0


class UrlLengths(ItemWorker):
    """A second program on the same table: writes the URL's length as the status code."""

    worker_name = "url_lengths"
    model = Link

    def process_item(self, item: ClaimedItem) -> ItemResult:
        if self.settings.WORKER_SIMULATED_WORK > 0:
            time.sleep(self.settings.WORKER_SIMULATED_WORK)
        return ItemResult(status_code=len(item.url), checked_at=datetime.now(UTC), checked_by=self.label)


class LinksDatabase:
    """A fresh database with the links table (and, on PostgreSQL, its wake-up trigger)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.db = Database(url, pool_size=2, max_overflow=2)
        LinksBase.metadata.create_all(self.db.engine)
        with self.db.engine.begin() as conn:
            for statement in notify_trigger_sql("links", conn):  # nothing on SQLite
                conn.execute(text(statement))

    def add_links(self, urls: list[str]) -> list[int]:
        ids: list[int] = []
        with self.db.session() as session:  # one commit
            for start in range(0, len(urls), 5000):
                rows = [{"url": u} for u in urls[start : start + 5000]]
                ids += session.execute(insert(Link).returning(Link.id), rows).scalars()
        return ids

    def counts(self) -> dict[str, int]:
        with self.db.session() as session:
            return dict(session.execute(select(Link.status, func.count()).group_by(Link.status)).all())

    def held_by(self, pid: int) -> int:
        with self.db.session() as session:
            return session.execute(
                select(func.count()).where(
                    Link.status == ItemStatus.PROCESSING, Link.claimed_by.like(f"%:{pid}:%")
                )
            ).scalar_one()

    def links(self) -> list[Link]:
        with self.db.session() as session:
            return list(session.execute(select(Link).order_by(Link.id)).scalars())

    def close(self) -> None:
        self.db.dispose()


PROGRAMS: dict[str, type[ItemWorker]] = {
    "killer": Killer,
    "lengths": UrlLengths,
    "two-columns": TwoColumns,
    "two-columns-each": TwoColumnsEachWritten,
}

if __name__ == "__main__":
    sys.exit(PROGRAMS.get(os.environ.get("LINKS_PROGRAM", ""), LinkStamper).main())
