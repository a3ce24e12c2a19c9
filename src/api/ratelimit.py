"""Rate limits: one budget per account (all of a user's API keys and tokens), per IP when
anonymous, stricter on login. Fixed windows (rate strings parsed by the ``limits`` library): one
counter update per request, and exact ``Retry-After``/reset values for clients.

Where counters live:

- ``REDIS_URL`` set: in Redis (``limits``' storage), shared by every gunicorn worker and host;
- otherwise in a small SQLite file on the machine (``VAR_DIR/run/ratelimits.sqlite3``), shared by
  every worker of the server, kept across a gunicorn reload or restart: "10/minute" allows exactly
  10 on one server, and a retry after the announced ``Retry-After`` is not refused by another worker.
  One upsert per request (WAL, no fsync: a counter need not survive the machine's crash).

When that store cannot be reached, ``RATE_LIMIT_REDIS_DOWN`` decides: ``local`` (the default) counts
on this machine (the SQLite file when Redis is down; in the process when the file itself fails),
so the limits still hold; ``open`` serves without limits; ``closed`` answers ``503
rate_limiter_unavailable``. The store is then left alone for ``STORAGE_RETRY_SECONDS`` (no request
waits on a dead server), the fault is logged once per interval, and ``health()`` (in ``/health``)
says the limiter is degraded until it answers again. No thread is started per request (``limits``'
MemoryStorage would start a timer thread to expire its keys): counters expire lazily.

    limiter = RateLimiter.from_settings(settings)
    state = limiter.hit("default", "user:42")    # raises RateLimited (429) when over the limit
    response.headers.update(state.headers())
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string

from api.errors import RateLimited, ServiceUnavailable
from api.faults import ThrottledLog
from config.config import ConfigError, Settings

log = logging.getLogger("api.ratelimit")

# After Redis fails, requests skip it this long before one tries again.
STORAGE_RETRY_SECONDS = 5.0
POLICIES = ("local", "open", "closed")


class RateLimiterUnavailable(ServiceUnavailable):
    code = "rate_limiter_unavailable"

    def __init__(self) -> None:
        seconds = math.ceil(STORAGE_RETRY_SECONDS)
        super().__init__(
            f"rate limiting is unavailable (its store does not answer); retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when the window resets
    hits: int = 0  # requests counted in the window, this one included

    def checked(self, item: RateLimitItem) -> RateLimitState:
        """This state, or RateLimited when the request went over the limit."""
        if self.hits <= self.limit:
            return self
        headers = {"Retry-After": str(self.reset_after()), **self.headers()}
        raise RateLimited(
            f"rate limit exceeded: {item.amount} per {item.get_expiry()} seconds; "
            f"retry in {headers['Retry-After']} s",
            headers=headers,
        )

    def reset_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> dict[str, str]:
        reset_after = str(self.reset_after())
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": reset_after,
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


def _parse_limit(name: str, value: str) -> RateLimitItem:
    try:
        return parse(value)
    except ValueError as exc:
        raise ConfigError(f"setting {name}={value!r}: not a rate limit like '600/minute' ({exc})") from None


class CounterStoreError(Exception):
    """The counters' store did not answer (Redis unreachable, the SQLite file unusable)."""


class Counters(Protocol):
    """Fixed-window counters: add one to ``key``'s window (started now if none is open, lasting
    ``expiry`` seconds) and return (hits in the window, epoch seconds when it ends)."""

    kind: str
    shared: bool

    def hit(self, key: str, expiry: int) -> tuple[int, float]: ...

    def check(self) -> None: ...


class ProcessCounters:
    """Counters in this process alone (the last resort when the shared store fails). Expired
    windows are dropped lazily, a sweep every ``SWEEP_EVERY`` hits: no timer, no thread."""

    kind = "process"
    shared = False
    SWEEP_EVERY = 1000

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def hit(self, key: str, expiry: int) -> tuple[int, float]:
        now = self.clock()
        with self._lock:
            self._hits += 1
            if self._hits % self.SWEEP_EVERY == 0:
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
            count, ends = self._windows.get(key, (0, 0.0))
            window = (count + 1, ends) if ends > now else (1, now + expiry)
            self._windows[key] = window
            return window

    def check(self) -> None:
        return None


