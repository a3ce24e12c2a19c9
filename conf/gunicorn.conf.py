"""gunicorn settings for the API, all read from config (see src/config/config.py).

supervisord runs: gunicorn -c conf/gunicorn.conf.py api.app:app
"""

import sys
from pathlib import Path
from typing import Any

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
# X-Forwarded-For/-Proto are believed only from these peers (API_TRUSTED_PROXIES, empty by default):
# otherwise any client could name its own address and walk around the per-IP limits.
forwarded_allow_ips = _settings.API_TRUSTED_PROXIES
# gunicorn's control socket (gunicornc) would default to one path for every stack of the user
# ($HOME/.gunicorn/gunicorn.ctl); each stack keeps its own under its var/run, mode 0600.
control_socket = str(Path(_settings.VAR_DIR) / "run" / "gunicorn.ctl")
control_socket_mode = 0o600


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


# While the database does not answer at start, migrations are tried again after 1, 2, 4 ... s, at most
# this long apart: the API starts by itself when the database comes back.
MIGRATION_RETRY_MAX_SECONDS = 10.0


def _migrate_when_reachable(server: Any) -> None:
    """Apply migrations; while the database is unreachable, say so in one line (again only when the
    reason changes) and retry. Any other failure (a broken migration) stops the start as before."""
    import time

    from sqlalchemy.engine import make_url

    from store.db import unavailable_reason
    from store.migrate import upgrade

    where = make_url(_settings.DATABASE_URL).render_as_string(hide_password=True)
    delay, reported = 1.0, None
    while True:
        try:
            upgrade(_settings.DATABASE_URL)
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            if reason != reported:
                server.log.error(
                    "api: database unreachable at %s (%s): not serving yet; retrying every %.0f s at most",
                    where,
                    reason,
                    MIGRATION_RETRY_MAX_SECONDS,
                )
                reported = reason
            time.sleep(delay)
            delay = min(delay * 2, MIGRATION_RETRY_MAX_SECONDS)
            continue
        if reported is not None:
            server.log.info("api: database reachable again at %s: migrations applied, starting", where)
        return


def on_starting(server: Any) -> None:
    """Check settings and port, then apply migrations once in the master, before any worker forks
    (waiting for the database while it does not answer)."""
    _refuse_unsafe_settings()
    _refuse_taken_port()
    _migrate_when_reachable(server)
