"""Endpoints of several hosts: parsing, labels without passwords, health URLs moved to the host."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ops.hosts import BadEndpoint, configured_servers, parse_endpoint
from ops.status import on_host

SETTINGS = SimpleNamespace(
    SUPERVISOR_USERNAME="ops",
    SUPERVISOR_PASSWORD="pw",
    SUPERVISOR_SERVERS=" http://a:9001 , unix:///tmp/s.sock,",
)


def test_http_endpoint_label_and_remote_host() -> None:
    host = parse_endpoint("http://user:hunter2@10.0.0.5:9101", SETTINGS)
    assert host.label == "10.0.0.5:9101"
    assert host.client.socket_path == "http://10.0.0.5:9101"
    assert host.client.remote_host == "10.0.0.5"


def test_unix_endpoint_is_local() -> None:
    host = parse_endpoint("unix:///tmp/x/supervisor.sock", SETTINGS)
    assert host.label == "/tmp/x/supervisor.sock" and host.client.remote_host is None


def test_bad_endpoint_hides_the_password() -> None:
    with pytest.raises(BadEndpoint) as caught:
        parse_endpoint("ftp://u:hunter2@h/x", SETTINGS)
    assert "hunter2" not in str(caught.value) and caught.value.exit_code == 2


def test_servers_flag_wins_over_config() -> None:
    assert configured_servers(SETTINGS, ["http://b:1"]) == ["http://b:1"]
    assert configured_servers(SETTINGS, None) == ["http://a:9001", "unix:///tmp/s.sock"]


def test_health_url_moves_to_the_host() -> None:
    assert on_host("http://127.0.0.1:8090/health", "10.0.0.5") == "http://10.0.0.5:8090/health"
    assert on_host("http://127.0.0.1:8090/health", None) == "http://127.0.0.1:8090/health"
    assert on_host(None, "10.0.0.5") is None


def test_the_same_host_listed_twice_is_refused_naming_it() -> None:
    from ops.hosts import hosts_for

    with pytest.raises(BadEndpoint, match=r"host 10\.0\.0\.5:9001 is listed twice") as caught:
        hosts_for(SETTINGS, ["http://10.0.0.5:9001", "http://10.0.0.6:9001", "http://ops:x@10.0.0.5:9001/"])
    assert caught.value.exit_code == 2 and "x@" not in str(caught.value)
    assert [h.label for h in hosts_for(SETTINGS, ["http://10.0.0.5", "http://10.0.0.5:9002"])] == [
        "10.0.0.5:9001",
        "10.0.0.5:9002",
    ]
