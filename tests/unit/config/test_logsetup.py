"""config.logsetup: one record is one line in both formats, user-supplied control characters
escaped, the request id on each line of a request."""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.config import load
from config.logsetup import configure, escape, logging_config, request_id_var

HOSTILE = "bob\nFAKE 2026-01-01 INFO api: admin logged in\x1b[2J\x1b[31m\r\x00"


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    yield capsys
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    logging.getLogger().handlers.clear()


def lines_of(tmp_path: Path, stderr: pytest.CaptureFixture[str], fmt: str) -> list[str]:
    configure(load({"APP_HOME": str(tmp_path), "LOG_FORMAT": fmt}, environ={}), program="api")
    log = logging.getLogger("api.test")
    log.warning("login failed for %s", HOSTILE)
    token = request_id_var.set("req-42")
    try:
        log.info("inside")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        request_id_var.reset(token)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "10.0.0.1:5", "GET", "/x?\x1b", "1.1", 404
    )
    return stderr.readouterr().err.splitlines()


def test_json_is_one_object_a_line_and_keeps_the_text_exactly(
    tmp_path: Path, stderr: pytest.CaptureFixture[str]
) -> None:
    lines = lines_of(tmp_path, stderr, "json")
    assert len(lines) == 4
    records = [json.loads(line) for line in lines]
    assert all("\x1b" not in line for line in lines)
    first, inside, failed, access = records
    assert first["message"] == f"login failed for {HOSTILE}" and "request_id" not in first
    assert first["level"] == "WARNING" and first["logger"] == "api.test" and first["program"] == "api"
    assert inside["request_id"] == "req-42" and failed["request_id"] == "req-42"
    assert "ValueError: boom" in failed["exc_info"]
    assert access["status"] == 404 and access["path"] == "/x?\x1b" and access["method"] == "GET"
    assert access["client"] == "10.0.0.1:5"


def test_text_escapes_control_characters_and_names_the_request(
    tmp_path: Path, stderr: pytest.CaptureFixture[str]
) -> None:
    lines = lines_of(tmp_path, stderr, "text")
    assert all("\x1b" not in line and "\r" not in line for line in lines)
    assert lines[0].endswith(
        r"login failed for bob\nFAKE 2026-01-01 INFO api: admin logged in\x1b[2J\x1b[31m\r\x00"
    )
    assert " WARNING api.test[" in lines[0]
    assert " request_id=req-42: inside" in lines[1]
    # A traceback is ours: its lines stay lines (after the record's first line).
    assert " request_id=req-42: failed" in lines[2] and lines[3] == "Traceback (most recent call last):"
    assert lines[-1].endswith(r'"GET /x?\x1b HTTP/1.1" 404')


def test_escape() -> None:
    assert escape("plain text ünïcode") == "plain text ünïcode"
    assert escape("a\nb\tc\x1b[0m\x7f\x85") == r"a\nb\tc\x1b[0m\x7f\x85"


def test_every_handler_writes_to_stderr(tmp_path: Path) -> None:
    # The health listener's stdout is supervisord's event protocol: no log line may go there.
    config = logging_config(load({"APP_HOME": str(tmp_path)}, environ={}), program="healthcheck")
    assert [h["stream"] for h in config["handlers"].values()] == ["ext://sys.stderr"]


@pytest.mark.parametrize(
    ("env", "expected"), [("production", "json"), ("development", "text"), ("test", "text")]
)
def test_json_is_the_production_default(tmp_path: Path, env: str, expected: str) -> None:
    overrides = {"APP_HOME": str(tmp_path), "APP_ENV": env, "JWT_SECRET": "x" * 40}
    assert load(overrides, environ={}).LOG_FORMAT == expected
    assert load({**overrides, "LOG_FORMAT": "TEXT"}, environ={}).LOG_FORMAT == "text"


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    from config.config import ConfigError

    with pytest.raises(ConfigError, match=r"LOG_FORMAT='xml'.*must be json or text"):
        load({"APP_HOME": str(tmp_path), "LOG_FORMAT": "xml"}, environ={})


def test_the_access_log_can_be_turned_off(tmp_path: Path) -> None:
    settings = load({"APP_HOME": str(tmp_path), "API_ACCESS_LOG": "false"}, environ={})
    loggers = logging_config(settings, program="api")["loggers"]
    assert loggers["uvicorn.access"]["handlers"] == [] and not loggers["uvicorn.access"]["propagate"]
    assert loggers["gunicorn.error"]["handlers"] == ["stderr"]
