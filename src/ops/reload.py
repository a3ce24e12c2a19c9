"""A rolling reload of the API: new gunicorn workers on the new code serve before the old ones stop.

    python -m ops.reload            # what bin/update runs; exit 0 reloaded, 1 failed, 2 not running

Over gunicorn's control socket (``VAR_DIR/run/gunicorn.ctl``): note the workers, ``worker add N``
(the master, which imports nothing of the app but ``config``, forks N new workers that import all
of the code as it is now), wait until each new one has loaded the app (``post_worker_init`` in
conf/gunicorn.conf.py writes ``VAR_DIR/run/api-workers/<pid>``), then ``worker remove N``: gunicorn
retires the oldest, which finish the requests they have read. The listen socket never lacks a
serving worker. Unlike ``supervisorctl signal HUP api`` it does not re-read conf/gunicorn.conf.py
(bind, worker count: restart for those) nor run migrations (``ctl db upgrade`` first; bin/update
does). Measured against HUP by ``bin/bench reload`` (docs/production.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ops.errors import OpsError

if TYPE_CHECKING:
    from config.config import Settings


class ReloadFailed(OpsError):
    """The rolling reload could not finish (the old workers keep serving when it fails early)."""


def control_socket(settings: Settings) -> Path:
    return Path(settings.VAR_DIR) / "run" / "gunicorn.ctl"


def ready_dir(settings: Settings) -> Path:
    return Path(settings.VAR_DIR) / "run" / "api-workers"


# gunicorn's master sets its control socket up again after forking workers: for a moment it is gone.
SOCKET_RETRY_SECONDS = 10.0


def _command(socket: Path, command: str, *args: int) -> dict[str, Any]:
    from gunicorn.ctl.client import ControlClient, ControlClientError

    deadline = time.monotonic() + SOCKET_RETRY_SECONDS
    while True:
        try:
            with ControlClient(str(socket), timeout=30.0) as client:
                data: dict[str, Any] = client.send_command(command, list(args) or None)
                return data
        except (ControlClientError, OSError) as exc:
            if time.monotonic() > deadline:
                raise ReloadFailed(f"gunicorn's control socket {socket}: {exc}") from None
            time.sleep(0.1)


def worker_pids(socket: Path) -> set[int]:
    return {int(w["pid"]) for w in _command(socket, "show workers")["workers"]}


def rolling_reload(
    socket: Path,
    ready: Path,
    *,
    timeout: float = 120.0,
    say: Callable[[str], None] = lambda line: None,
    interval: float = 0.1,
) -> tuple[set[int], set[int]]:
    """Replace every worker, new ones serving first; (old pids, new pids)."""
    old = worker_pids(socket)
    if not old:
        raise ReloadFailed("gunicorn has no workers to replace")
    say(f"starting {len(old)} new workers beside the {len(old)} serving")
    _command(socket, "worker add", len(old))
    deadline = time.monotonic() + timeout
    new: set[int] = set()
    while True:
        new = worker_pids(socket) - old
        if len(new) >= len(old) and all((ready / str(pid)).exists() for pid in new):
            break
        if time.monotonic() > deadline:
            # Nothing is retired: the old workers keep serving beside whatever the new ones do.
            raise ReloadFailed(
                f"the new workers did not load the app within {timeout:g}s; the old ones still serve "
                "(see logs/api.log, then `supervisorctl restart api`)"
            )
        time.sleep(interval)
    say(f"new workers {sorted(new)} loaded the app; retiring {sorted(old)} (they finish their requests)")
    _command(socket, "worker remove", len(old))
    while worker_pids(socket) & old:
        if time.monotonic() > deadline + 60:
            raise ReloadFailed(f"old workers {sorted(worker_pids(socket) & old)} still running")
        time.sleep(interval)
    return old, new


def main(argv: list[str] | None = None) -> int:
    from config.config import ConfigError, get_settings

    del argv
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    socket = control_socket(settings)
    if not socket.exists():
        print(f"reload: the API is not running (no control socket at {socket})", file=sys.stderr)
        return 2
    try:
        rolling_reload(socket, ready_dir(settings), say=lambda line: print(f"reload: {line}", flush=True))
    except ReloadFailed as exc:
        print(f"reload: {exc}", file=sys.stderr)
        return 1
    print("reload: done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
