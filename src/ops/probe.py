"""HTTP health probes: one GET each, in parallel, with a short timeout.

Plain sockets and threads rather than ``http.client`` and ``concurrent.futures``: a probe needs
only the status line, and those imports would cost more than the probes themselves.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ProbeResult:
    """What one GET of a health URL found. ``ok`` means a 2xx answer within the timeout."""

    url: str
    ok: bool
    status: int | None
    latency_ms: float
    error: str | None = None

    def summary(self) -> str:
        if self.ok:
            return f"ok {self.latency_ms:.0f}ms"
        if self.status is not None:
            return f"HTTP {self.status}"
        return self.error or "failed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _status_code(head: bytes) -> int:
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ValueError("not an HTTP response")
    return int(parts[1])


def probe(url: str, *, timeout: float = 2.0) -> ProbeResult:
    """GET ``url`` once (whole exchange bounded by ``timeout``); never raises."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: svcstack-probe\r\n"
        f"Connection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request)
            received = b""
            while b"\r\n" not in received:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        status = _status_code(received)
        elapsed = (time.perf_counter() - started) * 1000
        return ProbeResult(url, 200 <= status < 300, status, elapsed)
    except TimeoutError:
        error = f"timed out after {timeout:g}s"
    except ConnectionRefusedError:
        error = "connection refused"
    except (OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")
    return ProbeResult(url, False, None, (time.perf_counter() - started) * 1000, error)


def probe_all(urls: Iterable[str], *, timeout: float = 2.0) -> dict[str, ProbeResult]:
    """Probe every URL at once; the whole call takes about the slowest probe, at most ``timeout``."""
    unique = list(dict.fromkeys(urls))
    results: dict[str, ProbeResult] = {}
    if len(unique) == 1:
        results[unique[0]] = probe(unique[0], timeout=timeout)
        return results

    def run(url: str) -> None:
        results[url] = probe(url, timeout=timeout)

    threads = [threading.Thread(target=run, args=(url,), daemon=True) for url in unique]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {url: results[url] for url in unique}
