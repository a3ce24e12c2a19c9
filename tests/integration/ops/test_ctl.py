"""ctl against a real stack: the reference's status test verbatim, and every supervisord-facing command."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from cli.ctl import cli
from tests.integration.ops.conftest import ctl, info, stack_settings
from tests.support.stack import Stack

pytestmark = pytest.mark.stack
# Nothing here touches the frontend or needs a second API worker: a lighter stack, whose process
# list (and the expectations drawn from it) follows the conf.
STACK_SETTINGS = {"API_WORKERS": "1"}
STACK_OPTIONS = {"frontend": False}


@pytest.fixture(autouse=True)
def pointed_at_stack(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack's settings in the environment, as a developer's shell or .env would hold them."""
    for name, value in stack_settings(stack).items():
        monkeypatch.setenv(name, value)


# The reference's testing example, verbatim.
def test_status_command():
    runner = CliRunner()
    result = runner.invoke(cli, ["status"])
    assert result.exit_code == 0
    assert "System Status" in result.output


def test_status_shows_api_pool_database_programs_and_workers(stack: Stack) -> None:
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 0 and result.exception is None, result.output
    out = result.output
    assert f"API         healthy  {stack.api_url}/health" in out
    assert re.search(r"  pool      backend=sqlite, class=\w+, size=5", out)
    assert "Database    reachable  sqlite" in out
    assert "items     pending 0, processing 0, done 0, failed 0  (total 0)" in out
    assert f"supervisord RUNNING, {len(stack.declared_names())} processes, all healthy" in out
    assert "Workers     worker_0 healthy, worker_1 healthy" in out


def test_status_json(stack: Stack) -> None:
    result = CliRunner().invoke(cli, ["status", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["api"]["status"] == "healthy" and body["database"]["reachable"] is True
    assert sorted(p["name"] for p in body["supervisord"]["processes"]) == stack.declared_names()


def test_db_connections_shows_the_api_pool_and_the_file(stack: Stack) -> None:
    result = CliRunner().invoke(cli, ["db", "connections"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("API pool: backend=sqlite")
    assert f"SQLite file: {stack.home}/var/app.db" in result.output
    assert "journal mode: wal" in result.output


def test_logs_tail_lines_of_one_program(stack: Stack) -> None:
    result = CliRunner().invoke(cli, ["logs", "tail", "-n", "5", "api"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert 0 < len(lines) <= 5
    assert any("GET /health" in line for line in lines)


def test_logs_tail_all_prefixes_each_program(stack: Stack) -> None:
    result = CliRunner().invoke(cli, ["logs", "tail", "-n", "2", "all"])
    assert result.exit_code == 0, result.output
    prefixes = {line.split("|")[0].strip() for line in result.output.splitlines()}
    assert prefixes >= {"api", "worker_0", "worker_1", "healthcheck"}


def test_restart_waits_for_health(stack: Stack) -> None:
    pid = info(stack, "worker_1")["pid"]
    result = CliRunner().invoke(cli, ["restart", "worker_1"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["restarting worker_1", "healthy: worker_1"]
    assert info(stack, "worker_1")["pid"] != pid


def test_stop_then_start(stack: Stack) -> None:
    stopped = CliRunner().invoke(cli, ["stop", "worker_0"])
    assert stopped.exit_code == 0 and stopped.output == "worker_0: stopped\n"
    assert info(stack, "worker_0")["statename"] == "STOPPED"
    down = CliRunner().invoke(cli, ["status"])
    assert down.exit_code == 1 and "not healthy: worker_0" in down.output
    started = CliRunner().invoke(cli, ["start", "worker_0"])
    assert started.exit_code == 0, started.output
    assert started.output == "worker_0: starting\nhealthy: worker_0\n"
    assert info(stack, "worker_0")["statename"] == "RUNNING"


def test_unknown_program_is_one_line(stack: Stack) -> None:
    result = CliRunner().invoke(cli, ["restart", "nosuch"])
    assert result.exit_code == 1
    known = ", ".join(stack.declared_groups())  # api, frontend, healthcheck, worker, ...
    assert result.output == f"Error: no program named 'nosuch' (known: {known})\n"


def test_console_module_runs_as_a_user_runs_it(stack: Stack) -> None:
    done = ctl(stack, "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("System Status\n")
