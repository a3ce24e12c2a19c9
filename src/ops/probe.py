"""HTTP health probes: one GET each through :mod:`http.client`, in parallel, with a short timeout.

Every probe says who it is (``User-Agent: svcstack-probe``) so the API can keep probes out of its
access log (``api.access_log``).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

PROBE_USER_AGENT = "svcstack-probe"


@dataclass(frozen=True)
class ProbeResult:
    """What one GET of a health URL found. ``ok`` means a 2xx answer within the timeout."""

    url: str
    ok: bool
    status: int | None
    latency_ms: float
    error: str | None = None
    # A small JSON object the health URL answered with (a worker's counters), else None.
    report: dict[str, Any] | None = None

    def summary(self) -> str:
        if self.ok:
            return f"ok {self.latency_ms:.0f}ms"
        if self.status is not None:
            return f"HTTP {self.status}"
        return self.error or "failed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return kind(parts.hostname, parts.port, timeout=timeout), path


MAX_REPORT_BYTES = 16 * 1024


def _json_report(response: http.client.HTTPResponse) -> dict[str, Any] | None:
    """The answer's JSON object when it is one and small (a worker's /health: state and counters)."""
    if "json" not in (response.getheader("Content-Type") or ""):
        return None
    body = response.read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)  # 0.1 ms: finer is the clock's noise


def probe(url: str, *, timeout: float = 2.0) -> ProbeResult:
    """GET ``url`` once (each socket operation bounded by ``timeout``); never raises."""
    started = time.perf_counter()
    try:
        connection, path = _connection(url, timeout)
        try:
            connection.request("GET", path, headers={"User-Agent": PROBE_USER_AGENT, "Connection": "close"})
            response = connection.getresponse()
            status = response.status
            report = _json_report(response)
        finally:
            connection.close()
        return ProbeResult(url, 200 <= status < 300, status, _elapsed_ms(started), report=report)
    except TimeoutError:
        error = f"timed out after {timeout:g}s"
    except ConnectionRefusedError:
        error = "connection refused"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")
    return ProbeResult(url, False, None, _elapsed_ms(started), error)


def probe_all(urls: Iterable[str], *, timeout: float = 2.0) -> dict[str, ProbeResult]:
    """Probe every URL at once; the whole call takes about the slowest probe."""
    unique = list(dict.fromkeys(urls))
    results: dict[str, ProbeResult] = {}
    if len(unique) <= 1:
        return {url: probe(url, timeout=timeout) for url in unique}

    def run(url: str) -> None:
        results[url] = probe(url, timeout=timeout)

    # One plain thread per URL (a handful): concurrent.futures would cost more to import than this.
    threads = [threading.Thread(target=run, args=(url,), name="probe", daemon=True) for url in unique]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {url: results[url] for url in unique}
