"""gunicorn settings for the API, all read from config (see src/config/config.py).

supervisord runs: gunicorn -c conf/gunicorn.conf.py api.app:app
"""

from pathlib import Path
from typing import Any

from config.config import get_settings

_settings = get_settings()

bind = f"{_settings.API_HOST}:{_settings.API_PORT}"
workers = _settings.API_WORKERS
worker_class = "uvicorn_worker.UvicornWorker"
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
    import sys

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((_settings.API_HOST, _settings.API_PORT))
        except OSError as exc:
            sys.stderr.write(f"api: cannot listen on {bind}: {exc.strerror} (set API_PORT to a free port)\n")
            sys.exit(1)


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
    """Check the port, then apply migrations once in the master, before any worker forks."""
    _refuse_taken_port()
    _migrate_when_reachable(server)
