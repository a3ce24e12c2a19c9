"""gunicorn settings for the API, all read from config (see src/config/config.py).

supervisord runs: gunicorn -c conf/gunicorn.conf.py api.app:app
"""

import sys
from pathlib import Path
from typing import Any

from config.config import ConfigError, get_settings
from config.logsetup import logging_config

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
# One logging configuration for gunicorn's own lines, the access lines (uvicorn's, on gunicorn's
# handlers) and the app's: LOG_FORMAT (json: one object a line), on stderr, request ids included.
logconfig_dict = logging_config(_settings, program="api")
# prometheus_client's multiprocess mode: every worker writes its metrics under VAR_DIR/metrics/api
# and the worker answering a scrape adds them up (api.metrics). Set here, in the master's
# environment, so the workers have it before they import prometheus_client.
_metrics_dir = _settings.api_metrics_dir
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={_metrics_dir}"] if _settings.API_METRICS else []
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


# `python -m store.migrate upgrade` exits with this when the database cannot be reached.
MIGRATE_EXIT_UNREACHABLE = 75


def _migrate(server: Any, when: str) -> None:
    """Apply migrations in a process of their own: the master imports nothing of the app but
    `config`, so the workers it forks after a reload (HUP) import all of the new code.

    The database unreachable does not hold the API back: the master listens, the workers answer
    /livez, /readyz says why they are not ready and data routes 503 database_unavailable; a waiter
    process (`python -m store.migrate upgrade --wait`, one at a time) applies the migrations as soon
    as the database answers, and the workers are ready then. A broken migration stops a start; on a
    reload it is logged and the new workers stay not ready (the old schema) instead of failing."""
    import os
    import subprocess

    command = [sys.executable, "-m", "store.migrate", "upgrade"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our argv
    said = (result.stderr.strip() or result.stdout.strip()).splitlines()
    line = said[-1] if said else f"exit status {result.returncode}"
    if result.returncode == 0:
        return
    if result.returncode == MIGRATE_EXIT_UNREACHABLE:
        server.log.error(
            "api: %s: listening anyway (/readyz and data routes answer 503 until it answers); "
            "migrations are applied as soon as it is back",
            line,
        )
        waiter = [*command, "--wait", "--parent", str(os.getpid())]
        # Its lines go to our log; gunicorn reaps it when it exits.
        subprocess.Popen(waiter, stdin=subprocess.DEVNULL)  # noqa: S603 - our own argv
        return
    server.log.error("api: migrations failed on %s: %s", when, line)
    if when == "start":
        sys.exit(1)


def on_starting(server: Any) -> None:
    """Check settings and port, then apply migrations (in a process of their own) before any worker
    forks; with the database unreachable, listen anyway (see _migrate)."""
    import signal

    # A HUP before gunicorn sets its handlers (right after this hook) would kill the master (the
    # default action): a reload asked for during a start is moot, the start loads the code as it is.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _refuse_unsafe_settings()
    _refuse_taken_port()
    _fresh_metrics_dir()
    _migrate(server, "start")


def _fresh_metrics_dir() -> None:
    """Start the API's metrics from zero: the files of a previous run's workers are removed (a
    reload keeps them: the counters go on)."""
    if not _settings.API_METRICS:
        return
    _metrics_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in _metrics_dir.glob("*.db"):
        old.unlink(missing_ok=True)


def on_reload(server: Any) -> None:
    """A reload (HUP) applies the new code's migrations before its workers fork; the old workers
    serve meanwhile."""
    _migrate(server, "reload")


def _ready_file(pid: int) -> Path:
    return Path(_settings.VAR_DIR) / "run" / "api-workers" / str(pid)


def post_worker_init(worker: Any) -> None:
    """A worker has loaded the app: say so in var/run/api-workers/<pid>, which a rolling reload
    (`python -m ops.reload`) waits for before it retires the old workers."""
    path = _ready_file(worker.pid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def worker_exit(server: Any, worker: Any) -> None:
    _ready_file(worker.pid).unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """In the master, once a worker has exited (however it ended, kill -9 too): its in-progress and
    pool gauges stop counting; its counters and histograms stay in the sums."""
    if _settings.API_METRICS:
        from prometheus_client import multiprocess  # the client library, not the app

        multiprocess.mark_process_dead(worker.pid, str(_metrics_dir))
