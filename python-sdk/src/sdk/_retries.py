"""When to retry and how long to wait: backoff with jitter, or the server's Retry-After."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

from sdk import _constants as C


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(retry_number: int, rand: Callable[[], float] = random.random) -> float:
    """0.5 s, 1 s, 2 s … capped at 8 s, each shortened by up to 25 % at random (jitter)."""
    base = min(C.INITIAL_RETRY_DELAY * 2**retry_number, C.MAX_RETRY_DELAY)
    return base * (1 - C.RETRY_JITTER * rand())


def is_retryable_status(status: int) -> bool:
    return status in C.RETRYABLE_STATUS_CODES or 500 <= status <= 599


def is_retryable_transport(exc: httpx.RequestError) -> bool:
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)
