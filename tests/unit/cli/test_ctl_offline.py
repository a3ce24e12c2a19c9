"""ctl without a running stack: bad input and a stopped supervisord give one line and an exit code.

Accounts and migrations run against a real SQLite file in a temporary stack home.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.ctl import cli
from tests.support.net import free_port


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "APP_HOME": str(tmp_path),
        "API_PORT": str(free_port()),
        "FRONTEND_PORT": str(free_port()),
        "WORKER_HEALTH_PORT": str(free_port(2)),
        "APP_ENV": "test",
        # A home run with the repository's supervisord.conf (a home without one is refused earlier).
        "SUPERVISOR_CONFIG": str(Path(__file__).resolve().parents[3] / "supervisord.conf"),
    }


def run(env: dict[str, str], *args: str, input: str | None = None) -> Result:  # noqa: A002 - CliRunner's own name for stdin
    return CliRunner(env=env).invoke(cli, list(args), input=input)


def assert_one_line_error(result: Result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)  # no other exception escaped
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and text in errors[0], result.output


def test_status_with_supervisord_down_exits_2_with_one_clear_line(env: dict[str, str]) -> None:
    result = run(env, "status")
    assert "System Status" in result.output
    assert "API         unreachable" in result.output
    assert_one_line_error(result, 2, "supervisord is not running")


@pytest.mark.parametrize("args", [["logs", "tail"], ["start"], ["stop", "api"], ["restart", "api"]])
def test_supervisord_commands_exit_2_when_it_is_down(env: dict[str, str], args: list[str]) -> None:
    assert_one_line_error(run(env, *args), 2, "supervisord is not running")


def test_a_broken_setting_is_named(env: dict[str, str]) -> None:
    result = run({**env, "API_PORT": "eighty"}, "status")
    assert_one_line_error(result, 2, "API_PORT='eighty'")


def test_bad_arguments_are_usage_errors(env: dict[str, str]) -> None:
    result = run(env, "restart")
    assert result.exit_code == 2 and "Missing argument" in result.output
    result = run(env, "logs", "tail", "-n", "-3", "api")
    assert result.exit_code == 2 and "-n" in result.output


def test_db_upgrade_and_current(env: dict[str, str]) -> None:
    assert_one_line_error(run(env, "db", "current"), 1, "database unreachable: unable to open database file")
    result = run(env, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output
    result = run(env, "db", "current")
    assert result.exit_code == 0 and "(up to date)" in result.output


def test_db_connections_on_sqlite_reports_the_file(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    result = run(env, "db", "connections")
    assert result.exit_code == 0, result.output
    assert f"SQLite file: {env['APP_HOME']}/var/app.db" in result.output
    assert "journal mode: wal" in result.output
    assert "API pool: unknown (API unreachable)" in result.output


def test_users_need_a_schema_first(env: dict[str, str]) -> None:
    assert_one_line_error(run(env, "users", "list"), 1, "run `ctl db upgrade`")


def test_users_and_api_keys_round_trip(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    result = run(env, "users", "create", "--email", "ops@example.com", input="correct horse battery\n" * 2)
    assert result.exit_code == 0, result.output
    assert re.search(r"created user \d+ ops@example.com", result.output)
    again = run(env, "users", "create", "--email", "ops@example.com", "--password", "another long one")
    assert_one_line_error(again, 1, "")
    assert "ops@example.com" in run(env, "users", "list").output

    created = run(env, "apikeys", "create", "--email", "ops@example.com", "--name", "ci")
    assert created.exit_code == 0, created.output
    key = re.search(r"key \(shown once, store it now\): (sk_\S+)", created.output)
    assert key is not None
    listing = run(env, "apikeys", "list")
    assert key.group(1) not in listing.output and "active" in listing.output
    key_id = re.search(r"created API key (\d+)", created.output).group(1)  # type: ignore[union-attr]
    assert run(env, "apikeys", "revoke", key_id).exit_code == 0
    assert "revoked" in run(env, "apikeys", "list", "--email", "ops@example.com").output
    assert run(env, "apikeys", "revoke", key_id).exit_code == 0  # revoking twice is harmless
    assert_one_line_error(run(env, "apikeys", "revoke", "999"), 1, "no API key with id 999")
    assert_one_line_error(
        run(env, "apikeys", "create", "--email", "nobody@example.com", "--name", "x"), 1, "no user with email"
    )


def test_a_script_gives_the_password_in_ctl_password(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    scripted = {**env, "CTL_PASSWORD": "correct horse battery"}
    made = run(scripted, "users", "create", "--email", "script@example.com")  # no input: no prompt waits
    assert made.exit_code == 0 and made.output.startswith("created user"), made.output
    short = run({**env, "CTL_PASSWORD": "short"}, "users", "set-password", "script@example.com")
    assert_one_line_error(short, 1, "password")
