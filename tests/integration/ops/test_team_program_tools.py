"""A team's added program file (see test_team_program.py) passes bin/monitor.py's and ctl's tests
unchanged: the second of the two runs, in a module of its own so the suite's workers run both
side by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.ops.test_team_program import TESTS, TOOLS, passes_with_a_teams_added_program

pytestmark = pytest.mark.stack


def test_monitor_and_ctl_pass_with_a_teams_added_program(tmp_path: Path) -> None:
    passes_with_a_teams_added_program([t for t in TESTS if t.startswith(TOOLS)], tmp_path)
