"""One error path: each exit code is an exception type, mapped to a line and an exit in one place."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.ctl import cli
from config.config import ConfigError
from ops.errors import (
    BadInput,
    ProgramFailed,
    SupervisorAccessDenied,
    SupervisorFault,
    SupervisorUnreachable,
    UnknownProgram,
    exit_for,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UnknownProgram("x"), 1),
        (SupervisorFault(30, "FAILED"), 1),
        (BadInput("bad endpoint"), 2),
        (SupervisorUnreachable("not running"), 2),
        (ConfigError("setting API_PORT='x': must be a port"), 2),
        (SupervisorAccessDenied("permission denied"), 3),
    ],
)
def test_each_exit_code_is_an_exception_type(error: Exception, code: int) -> None:
    failed = exit_for(error)
    assert failed is not None and failed.code == code and failed.message == str(error)


def test_a_failed_program_brings_its_detail() -> None:
    failed = exit_for(ProgramFailed("api failed to start", detail="--- end of api's log:\nboom"))
    assert failed is not None and failed.message == "api failed to start\n--- end of api's log:\nboom"


def test_a_bug_is_not_mapped() -> None:
    assert exit_for(KeyError("x")) is None


def test_ctl_turns_them_into_one_line_and_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_HOME", str(tmp_path))
    monkeypatch.setenv("SUPERVISOR_CONFIG", str(Path(__file__).resolve().parents[3] / "supervisord.conf"))
    result = CliRunner().invoke(cli, ["restart", "api"])
    socket = tmp_path / "var" / "run" / "supervisor.sock"
    assert result.exit_code == 2
    assert result.output == f"Error: supervisord is not running (no socket at {socket})\n"
    monkeypatch.setenv("API_PORT", "http")
    broken = CliRunner().invoke(cli, ["restart", "api"])
    assert broken.exit_code == 2 and broken.output.startswith("Error: setting API_PORT='http'")
