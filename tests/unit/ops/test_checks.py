"""Health checks declared in the programs' conf files, filled from config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.config import load
from config.programs import program_processes
from ops.checks import declared_checks, read_declarations
from ops.errors import BadInput

REPO = Path(__file__).resolve().parents[3]


def test_the_repository_programs_follow_the_configured_ports() -> None:
    s = load(
        {"API_PORT": "9001", "FRONTEND_PORT": "9002", "WORKER_HEALTH_PORT": "9100", "API_HOST": "0.0.0.0"},
        environ={},
    )
    checks = declared_checks(s)
    assert checks.url(s, "api") == "http://127.0.0.1:9001/health"
    assert checks.url(s, "frontend") == "http://127.0.0.1:9002/"
    assert checks.url(s, "worker_0") == "http://127.0.0.1:9100/health"
    assert checks.url(s, "worker_1") == "http://127.0.0.1:9101/health"
    assert checks.url(s, "healthcheck") is None
    # Liveness: what the listener restarts on (never the API's /health, which fails with its database).
    assert checks.liveness_url(s, "api") == "http://127.0.0.1:9001/livez"
    assert checks.liveness_url(s, "worker_1") == "http://127.0.0.1:9101/livez"
    assert (
        checks.liveness_url(s, "frontend") == "http://127.0.0.1:9002/"
    )  # no liveness_check: its health_check
    assert checks.liveness_url(s, "healthcheck") is None


def _stack_conf(tmp_path: Path, program: str) -> Path:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "new.conf").write_text(program)
    main = tmp_path / "supervisord.conf"
    main.write_text("[supervisord]\nlogfile = x.log\n\n[include]\nfiles = conf.d/*.conf\n")
    return main


def test_a_new_programs_own_file_declares_its_check(tmp_path: Path) -> None:
    main = _stack_conf(
        tmp_path,
        "[program:reports]\ncommand = /bin/true\nprocess_name = rep-%(process_num)02d\nnumprocs = 2\n"
        "numprocs_start = 1\nhealth_check = http://{API_HOST}:{API_PORT+process_num}/ok  ; inline comment\n\n"
        "[program:quiet]\ncommand = /bin/true\nhealth_check = none\n\n"
        "[program:silent]\ncommand = /bin/true\n",
    )
    s = load({"API_PORT": "7000"}, environ={})
    checks = read_declarations(main)
    assert checks.url(s, "rep-01") == "http://127.0.0.1:7001/ok"
    assert checks.url(s, "rep-02") == "http://127.0.0.1:7002/ok"
    assert checks.url(s, "quiet") is None and checks.url(s, "silent") is None


def test_a_typo_in_a_placeholder_names_the_program_and_file(tmp_path: Path) -> None:
    main = _stack_conf(tmp_path, "[program:x]\ncommand = /bin/true\nhealth_check = http://h:{API_PROT}/\n")
    with pytest.raises(BadInput) as caught:
        read_declarations(main).url(load(environ={}), "x")
    assert "program x" in str(caught.value)
    assert "new.conf [program:x]" in str(caught.value) and "{API_PROT}" in str(caught.value)


TEAM_PROGRAM = """[program:team]
command = /bin/true
process_name = %(program_name)s_%(process_num)d
numprocs = 2
environment = PATH="%(here)s/bin:%(ENV_PATH)s",WORKER_HEALTH_PORT="28100",TEAM_HOST="0.0.0.0"
health_check = http://{TEAM_HOST}:{WORKER_HEALTH_PORT+process_num}/health
liveness_check = http://{WORKER_HEALTH_HOST}:{WORKER_HEALTH_PORT+process_num}/livez
"""


def test_placeholders_come_from_the_programs_own_environment_first(tmp_path: Path) -> None:
    main = _stack_conf(tmp_path, TEAM_PROGRAM)
    s = load({"WORKER_HEALTH_PORT": "8090"}, environ={})  # the stack's own workers' port
    checks = read_declarations(main)
    assert checks.url(s, "team_0") == "http://127.0.0.1:28100/health"
    assert checks.url(s, "team_1") == "http://127.0.0.1:28101/health"
    # A placeholder its environment does not set comes from the settings (the host here).
    assert checks.liveness_url(s, "team_1") == "http://127.0.0.1:28101/livez"


def test_config_check_names_the_program_whose_placeholder_nobody_defines(tmp_path: Path) -> None:
    main = _stack_conf(tmp_path, TEAM_PROGRAM.replace("{TEAM_HOST}", "{TEAM_HOTS}"))
    env = {**os.environ, "APP_HOME": str(tmp_path), "SUPERVISOR_CONFIG": str(main), "APP_ENV": "test"}
    result = subprocess.run(
        [sys.executable, "-m", "config", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: program team (") and "[program:team]" in line
    assert "{TEAM_HOTS} in its health_check is neither in its environment= nor a setting" in line
    assert "Traceback" not in result.stderr


def test_config_check_passes_the_repository_programs() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SUPERVISOR_CONFIG"}
    result = subprocess.run(
        [sys.executable, "-m", "config", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_a_missing_config_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="SUPERVISOR_CONFIG"):
        read_declarations(tmp_path / "nope.conf")


def test_the_declared_processes_are_what_supervisord_runs(tmp_path: Path) -> None:
    main = _stack_conf(
        tmp_path,
        "[program:reports]\ncommand = /bin/true\nprocess_name = rep-%(process_num)02d\nnumprocs = 2\n"
        "numprocs_start = 1\n\n[eventlistener:listener]\ncommand = /bin/true\nevents = TICK_5\n\n"
        "[program:manual]\ncommand = /bin/true\nautostart = false\n\n"
        "[program:gone]\ncommand = /bin/true\nnumprocs = 0\n",
    )
    found = {p.name: (p.group, p.autostart) for p in program_processes(main)}
    assert found == {
        "rep-01": ("reports", True),
        "rep-02": ("reports", True),
        "listener": ("listener", True),
        "manual": ("manual", False),
    }


def test_a_later_include_changes_an_earlier_program_and_the_home_is_the_working_directory(
    tmp_path: Path,
) -> None:
    """The shape file bin/run writes (home/var/supervisord.d/, included as /proc/self/cwd/...)
    overrides numprocs, as it does in supervisord; [group:x] regroups its programs."""
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "w.conf").write_text(
        "[program:worker]\ncommand = /bin/true\nprocess_name = %(program_name)s_%(process_num)d\n"
        "numprocs = 2\n\n[program:a]\ncommand = /bin/true\n\n[group:pair]\nprograms = a\n"
    )
    main = tmp_path / "supervisord.conf"
    main.write_text("[include]\nfiles = conf.d/*.conf /proc/self/cwd/var/supervisord.d/*.conf\n")
    home = tmp_path / "home"
    (home / "var" / "supervisord.d").mkdir(parents=True)
    (home / "var" / "supervisord.d" / "shape.conf").write_text("[program:worker]\nnumprocs = 3\n")
    names = [(p.name, p.group) for p in program_processes(main, home)]
    assert names == [("a", "pair"), ("worker_0", "worker"), ("worker_1", "worker"), ("worker_2", "worker")]


def test_the_repository_declares_the_template_programs() -> None:
    names = {p.name for p in program_processes(REPO / "supervisord.conf", REPO / "no-such-home")}
    assert {"api", "frontend", "healthcheck", "worker_0", "worker_1"} <= names
