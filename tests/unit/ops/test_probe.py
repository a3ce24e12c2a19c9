"""Health probes against real HTTP servers on free ports."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from ops.probe import probe, probe_all
from tests.support.net import free_port


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/worker":
            body = b'{"state": "idle", "items_processed": 7, "errors_total": 0, "last_error": null}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        code = 200 if self.path == "/health" else 503
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def hung_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a SIGSTOPped server."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def test_healthy_url_is_ok_with_latency(server: str) -> None:
    result = probe(server + "/health")
    assert result.ok and result.status == 200 and result.latency_ms > 0
    assert result.summary().startswith("ok ")


def test_error_status_is_not_ok(server: str) -> None:
    result = probe(server + "/other")
    assert not result.ok and result.status == 503 and result.summary() == "HTTP 503"


def test_refused_is_not_ok() -> None:
    result = probe(f"http://127.0.0.1:{free_port()}/health")
    assert not result.ok and result.error == "connection refused"


class _BarrierHandler(http.server.BaseHTTPRequestHandler):
    """Answers 200 only once three requests are in flight together: proof the probes overlap."""

    barrier = threading.Barrier(3, timeout=5)

    def do_GET(self) -> None:
        try:
            self.barrier.wait()
            code = 200
        except threading.BrokenBarrierError:
            code = 500
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_probes_run_in_parallel() -> None:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BarrierHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        results = probe_all([f"{base}/a", f"{base}/b", f"{base}/c"], timeout=10)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert [r.status for r in results.values()] == [200, 200, 200]


def test_a_hung_server_costs_one_timeout_not_a_stall(hung_port: int, server: str) -> None:
    urls = [f"http://127.0.0.1:{hung_port}/a", server + "/health"]
    results = probe_all(urls, timeout=0.5)
    assert results[urls[0]].error == "timed out after 0.5s"
    assert results[urls[1]].ok


def test_a_json_answer_is_kept_as_the_report(server: str) -> None:
    worker = probe(server + "/worker")
    assert worker.ok and worker.report == {
        "state": "idle",
        "items_processed": 7,
        "errors_total": 0,
        "last_error": None,
    }
    assert probe(server + "/health").report is None  # not declared as JSON: no report
