"""The probe server over real HTTP: codes of /health, /livez, /readyz in each state; /metrics parses."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import plain_http
from tests.support.net import port_is_free
from workers.health import BACKING_OFF, DRAINING, IDLE, RUNNING, STARTING, STOPPED, HealthServer, HealthStatus


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def probe() -> Iterator[tuple[HealthStatus, FakeClock, str]]:
    clock = FakeClock()
    status = HealthStatus("example_worker", 3, stall_seconds=10, clock=clock)
    server = HealthServer(status, port=0).start()
    yield status, clock, f"http://127.0.0.1:{server.port}"
    port = server.port
    server.stop()
    assert port_is_free(port)


def codes(url: str) -> tuple[int, int, int]:
    return tuple(
        plain_http.get(url + path, timeout=2).status_code  # type: ignore[return-value]
        for path in ("/health", "/livez", "/readyz")
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (STARTING, (200, 200, 503)),
        (RUNNING, (200, 200, 200)),
        (IDLE, (200, 200, 200)),
        (BACKING_OFF, (200, 200, 503)),
        (DRAINING, (200, 200, 503)),
        (STOPPED, (200, 200, 503)),
    ],
)
def test_codes_in_each_state(
    probe: tuple[HealthStatus, FakeClock, str], state: str, expected: tuple[int, int, int]
) -> None:
    status, _, url = probe
    status.set_state(state)
    assert codes(url) == expected


def test_a_stalled_loop_is_unhealthy(probe: tuple[HealthStatus, FakeClock, str]) -> None:
    status, clock, url = probe
    status.set_state(RUNNING)
    status.heartbeat()
    clock.now += 11
    assert codes(url) == (503, 503, 503)
    body = plain_http.get(url + "/health").json()
    assert body["status"] == "unhealthy" and body["seconds_since_heartbeat"] == 11
    status.heartbeat()
    assert codes(url) == (200, 200, 200)


def test_not_ready_reason_makes_readyz_503_and_says_why(probe: tuple[HealthStatus, FakeClock, str]) -> None:
    status, _, url = probe
    status.set_state(IDLE)
    status.not_ready_reason = "the items table does not exist yet"
    response = plain_http.get(url + "/readyz")
    assert response.status_code == 503
    assert response.json()["not_ready_reason"] == "the items table does not exist yet"


def test_health_body_reports_the_counters(probe: tuple[HealthStatus, FakeClock, str]) -> None:
    status, clock, url = probe
    status.set_state(IDLE)
    status.record_batch(7, 0.02)
    status.record_error(RuntimeError("db down"), 0.01)
    clock.now += 4
    body = plain_http.get(url + "/health").json()
    assert body["worker"] == "example_worker" and body["worker_id"] == 3
    assert body["batches"] == 1 and body["items_processed"] == 7
    assert body["consecutive_errors"] == 1 and body["last_error"] == "RuntimeError: db down"
    assert body["uptime_seconds"] == 4 and body["state"] == "idle"


def test_metrics_parse_as_prometheus_text(probe: tuple[HealthStatus, FakeClock, str]) -> None:
    status, _, url = probe
    status.set_state(IDLE)
    status.record_batch(5, 0.2)
    response = plain_http.get(url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, s.labels.get("state")): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("worker_items_processed_total", None)] == 5
    assert samples[("worker_batches_total", None)] == 1
    assert samples[("worker_state", "idle")] == 1 and samples[("worker_state", "running")] == 0
    assert samples[("worker_batch_duration_seconds_count", None)] == 1
    assert samples[("worker_ready", None)] == 1


def test_two_workers_in_one_process_keep_separate_metrics() -> None:
    first = HealthStatus("a", 0, stall_seconds=10)
    second = HealthStatus("b", 1, stall_seconds=10)
    first.record_batch(3, 0.1)
    name = "worker_items_processed_total"
    assert first.registry.get_sample_value(name, {"worker": "a", "worker_id": "0"}) == 3
    assert second.registry.get_sample_value(name, {"worker": "b", "worker_id": "1"}) == 0


def test_unknown_path_is_404_json(probe: tuple[HealthStatus, FakeClock, str]) -> None:
    _, _, url = probe
    response = plain_http.get(url + "/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_retry_after_errors_is_not_ready_until_a_batch_succeeds(
    probe: tuple[HealthStatus, FakeClock, str],
) -> None:
    status, _, url = probe
    status.record_error(RuntimeError("db down"), 0.01)
    status.set_state(RUNNING)  # the retry attempt itself
    assert codes(url) == (200, 200, 503)
    status.record_batch(0, 0.01)
    assert codes(url) == (200, 200, 200)


def _raw(url: str, request: bytes) -> bytes:
    """Send a raw request and read until the server closes (HTTP/1.0): every byte it wrote."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("path", ["/health", "/livez", "/readyz", "/metrics", "/nope"])
def test_head_answers_like_get_without_a_body(probe: tuple[HealthStatus, FakeClock, str], path: str) -> None:
    _, _, url = probe
    get = plain_http.get(url + path, timeout=2)
    raw = _raw(url, f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    assert body == b""
    status_line, *header_lines = head.decode().split("\r\n")
    assert int(status_line.split()[1]) == get.status_code
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert headers["Content-Type"] == get.headers["content-type"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_other_methods_are_405_with_allow(probe: tuple[HealthStatus, FakeClock, str], method: str) -> None:
    _, _, url = probe
    response = httpx.request(method, url + "/health", content=b"{}", timeout=2)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"
