"""Rate limits with the ``limits`` library: per API key or user, per IP when anonymous, stricter on login.

Counters live in memory (per process) by default; with ``REDIS_URL`` set they live in Redis and so are
shared by every gunicorn worker and host. Fixed windows: one INCR per request, and exact
``Retry-After``/reset values for clients.

When Redis cannot be reached, ``RATE_LIMIT_REDIS_DOWN`` decides: ``local`` (the default) counts in
this process alone, so the limits still hold per process; ``open`` serves without limits; ``closed``
answers ``503 rate_limiter_unavailable``. Redis is then left alone for ``STORAGE_RETRY_SECONDS``
(no request waits on a dead server), the fault is logged once per interval, and ``health()`` (in
``/health``) says the limiter is degraded until Redis answers again.

    limiter = RateLimiter.from_settings(settings)
    state = limiter.hit("default", "key:42")     # raises RateLimited (429) when over the limit
    response.headers.update(state.headers())
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

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


class RateLimiter:
    """Named limits ("default", "login") over one storage, keyed by caller identity."""

    def __init__(
        self,
        limits: dict[str, RateLimitItem],
        storage: Storage,
        *,
        prefix: str,
        when_down: str = "local",
        fault_log: ThrottledLog | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if when_down not in POLICIES:
            raise ConfigError(
                f"setting RATE_LIMIT_REDIS_DOWN={when_down!r}: must be one of {', '.join(POLICIES)}"
            )
        self.limits = limits
        self.storage = storage
        self.prefix = prefix
        self.strategy = FixedWindowRateLimiter(storage)
        self.when_down = when_down
        self.fault_log = fault_log or ThrottledLog(log)
        self.clock = clock
        self.shared = not isinstance(storage, MemoryStorage)
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._error: str | None = None  # why the store failed last; None while it answers
        self._skip_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        limits = {
            "default": _parse_limit("RATE_LIMIT_DEFAULT", settings.RATE_LIMIT_DEFAULT),
            "login": _parse_limit("RATE_LIMIT_LOGIN", settings.RATE_LIMIT_LOGIN),
        }
        storage: Storage
        if settings.REDIS_URL:
            try:
                storage = storage_from_string(settings.REDIS_URL, wrap_exceptions=True)  # type: ignore[assignment]
            except Exception as exc:  # noqa: BLE001 - limits raises assorted errors for bad URLs
                raise ConfigError(f"setting REDIS_URL={settings.REDIS_URL!r}: {exc}") from None
        else:
            storage = MemoryStorage()
        return cls(
            limits, storage, prefix=settings.RATE_LIMIT_KEY_PREFIX, when_down=settings.RATE_LIMIT_REDIS_DOWN
        )

    def hit(self, name: str, identity: str) -> RateLimitState | None:
        """Count one request; raise RateLimited when over. When the store is unreachable, what
        ``when_down`` says: count locally, None (not limited), or raise RateLimiterUnavailable."""
        item = self.limits[name]
        if self._error is not None and self.clock() < self._skip_until:
            return self._degraded(item, name, identity)
        try:
            return self._count(self.strategy, item, name, identity)
        except StorageError as exc:
            self._storage_failed(str(exc.storage_error) or type(exc.storage_error).__name__)
            return self._degraded(item, name, identity)

    def health(self) -> dict[str, object]:
        """For /health: where counters live, ok or degraded (and why), and the policy."""
        if self.shared and (self._error is None or self.clock() >= self._skip_until):
            try:
                self.storage.get(f"{self.prefix}/health")  # a read, to learn why it fails if it does
            except StorageError as exc:
                self._storage_failed(str(exc.storage_error) or type(exc.storage_error).__name__)
            else:
                self._storage_answered()
        return {
            "storage": "redis" if self.shared else "memory",
            "state": "ok" if self._error is None else "degraded",
            "when_down": self.when_down,
            "error": self._error,
        }

    def _storage_failed(self, reason: str) -> None:
        self._error = reason
        self._skip_until = self.clock() + STORAGE_RETRY_SECONDS
        effect = {
            "local": "counting in each process alone",
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
        return self._count(self._local, item, name, identity)

    def _count(
        self, strategy: FixedWindowRateLimiter, item: RateLimitItem, name: str, identity: str
    ) -> RateLimitState:
        allowed = strategy.hit(item, self.prefix, name, identity)
        stats = strategy.get_window_stats(item, self.prefix, name, identity)
        if strategy is self.strategy and self._error is not None:
            self._storage_answered()
        state = RateLimitState(
            limit=item.amount, remaining=max(0, stats.remaining), reset_at=stats.reset_time
        )
        if not allowed:
            headers = {"Retry-After": str(state.reset_after()), **state.headers()}
            raise RateLimited(
                f"rate limit exceeded: {item.amount} per {item.get_expiry()} seconds; "
                f"retry in {headers['Retry-After']} s",
                headers=headers,
            )
        return state
