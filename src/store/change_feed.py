"""Wake an idle worker when items may have arrived, without scanning the table.

- PostgreSQL: ``LISTEN items_pending`` (or ``channel``: ``<table>_pending`` for a table of your
  own, see ``item_store.notify_trigger_sql``) on a connection of its own (migration 0002's trigger
  sends ``pg_notify('items_pending', '')`` when an item becomes pending). The thread waits in
  ``select()`` on the connection's socket and on a stop pipe, so it uses no CPU while idle and
  stops at once.
- SQLite: ``PRAGMA data_version`` on a connection of its own, every ``interval`` seconds (0.1).
  The number changes whenever another connection commits a change to the file; reading it costs
  microseconds and touches no table.

Either way the worker keeps polling as a fallback, so a lost notification only delays work.
Connections come from ``store.db.Database``; a broken one is dropped and reopened with a backoff.

    feed = ChangeFeed(db, on_change=worker.wake).start()
    ...
    feed.stop()
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable
from typing import Any

from store.db import Database

log = logging.getLogger("store.change_feed")

CHANNEL = "items_pending"
SQLITE_POLL_INTERVAL = 0.1
RECONNECT_MIN, RECONNECT_MAX = 0.5, 30.0


class ChangeFeed:
    """A daemon thread that calls ``on_change()`` when the items table may have new work."""

    def __init__(
        self,
        db: Database,
        on_change: Callable[[], None],
        *,
        interval: float = SQLITE_POLL_INTERVAL,
        channel: str = CHANNEL,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        self.db = db
        self.log = logger or log
        self.on_change = on_change
        self.interval = interval
        self.channel = channel
        self._stop = threading.Event()
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="change-feed", daemon=True)

    def start(self) -> ChangeFeed:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        os.write(self._stop_w, b"!")
        if self._thread.is_alive():
            self._thread.join(timeout)
        if not self._thread.is_alive():
            os.close(self._stop_r)
            os.close(self._stop_w)

    def _run(self) -> None:
        delay = RECONNECT_MIN
        while not self._stop.is_set():
            raw: Any = None
            try:
                raw = self.db.engine.raw_connection()
                delay = RECONNECT_MIN
                if self.db.is_sqlite:
                    self._watch_sqlite(raw)
                else:
                    self._listen_postgres(raw)
            except Exception as exc:  # noqa: BLE001 - database down or connection lost: retry later
                self.log.warning("change feed: %s: %s; retrying in %.1fs", type(exc).__name__, exc, delay)
                self._stop.wait(delay)
                delay = min(RECONNECT_MAX, delay * 2)
            finally:
                if raw is not None:
                    # Never hand a LISTENing / autocommit connection back to the pool.
                    raw.invalidate()

    def _watch_sqlite(self, raw: Any) -> None:
        cursor = raw.cursor()
        last = cursor.execute("PRAGMA data_version").fetchone()[0]
        self.on_change()  # anything committed before we started watching
        while not self._stop.wait(self.interval):
            version = cursor.execute("PRAGMA data_version").fetchone()[0]
            if version != last:
                last = version
                self.on_change()

    def _listen_postgres(self, raw: Any) -> None:
        pg = raw.driver_connection  # psycopg.Connection
        pg.rollback()
        pg.autocommit = True
        pg.execute(f"LISTEN {pg_identifier(self.channel)}")
        self.on_change()  # notifications sent while we were not listening are gone: poll once
        pgconn = pg.pgconn
        fd = pgconn.socket
        while not self._stop.is_set():
            readable = select.select([fd, self._stop_r], [], [], 60.0)[0]
            if self._stop_r in readable:
                return
            if fd in readable or not readable:
                pgconn.consume_input()  # raises psycopg.OperationalError when the server is gone
                notified = False
                while pgconn.notifies() is not None:
                    notified = True
                if notified:
                    self.on_change()
                if not readable:
                    # A minute of silence: check the connection is alive. psycopg may consume
                    # a notification that arrives meanwhile, so poll once afterwards.
                    pg.execute("SELECT 1")
                    self.on_change()


def pg_identifier(name: str) -> str:
    """A channel name quoted as a PostgreSQL identifier."""
    return '"' + name.replace('"', '""') + '"'
