"""Every SUPERVISOR_SERVERS host through the API, against two real supervisords on this machine:
this machine's (a unix socket) and a second on a TCP port with a password, plus a host listed twice,
one with wrong credentials and one that hangs. Actions and logs on the second host with ``?host=``,
audited with the host; a host not configured is a 404. (The page: tests/e2e/test_admin_services.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.e2e.test_admin_services import bearer, build_app, make_users, supervisord  # noqa: F401 - fixture
from tests.support.inet_supervisord import CHATTY, SLEEP, HangingPort, InetSupervisord
from tests.support.wait import wait_until

pytestmark = pytest.mark.stack

HOSTS = "/api/v1/admin/hosts"


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InetSupervisord]:
    home = tmp_path_factory.mktemp("remote-host")
    with InetSupervisord(home / "b", {"remote_sleeper": SLEEP, "remote_chatty": CHATTY}) as host:
        yield host


@pytest.fixture(scope="module")
def hanging() -> Iterator[HangingPort]:
    with HangingPort() as port:
        yield port


@pytest.fixture(scope="module")
def app(
    supervisord: Path,  # noqa: F811 - the fixture imported above
    remote: InetSupervisord,
    hanging: HangingPort,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FastAPI]:
    servers = [
        f"unix://{supervisord}",
        remote.url,
        f"http://127.0.0.1:{remote.port}",  # the same host again (credentials from the settings)
        f"http://ops:wrong@localhost:{remote.port}",  # wrong credentials
        hanging.url,
    ]
    built = build_app(
        tmp_path_factory.mktemp("hosts-api"),
        supervisord,
        env={
            "SUPERVISOR_SERVERS": ",".join(servers),
            "SUPERVISOR_HOST_TIMEOUT": "1",
            "API_LOG_DOWNLOAD_MAX_BYTES": "2048",
        },
    )
    make_users(built)
    yield built
    built.state.db.engine.dispose()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def admin(client: TestClient) -> dict[str, str]:
    return bearer(client, "admin@example.com")


def test_every_host_is_listed_once_with_its_state_or_why_not(
    client: TestClient,
    admin: dict[str, str],
    supervisord: Path,  # noqa: F811
    remote: InetSupervisord,
    hanging: HangingPort,
) -> None:
    r = client.get(HOSTS, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    hosts = {h["label"]: h for h in body["hosts"]}
    assert list(hosts) == [str(supervisord), remote.label, f"localhost:{remote.port}", hanging.label]
    assert body["repeated"] == [remote.label] and body["timeout_seconds"] == 1.0

    local = hosts[str(supervisord)]
    assert local["local"] is True and local["reachable"] is True
    assert {p["name"] for p in local["programs"]} == {"sleeper", "broken"}

    second = hosts[remote.label]
    assert second["local"] is False and second["reachable"] and second["supervisord"] == "RUNNING"
    assert {p["name"]: p["state"] for p in second["programs"]} == {
        "remote_sleeper": "RUNNING",
        "remote_chatty": "RUNNING",
    }
    assert second["programs"][0]["pid"] > 0 and second["error"] is None

    denied = hosts[f"localhost:{remote.port}"]
    assert denied["reachable"] is False and denied["programs"] == []
    assert "refused us: it wants a (right) username and password" in denied["error"]
    assert "wrong" not in denied["error"] and "Traceback" not in denied["error"]

    hung = hosts[hanging.label]
    assert (
        hung["reachable"] is False
        and hung["error"] == f"supervisord did not answer within 1s ({hanging.url})"
    )


def test_hosts_are_for_admins_only(client: TestClient) -> None:
    assert client.get(HOSTS).status_code == 401
    assert client.get(HOSTS, headers=bearer(client, "user@example.com")).status_code == 403
    user = bearer(client, "user@example.com")
    assert (
        client.post("/api/v1/admin/services/remote_sleeper/restart?host=x:1", headers=user).status_code == 403
    )


def test_actions_on_a_remote_host_are_done_there_and_audited_with_it(
    client: TestClient, admin: dict[str, str], remote: InetSupervisord
) -> None:
    before = remote.pid("remote_sleeper")
    base = "/api/v1/admin/services/remote_sleeper"
    r = client.post(f"{base}/restart", params={"host": remote.label}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "RUNNING" and r.json()["pid"] == remote.pid("remote_sleeper") != before

    r = client.post(f"{base}/stop", params={"host": remote.label}, headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "STOPPED", r.text
    assert remote.infos()["remote_sleeper"]["statename"] == "STOPPED"
    r = client.post(f"{base}/start", params={"host": remote.label}, headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "RUNNING", r.text

    # Not on this machine's supervisord, nor on a host not configured.
    assert client.post(f"{base}/restart", headers=admin).status_code == 404
    unknown = client.post(f"{base}/restart", params={"host": "10.9.9.9:9001"}, headers=admin)
    assert unknown.status_code == 404 and "no host 10.9.9.9:9001" in unknown.json()["error"]["message"]
    denied = client.post(f"{base}/restart", params={"host": f"localhost:{remote.port}"}, headers=admin)
    assert denied.status_code == 503 and "Traceback" not in denied.text

    entries = client.get("/api/v1/admin/audit", params={"limit": 6}, headers=admin).json()["items"][::-1]
    assert [(e["action"], e["host"], e["outcome"]) for e in entries[-6:]] == [
        ("service.restart", remote.label, "ok"),
        ("service.stop", remote.label, "ok"),
        ("service.start", remote.label, "ok"),
        ("service.restart", None, "failed"),
        ("service.restart", "10.9.9.9:9001", "failed"),
        ("service.restart", f"localhost:{remote.port}", "failed"),
    ]


def test_a_remote_programs_log_is_read_and_downloaded_capped(
    client: TestClient, admin: dict[str, str], remote: InetSupervisord
) -> None:
    host = {"host": remote.label}
    log = "/api/v1/admin/services/remote_chatty/log"
    wait_until(
        lambda: (
            (remote.home / "remote_chatty.log").exists()
            and (remote.home / "remote_chatty.log").stat().st_size > 4096
        ),
        timeout=30,
        message="the chatty program to write 4 KiB",  # 8 at start
    )
    r = client.get(log, params={**host, "lines": 5}, headers=admin)
    assert r.status_code == 200, r.text
    lines = [entry["line"] for entry in r.json()["lines"]]
    assert len(lines) == 5 and all(" remote" in line for line in lines)

    r = client.get(f"{log}/download", params=host, headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="remote_chatty.log"'
    assert r.headers["x-log-truncated"] == "true" and int(r.headers["x-log-size"]) > 2048
    assert 0 < len(r.content) <= 2048 and b"remote" in r.content

    group = client.get("/api/v1/admin/services/nosuch/log/download", params=host, headers=admin)
    assert group.status_code == 404
    user = bearer(client, "user@example.com")
    assert client.get(f"{log}/download", params=host, headers=user).status_code == 403
