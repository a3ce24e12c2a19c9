"""Health checks declared in the programs' conf files, filled from config."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.config import load
from ops.checks import declared_checks, read_declarations
from ops.errors import BadInput


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


def test_a_typo_in_a_placeholder_names_the_file(tmp_path: Path) -> None:
    main = _stack_conf(tmp_path, "[program:x]\ncommand = /bin/true\nhealth_check = http://h:{API_PROT}/\n")
    with pytest.raises(BadInput) as caught:
        read_declarations(main).url(load(environ={}), "x")
    assert "new.conf [program:x]" in str(caught.value) and "{API_PROT}" in str(caught.value)


def test_a_missing_config_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="SUPERVISOR_CONFIG"):
        read_declarations(tmp_path / "nope.conf")
