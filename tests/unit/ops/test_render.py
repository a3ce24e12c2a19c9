"""Status as a plain table and JSON, and the exit code it implies."""

from __future__ import annotations

import json

from ops.probe import ProbeResult
from ops.render import format_uptime, plain_table, status_json
from ops.status import ProcessStatus, StackStatus


def proc(
    name: str, state: str, ok: bool | None = True, group: str | None = None, spawnerr: str = ""
) -> ProcessStatus:
    p = ProcessStatus(
        name=name,
        group=group or name,
        state=state,
        pid=100 if state == "RUNNING" else 0,
        started_at=1000,
        now=1065,
        exitstatus=0,
        spawnerr=spawnerr,
        description="",
        health_url=None if ok is None else f"http://127.0.0.1:1/{name}",
    )
    if ok is not None and state == "RUNNING":
        error = None if ok else "connection refused"
        p.health = ProbeResult(p.health_url or "", ok, 200 if ok else None, 3.2, error)
    return p


def test_all_healthy_exit_0() -> None:
    status = StackStatus("RUNNING", [proc("api", "RUNNING"), proc("healthcheck", "RUNNING", ok=None)])
    assert status.exit_code == 0
    text = plain_table(status)
    assert text.splitlines()[0].split() == ["NAME", "STATE", "PID", "UPTIME", "HEALTH", "DETAIL"]
    assert "api          RUNNING  100  0:01:05  ok 3ms  http://127.0.0.1:1/api" in text
    assert text.splitlines()[-1] == "supervisord RUNNING, 2 processes, all healthy"


def test_unhealthy_or_failed_exit_1_and_says_why() -> None:
    fatal = proc("worker_0", "FATAL", group="worker", spawnerr="Exited too quickly")
    status = StackStatus("RUNNING", [proc("api", "RUNNING", ok=False), fatal])
    assert status.exit_code == 1
    text = plain_table(status)
    assert "health check failed: connection refused" in text
    assert "Exited too quickly" in text
    assert text.endswith("2 not healthy: api, worker_0")
    assert [p.full_name for p in status.unhealthy()] == ["api", "worker:worker_0"]


def test_json_has_every_process() -> None:
    body = json.loads(status_json(StackStatus("RUNNING", [proc("api", "RUNNING")])))
    assert body["healthy"] is True
    assert body["processes"][0]["health"]["status"] == 200 and body["processes"][0]["uptime_seconds"] == 65


def test_uptime_format() -> None:
    assert format_uptime(None) == "-"
    assert format_uptime(3 * 86400 + 3661) == "3d 01:01:01"
