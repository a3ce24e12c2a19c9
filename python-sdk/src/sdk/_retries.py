"""When to retry and how long to wait: backoff with jitter, or the server's Retry-After.

A failed request is sent again only if doing so cannot do the work twice:

- nothing was sent (the connection could not be made, or no pooled connection came free): always;
- 408 and 429 (the server says it did not carry the request out): always;
- otherwise the request may have been carried out (a timeout or reset while waiting for the answer,
  a 5xx): only when it is safe to send twice (:func:`is_replay_safe`).

Every wait also has to fit in what is left of the call's retry budget.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from sdk import _constants as C
from sdk._request import RequestSpec


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
    return float(base * (1 - C.RETRY_JITTER * rand()))


def is_replay_safe(spec: RequestSpec[Any]) -> bool:
    """Whether sending ``spec`` twice has the effect of sending it once.

    Idempotent methods (GET, DELETE, …) and requests with an ``Idempotency-Key`` are; an endpoint
    may decide otherwise for its request (``RequestSpec.replay_safe``), saying why.
    """
    if spec.replay_safe is not None:
        return spec.replay_safe
    return spec.method in C.IDEMPOTENT_METHODS or "Idempotency-Key" in spec.headers


def nothing_was_sent(exc: httpx.RequestError) -> bool:
    """True when the request cannot have reached the server: no connection was made, or none came free."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def is_retryable_transport(exc: httpx.RequestError, replay_safe: bool) -> bool:
    if nothing_was_sent(exc):
        return True
    transient = isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)
    return transient and replay_safe


def is_retryable_status(status: int, replay_safe: bool) -> bool:
    if status in C.NOT_PROCESSED_STATUS_CODES:
        return True
    return replay_safe and 500 <= status <= 599