class MachineCounters:
    """Counters in a SQLite file, shared by every process of the machine that opens it.

    One statement per hit (an upsert that opens, counts in, or restarts the window, returning the
    count and the window's end); SQLite serializes writers across processes. Each thread has its
    own connection (a forked process opens new ones). Expired windows are deleted every
    ``SWEEP_EVERY`` hits of a process."""

    kind = "machine"
    shared = True
    SWEEP_EVERY = 1000
    _UPSERT = (
        "INSERT INTO windows (key, hits, ends) VALUES (?1, 1, ?2 + ?3) ON CONFLICT (key) DO UPDATE SET "
        "hits = CASE WHEN ends <= ?2 THEN 1 ELSE hits + 1 END, "
        "ends = CASE WHEN ends <= ?2 THEN ?2 + ?3 ELSE ends END "
        "RETURNING hits, ends"
    )

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._local = threading.local()
        self._hits = 0

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The counters name users and client addresses: readable by the stack's owner only.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # counters need not survive the machine's crash
        conn.execute(
            "CREATE TABLE IF NOT EXISTS windows "
            "(key TEXT PRIMARY KEY, hits INTEGER NOT NULL, ends REAL NOT NULL) WITHOUT ROWID"
        )
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def hit(self, key: str, expiry: int) -> tuple[int, float]:
        now = self.clock()
        try:
            conn = self._connection()
            hits, ends = conn.execute(self._UPSERT, (key, now, expiry)).fetchone()
            self._hits += 1
            if self._hits % self.SWEEP_EVERY == 0:
                conn.execute("DELETE FROM windows WHERE ends <= ?", (now,))
        except (sqlite3.Error, OSError) as exc:
            self._local.conn = None
            raise CounterStoreError(f"{self.path}: {exc}") from exc
        return int(hits), float(ends)

    def check(self) -> None:
        try:
            self._connection().execute("SELECT 1 FROM windows LIMIT 1").fetchall()
        except (sqlite3.Error, OSError) as exc:
            self._local.conn = None
            raise CounterStoreError(f"{self.path}: {exc}") from exc


class StorageCounters:
    """Counters in a ``limits`` storage (Redis): INCR (the window's expiry set when it opens), then
    its TTL."""

    kind = "redis"
    shared = True

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def hit(self, key: str, expiry: int) -> tuple[int, float]:
        try:
            hits = self.storage.incr(key, expiry)
            return hits, self.storage.get_expiry(key)
        except StorageError as exc:
            raise CounterStoreError(str(exc.storage_error) or type(exc.storage_error).__name__) from exc

    def check(self) -> None:
        try:
            self.storage.get("health")  # a read, to learn why it fails if it does
        except StorageError as exc:
            raise CounterStoreError(str(exc.storage_error) or type(exc.storage_error).__name__) from exc


def machine_counters_path(settings: Settings) -> Path:
    return Path(settings.VAR_DIR) / "run" / "ratelimits.sqlite3"


