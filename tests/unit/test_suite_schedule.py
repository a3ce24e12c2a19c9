"""bin/test hands whole files to its workers longest first (tests/support/schedule.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from tests.support import schedule


@dataclass
class FakeItem:
    nodeid: str
    markers: tuple[str, ...] = field(default=())

    def get_closest_marker(self, name: str) -> Any:
        return name if name in self.markers else None


def ordered(items: list[FakeItem], durations: dict[str, float]) -> list[str]:
    result = schedule.longest_first(cast(list[pytest.Item], items), durations)
    return [cast(FakeItem, item).nodeid for item in result]


def test_files_go_longest_first_and_keep_their_tests_in_order() -> None:
    items = [
        FakeItem("tests/unit/test_many.py::a"),
        FakeItem("tests/unit/test_many.py::b"),
        FakeItem("tests/integration/test_stacks.py::only"),
        FakeItem("tests/unit/test_lint.py::mypy"),
        FakeItem("tests/unit/test_many.py::c"),
    ]
    durations = {"tests/integration/test_stacks.py": 110.0, "tests/unit/test_lint.py": 40.0}
    assert ordered(items, durations) == [
        "tests/integration/test_stacks.py::only",
        "tests/unit/test_lint.py::mypy",
        "tests/unit/test_many.py::a",
        "tests/unit/test_many.py::b",
        "tests/unit/test_many.py::c",
    ]


def test_a_new_file_that_boots_servers_goes_before_a_new_file_of_plain_tests() -> None:
    items = [
        FakeItem("tests/unit/test_new_plain.py::a"),
        FakeItem("tests/unit/test_new_plain.py::b"),
        FakeItem("tests/integration/test_new_stack.py::a", markers=("stack",)),
        FakeItem("tests/unit/test_known.py::a"),
    ]
    assert ordered(items, {"tests/unit/test_known.py": 5.0}) == [
        "tests/integration/test_new_stack.py::a",
        "tests/unit/test_known.py::a",
        "tests/unit/test_new_plain.py::a",
        "tests/unit/test_new_plain.py::b",
    ]


def test_saved_durations_merge_a_partial_run_into_the_stored_figures(tmp_path: Path) -> None:
    path = tmp_path / "durations.json"
    path.write_text(json.dumps({"tests/a.py": 10.0, "tests/b.py": 3.0}))
    schedule.save_durations({"tests/b.py::x": 1.25, "tests/b.py::y": 1.0, "tests/c.py::z": 7.0}, path)
    assert schedule.known_durations(path) == {"tests/a.py": 10.0, "tests/b.py": 2.2, "tests/c.py": 7.0}


def test_a_missing_or_broken_durations_file_means_guesses_not_an_error(tmp_path: Path) -> None:
    assert schedule.known_durations(tmp_path / "none.json") == {}
    (tmp_path / "broken.json").write_text("{not json")
    assert schedule.known_durations(tmp_path / "broken.json") == {}
