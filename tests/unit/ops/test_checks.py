"""The one declaration of health URLs follows the configured ports."""

from __future__ import annotations

from config.config import load
from ops.checks import health_url


def test_urls_follow_the_configured_ports() -> None:
    s = load(
        {"API_PORT": "9001", "FRONTEND_PORT": "9002", "WORKER_HEALTH_PORT": "9100", "API_HOST": "0.0.0.0"},
        environ={},
    )
    assert health_url(s, "api", "api") == "http://127.0.0.1:9001/health"
    assert health_url(s, "frontend", "frontend") == "http://127.0.0.1:9002/"
    assert health_url(s, "worker", "worker_0") == "http://127.0.0.1:9100/health"
    assert health_url(s, "worker", "worker_3") == "http://127.0.0.1:9103/health"
    assert health_url(s, "healthcheck", "healthcheck") is None