class RateLimiter:
    """Named limits ("default", "login") over one store of counters, keyed by caller identity."""

    def __init__(
        self,
        limits: dict[str, RateLimitItem],
        counters: Counters,
        *,
        prefix: str,
        when_down: str = "local",
        fallback: Counters | None = None,
        fault_log: ThrottledLog | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if when_down not in POLICIES:
            raise ConfigError(
                f"setting RATE_LIMIT_REDIS_DOWN={when_down!r}: must be one of {', '.join(POLICIES)}"
            )
        self.limits = limits
        self.counters = counters
        self.prefix = prefix
        self.when_down = when_down
        self.fault_log = fault_log or ThrottledLog(log)
        self.clock = clock
        self._local: Counters = fallback or ProcessCounters()
        self._error: str | None = None  # why the store failed last; None while it answers
        self._skip_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        limits = {
            "default": _parse_limit("RATE_LIMIT_DEFAULT", settings.RATE_LIMIT_DEFAULT),
            "login": _parse_limit("RATE_LIMIT_LOGIN", settings.RATE_LIMIT_LOGIN),
        }
        machine = MachineCounters(machine_counters_path(settings))
        counters: Counters = machine
        fallback: Counters = ProcessCounters()
        if settings.REDIS_URL:
            try:
                storage = storage_from_string(settings.REDIS_URL, wrap_exceptions=True)
            except Exception as exc:  # noqa: BLE001 - limits raises assorted errors for bad URLs
                raise ConfigError(f"setting REDIS_URL={settings.REDIS_URL!r}: {exc}") from None
            counters, fallback = StorageCounters(storage), machine  # type: ignore[arg-type]
        return cls(
            limits,
            counters,
            prefix=settings.RATE_LIMIT_KEY_PREFIX,
            when_down=settings.RATE_LIMIT_REDIS_DOWN,
            fallback=fallback,
        )

    def hit(self, name: str, identity: str) -> RateLimitState | None:
        """Count one request; raise RateLimited when over. When the store is unreachable, what
        ``when_down`` says: count locally, None (not limited), or raise RateLimiterUnavailable."""
        item = self.limits[name]
        if self._error is not None and self.clock() < self._skip_until:
            return self._degraded(item, name, identity)
        try:
            state = self._count(self.counters, item, name, identity)
        except CounterStoreError as exc:
            self._storage_failed(str(exc))
            return self._degraded(item, name, identity)
        if self._error is not None:
            self._storage_answered()
        return state.checked(item)

    def health(self) -> dict[str, object]:
        """For /health: where counters live, ok or degraded (and why), and the policy."""
        if self._error is None or self.clock() >= self._skip_until:
            try:
                self.counters.check()
            except CounterStoreError as exc:
                self._storage_failed(str(exc))
            else:
                self._storage_answered()
        return {
            "storage": self.counters.kind,
            "state": "ok" if self._error is None else "degraded",
            "when_down": self.when_down,
            "error": self._error,
        }

    def _storage_failed(self, reason: str) -> None:
        self._error = reason
        self._skip_until = self.clock() + STORAGE_RETRY_SECONDS
        effect = {
            "local": f"counting {'on this machine' if self._local.shared else 'in each process'} alone",
            "open": "not limiting",
            "closed": "answering 503 rate_limiter_unavailable",
        }[self.when_down]
        self.fault_log.warning(
            "ratelimit",
            "rate-limit storage unreachable (%s): RATE_LIMIT_REDIS_DOWN=%s, %s "
            "(reported again in %.0f s while it lasts)",
            reason,
            self.when_down,
            effect,
            self.fault_log.interval,
        )

    def _storage_answered(self) -> None:
        if self._error is not None:
            self._error = None
            self.fault_log.recovered("ratelimit", "rate-limit storage reachable again: limits are shared")

    def _degraded(self, item: RateLimitItem, name: str, identity: str) -> RateLimitState | None:
        if self.when_down == "open":
            return None
        if self.when_down == "closed":
            raise RateLimiterUnavailable()
        try:
            state = self._count(self._local, item, name, identity)
        except CounterStoreError:  # the machine's file failed too: this process's own counters
            self._local = ProcessCounters()
            state = self._count(self._local, item, name, identity)
        return state.checked(item)

    def _count(self, counters: Counters, item: RateLimitItem, name: str, identity: str) -> RateLimitState:
        hits, ends = counters.hit(item.key_for(self.prefix, name, identity), item.get_expiry())
        return RateLimitState(
            limit=item.amount, remaining=max(0, item.amount - hits), reset_at=ends, hits=hits
        )
