"""Backoff: exponential with jitter, bounded by min and max, reset after a success."""

from __future__ import annotations

import random

import pytest

from workers.backoff import Backoff, backoff_delay


def test_delays_double_up_to_the_cap_with_the_jitter_inside_each_step() -> None:
    highest = [backoff_delay(n, min_delay=1, max_delay=20, uniform=lambda lo, hi: hi) for n in range(1, 8)]
    lowest = [backoff_delay(n, min_delay=1, max_delay=20, uniform=lambda lo, hi: lo) for n in range(1, 8)]
    assert highest == [1, 2, 4, 8, 16, 20, 20]
    assert lowest == [1, 1, 2, 4, 8, 10, 10]


def test_the_sequence_is_reproducible_with_a_seeded_rng_and_stays_in_bounds() -> None:
    first = Backoff(min_delay=0.5, max_delay=30, rng=random.Random(7))
    second = Backoff(min_delay=0.5, max_delay=30, rng=random.Random(7))
    delays = [first.next_delay() for _ in range(12)]
    assert delays == [second.next_delay() for _ in range(12)]
    assert all(0.5 <= d <= 30 for d in delays)
    assert delays[-1] >= 15  # capped steps stay within [max/2, max]


def test_reset_starts_over_from_the_minimum() -> None:
    backoff = Backoff(min_delay=1, max_delay=300, rng=random.Random(1))
    for _ in range(5):
        backoff.next_delay()
    assert backoff.failures == 5
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay() == 1


def test_huge_failure_counts_do_not_overflow() -> None:
    assert backoff_delay(10_000, min_delay=1, max_delay=300, uniform=lambda lo, hi: hi) == 300


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="min_delay"):
        Backoff(min_delay=5, max_delay=1)
