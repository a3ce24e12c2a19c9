"""The order test files are handed to the xdist workers: longest first.

``bin/test`` runs with ``--dist loadfile`` (a module's booted stack is booted once) and
``--no-loadscope-reorder``: xdist then hands out whole files in collection order, and this plugin
sorts the collection by each file's expected seconds, longest first (the classic longest-processing
time rule). Without it xdist orders files by their number of tests, which leaves the one-test files
that boot five stacks or run mypy or vitest for the end, where they alone set the run's wall time.

Expected seconds come from ``tests/durations.json`` (a file's test time in a full run; refresh it
with ``TEST_DURATIONS_UPDATE=1 bin/test``). A file it does not know yet (a team's new tests) is
guessed from its markers: one that boots servers, runs a browser or an external tool counts as
``UNKNOWN_HEAVY`` seconds, any other as ``UNKNOWN_TEST`` per test. Tests keep their order within
a file.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

DURATIONS = Path(__file__).resolve().parents[1] / "durations.json"
HEAVY_MARKERS = ("stack", "browser", "tool", "postgres")
UNKNOWN_HEAVY = 20.0
UNKNOWN_TEST = 0.1


def known_durations(path: Path = DURATIONS) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def expected_seconds(items: list[pytest.Item], durations: dict[str, float]) -> dict[str, float]:
    """Each file's expected seconds: the stored figure, or a guess from its tests' markers."""
    guesses: dict[str, float] = defaultdict(float)
    heavy: set[str] = set()
    for item in items:
        path = file_of(item)
        guesses[path] += UNKNOWN_TEST
        if any(item.get_closest_marker(name) for name in HEAVY_MARKERS):
            heavy.add(path)
    return {
        path: durations.get(path, max(guess, UNKNOWN_HEAVY) if path in heavy else guess)
        for path, guess in guesses.items()
    }


def longest_first(items: list[pytest.Item], durations: dict[str, float]) -> list[pytest.Item]:
    """``items`` with whole files sorted by expected seconds, longest first; a stable sort, so tests
    keep their order within a file and equal files keep the collection's order."""
    cost = expected_seconds(items, durations)
    rank = {path: position for position, path in enumerate(dict.fromkeys(file_of(i) for i in items))}
    return sorted(items, key=lambda item: (-cost[file_of(item)], rank[file_of(item)]))


@pytest.hookimpl(trylast=True)  # after marks and deselection: sort what will run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items[:] = longest_first(items, known_durations())


def save_durations(seconds_per_test: dict[str, float], path: Path = DURATIONS) -> None:
    """Store each file's test time (the sum of its tests' setup, call and teardown), merged into
    the figures already stored, so a partial run refreshes only its own files."""
    per_file: dict[str, float] = defaultdict(float)
    for nodeid, seconds in seconds_per_test.items():
        per_file[nodeid.split("::", 1)[0]] += seconds
    merged = {**known_durations(path), **{k: round(v, 1) for k, v in per_file.items()}}
    path.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")


def updating() -> bool:
    return os.environ.get("TEST_DURATIONS_UPDATE") == "1"
