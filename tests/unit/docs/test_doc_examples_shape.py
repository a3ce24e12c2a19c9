"""bin/doc-examples --check: what it forgives (run-to-run noise) and what it catches (stale docs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.doc_examples import ORDER, Block, drifted, find_blocks, shape
from tests.support.stack import REPO

SHOWN = """\
$ bin/monitor.py
NAME         STATE    PID    UPTIME   HEALTH   DETAIL
api          RUNNING  13915  0:06:01  ok 30ms  http://127.0.0.1:8001/health
$ python -m cli.ctl db current
0004 (up to date)
"""


def with_block(body: str) -> dict[str, Block]:
    doc = REPO / "docs" / "operations.md"
    return {name: Block(doc, name, body if name == "status" else "") for name in ORDER}


def produced(body: str) -> dict[str, str]:
    return {name: body if name == "status" else "" for name in ORDER}


def test_pids_times_latencies_and_spacing_are_noise() -> None:
    now = SHOWN.replace("13915  0:06:01  ok 30ms", "7  0:00:03  ok 4ms").replace("api     ", "api  ")
    assert shape(now) == shape(SHOWN)
    assert drifted(with_block(SHOWN), produced(now)) == []


def test_a_new_revision_a_renamed_program_or_a_changed_message_is_drift() -> None:
    for stale in (
        SHOWN.replace("0004", "0005"),
        SHOWN.replace("api  ", "web  "),
        SHOWN.replace("(up to date)", "(behind)"),
    ):
        report = drifted(with_block(SHOWN), produced(stale))
        assert len(report) == 1 and report[0].startswith("docs/operations.md: example 'status':"), report


def test_every_block_the_tool_runs_is_marked_once_in_the_docs() -> None:
    blocks = find_blocks(sorted((REPO / "docs").glob("*.md")))
    assert list(blocks) != [] and set(blocks) == set(ORDER)
    assert all(block.commands for block in blocks.values())


def test_a_block_missing_from_order_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- example: nosuch -->\n```\n$ true\n```\n")
    with pytest.raises(SystemExit, match="example 'nosuch' is not in ORDER"):
        find_blocks([page])
