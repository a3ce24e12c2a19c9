"""Types of the public signatures: the ``NOT_GIVEN`` default and what ``timeout=`` accepts."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

import httpx

__all__ = ["NOT_GIVEN", "NotGiven", "TimeoutTypes"]

TimeoutTypes: TypeAlias = float | httpx.Timeout | None
"""Seconds for every phase, an ``httpx.Timeout`` (e.g. ``httpx.Timeout(10, connect=2)``), or None for none."""


class NotGiven:
    """The type of ``NOT_GIVEN``: an option left out, told apart from ``None`` (which means "none").

    ``client.get_item(1, timeout=None)`` waits as long as it takes; ``client.get_item(1)`` uses the
    client's timeout.
    """

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"  # pickles as the module attribute: stays the one instance


NOT_GIVEN: Final = NotGiven()


def as_timeout(value: TimeoutTypes) -> httpx.Timeout:
    """A per-client or per-call timeout as httpx wants it (None: no limit on any phase)."""
    return value if isinstance(value, httpx.Timeout) else httpx.Timeout(value)


def describe_timeout(timeout: httpx.Timeout) -> str:
    """For a repr: ``30.0``, ``None``, or ``Timeout(30.0, connect=5.0)`` when the phases differ."""
    phases = {"connect": timeout.connect, "read": timeout.read, "write": timeout.write, "pool": timeout.pool}
    values = set(phases.values())
    if len(values) == 1:
        return repr(timeout.read)
    common = timeout.read
    others = ", ".join(f"{name}={value!r}" for name, value in phases.items() if value != common)
    return f"Timeout({common!r}, {others})"
