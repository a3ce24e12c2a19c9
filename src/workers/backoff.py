"""Exponential backoff with jitter, for a worker loop that hits errors and for items that fail.

    backoff = Backoff(min_delay=1.0, max_delay=300.0)
    delay = backoff.next_delay()   # 1.0, then 1..2, 2..4, ... capped at 300
    backoff.reset()                # after a good batch

The n-th delay is drawn from [cap/2, cap] with cap = min(max_delay, min_delay * 2**(n-1)),
never below ``min_delay`` ("equal jitter"): workers that failed together spread out, yet each
waits at least half the exponential step, so a database that is down is not hammered.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(
    failures: int,
    *,
    min_delay: float,
    max_delay: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """The delay after ``failures`` consecutive failures (1 = the first failure)."""
    if failures < 1:
        return 0.0
    # 2**60 is far past any max_delay; the cap keeps the float from overflowing.
    cap = min(max_delay, min_delay * 2.0 ** min(failures - 1, 60))
    low = min(cap, max(min_delay, cap / 2))
    return uniform(low, cap)


class Backoff:
    """Counts consecutive failures and hands out the next delay; ``reset()`` after a success."""

    def __init__(self, *, min_delay: float, max_delay: float, rng: random.Random | None = None) -> None:
        if min_delay < 0 or max_delay < min_delay:
            raise ValueError(f"backoff needs 0 <= min_delay <= max_delay, got {min_delay}, {max_delay}")
        self.min_delay = min_delay
        self.max_delay = max_delay
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return backoff_delay(
            self.failures, min_delay=self.min_delay, max_delay=self.max_delay, uniform=self._rng.uniform
        )

    def reset(self) -> None:
        self.failures = 0
