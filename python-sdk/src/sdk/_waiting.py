"""``wait_for``'s schedule, shared by both clients: when to read the item again, when to give up."""

from __future__ import annotations

import time
from collections.abc import Callable

from sdk.exceptions import WaitTimeoutError
from sdk.models import Item


def _seconds(name: str, value: float, *, positive: bool) -> float:
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if not number or not value >= 0 or (positive and not value):
        least = "more than 0" if positive else "0 or more"
        raise ValueError(f"{name} must be seconds, {least}, got {value!r}")
    return float(value)


class WaitPlan:
    """Started before the first read; ``next_pause(item)`` after each: None when the item is
    finished, else the seconds to wait before the next read; WaitTimeoutError when time is up."""

    def __init__(
        self, item_id: int, timeout: float, poll: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.item_id = item_id
        self.timeout = _seconds("timeout", timeout, positive=False)
        self.poll = _seconds("poll", poll, positive=True)
        self.clock = clock
        self.deadline = clock() + self.timeout
        self.reads = 0

    def next_pause(self, item: Item) -> float | None:
        self.reads += 1
        if item.finished:
            return None
        left = self.deadline - self.clock()
        if left <= 0:
            raise WaitTimeoutError(
                f"item {self.item_id} is still {item.status} after {self.timeout:g} s "
                f"({self.reads} reads); it is done once its status is done or failed",
                item,
            )
        return min(self.poll, left)
