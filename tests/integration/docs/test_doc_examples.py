"""Every example session in docs/ still prints what the docs show: bin/doc-examples --check runs them
on a throwaway stack of its own, which is gone afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.processes import processes_mentioning
from tests.support.stack import REPO

pytestmark = pytest.mark.stack


def test_the_docs_examples_are_what_the_commands_print(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = subprocess.run(
        [str(REPO / "bin" / "doc-examples"), "--check", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert processes_mentioning(str(home)) == []
