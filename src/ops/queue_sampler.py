"""The queue history's sampler: a thread of the health listener (``ops.healthcheck``) that writes
every queue's counts by status (``store.queue_history.sample``) every QUEUE_HISTORY_INTERVAL seconds.

Why there: one process per host samples (not every API worker), and it already runs on every
host under supervisord, so no program is added. Kept apart from healing: its own daemon thread and
its own one-connection engine (created in the thread, lazily, so a bad DATABASE_URL or a database
that is down costs the listener nothing), every error caught and logged (each distinct one once,
then again only when it changes), and a wait between samples whatever happened. The checks thread
never waits for it and never touches the database.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.config import Settings

log = logging.getLogger("healthcheck.queue_history")


class QueueSampler:
    """Samples the queue history on its own thread until :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._engine: Any = None
        self._last_problem: str | None = None

    def ensure_running(self) -> None:
        """Start the thread, or start it again if it died."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._run, name="queue-history", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        # The first sample after one interval: at boot the API may still be migrating the database.
        interval = self.settings.QUEUE_HISTORY_INTERVAL
        while not self._stop.wait(interval):
            self.sample_once()

    def sample_once(self) -> int:
        """One sample; rows written (0 when skipped or when it failed: logged, never raised)."""
        try:
            from store.queue_history import Retention, sample

            if self._engine is None:
                from store.db import Database

                self._engine = Database(
                    self.settings.DATABASE_URL, pool_size=1, max_overflow=0, application_name="queue-history"
                ).engine
            keep = Retention(self.settings.QUEUE_HISTORY_KEEP_HOURS, self.settings.QUEUE_HISTORY_MAX_ROWS)
            written = sample(self._engine, keep=keep, min_gap=self.settings.QUEUE_HISTORY_INTERVAL / 2)
        except Exception as exc:  # noqa: BLE001 - whatever the database does, healing goes on
            problem = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            if problem != self._last_problem:
                log.warning(
                    "queue history sample failed (retried every %gs): %s",
                    self.settings.QUEUE_HISTORY_INTERVAL,
                    problem,
                )
                self._last_problem = problem
            return 0
        if self._last_problem is not None:
            log.info("queue history samples written again")
            self._last_problem = None
        return written
