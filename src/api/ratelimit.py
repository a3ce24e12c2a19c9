"""Rate limits with the ``limits`` library: per API key or user, per IP when anonymous, stricter on login.

Counters live in memory (per process) by default; with ``REDIS_URL`` set they live in Redis and so are
shared by every gunicorn worker and host. Fixed windows: one INCR per request, and exact
``Retry-After``/reset values for clients.

    limiter = RateLimiter.from_settings(settings)
    state = limiter.hit("default", "key:42")     # raises RateLimited (429) when over the limit
    response.headers.update(state.headers())
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api.errors import RateLimited
from config.config import ConfigError, Settings

log = logging.getLogger("api.ratelimit")


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

    def __init__(self, limits: dict[str, RateLimitItem], storage: Storage, *, prefix: str) -> None:
        self.limits = limits
        self.storage = storage
        self.prefix = prefix
        self.strategy = FixedWindowRateLimiter(storage)

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
        return cls(limits, storage, prefix=settings.RATE_LIMIT_KEY_PREFIX)

    def hit(self, name: str, identity: str) -> RateLimitState | None:
        """Count one request; raise RateLimited when over. None when the storage is unreachable:
        we fail open (log and serve) rather than take the API down with Redis."""
        item = self.limits[name]
        try:
            allowed = self.strategy.hit(item, self.prefix, name, identity)
            stats = self.strategy.get_window_stats(item, self.prefix, name, identity)
        except StorageError as exc:
            log.warning("rate-limit storage unavailable, not limiting: %s", exc.storage_error)
            return None
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
