"""gunicorn settings for the API, all read from config (see src/config/config.py).

supervisord runs: gunicorn -c conf/gunicorn.conf.py api.app:app
"""

import sys

from config.config import ConfigError, get_settings

try:
    _settings = get_settings()
except ConfigError as _error:  # one line, as the API itself says it (api.app), not a traceback
    sys.stderr.write(f"error: the API cannot start: {_error}\n")
    sys.exit(2)

bind = f"{_settings.API_HOST}:{_settings.API_PORT}"
workers = _settings.API_WORKERS
# uvicorn's worker with bounds on the request line and headers (gunicorn's limit_request_* do not
# reach a uvicorn worker): API_MAX_REQUEST_LINE_BYTES, API_MAX_HEADER_BYTES, API_MAX_HEADERS_TOTAL_BYTES;
# it sends no Server header.
worker_class = "api.http_limits.BoundedUvicornWorker"
# Must stay below supervisord's stopwaitsecs (conf/supervisord.d/api.conf) or the drain is cut short.
graceful_timeout = _settings.API_GRACEFUL_TIMEOUT
timeout = 30
keepalive = 5
max_requests = _settings.API_MAX_REQUESTS
max_requests_jitter = _settings.API_MAX_REQUESTS_JITTER
accesslog = "-"
errorlog = "-"
loglevel = _settings.LOG_LEVEL.lower()
proc_name = "api"
forwarded_allow_ips = "127.0.0.1"


def _refuse_taken_port() -> None:
    # gunicorn retries a taken address for 5 s before giving up, long enough that supervisord counts
    # the start as RUNNING and restarts it forever. Failing at once lets it reach FATAL, and says why.
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((_settings.API_HOST, _settings.API_PORT))
        except OSError as exc:
            sys.stderr.write(f"api: cannot listen on {bind}: {exc.strerror} (set API_PORT to a free port)\n")
            sys.exit(1)


def _refuse_unsafe_settings() -> None:
    # What `python -m config check` reports (e.g. a weak JWT secret in production), before the
    # database is touched; each worker checks again in create_app().
    from config.checks import problems

    found = problems(_settings)
    if found:
        sys.stderr.write(f"error: the API cannot start: {'; '.join(found)}\n")
        sys.exit(2)


def on_starting(server: object) -> None:
    """Check settings and port, then apply migrations once in the master, before any worker forks."""
    _refuse_unsafe_settings()
    _refuse_taken_port()
    from store.migrate import upgrade

    upgrade(_settings.DATABASE_URL)
