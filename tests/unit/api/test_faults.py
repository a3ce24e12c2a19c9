"""Fault reports are logged once per interval; only "cannot reach the database" errors become 503."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from api.faults import ThrottledLog, public_reason
from store.db import unavailable_reason


def test_a_fault_is_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    fault_log = ThrottledLog(logging.getLogger("tests.faults"), interval=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="tests.faults"):
        written = [fault_log.warning("db", "down: %s", n) for n in range(100)]
        now[0] = 61.0
        written.append(fault_log.warning("db", "down: %s", "later"))
        fault_log.recovered("db", "back")
        fault_log.recovered("db", "back")  # only once: nothing is reported any more
    assert written.count(True) == 2
    assert [r.getMessage() for r in caplog.records] == ["down: 0", "down: later", "back"]


class FakePsycopgError(Exception):
    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def test_only_unreachable_databases_count_as_unavailable() -> None:
    refused = FakePsycopgError(
        'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
        "Connection refused\n\tIs the server running?",
        None,
    )
    reason = unavailable_reason(OperationalError("SELECT 1", {}, refused))
    assert reason is not None and "\n" not in reason
    assert public_reason(reason) == "Connection refused"  # the server's address stays in the log
    too_many = FakePsycopgError("sorry, too many clients already", "53300")
    assert unavailable_reason(OperationalError("SELECT 1", {}, too_many)) == "sorry, too many clients already"
    # A statement's own failure is a bug (500), not an outage.
    missing_table = FakePsycopgError('relation "items" does not exist', "42P01")
    assert unavailable_reason(ProgrammingError("SELECT", {}, missing_table)) is None
    assert (
        unavailable_reason(OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")))
        is None
    )
    assert unavailable_reason(ValueError("not a database error")) is None
