"""The Python code passes its linters: ruff's checks and its formatter on src/, python-sdk/ and tests/
(settings in pyproject.toml), mypy on src/ (settings in setup.cfg; the SDK's strict check is in
tests/integration/sdk/test_distribution.py). A finding fails the suite
with the linter's own report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=240)


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", "--output-format", "concise", "src", "python-sdk", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_everything_as_it_is() -> None:
    result = run(
        str(BIN / "ruff"),
        "format",
        "--check",
        "src",
        "python-sdk",
        "tests",
        "bin/monitor.py",
        "conf/gunicorn.conf.py",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_src(tmp_path: Path) -> None:
    result = run(sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy"), "src")
    assert result.returncode == 0, result.stdout + result.stderr
