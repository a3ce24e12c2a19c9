"""``monitor.py --watch``: a live view that marks what changed since the last refresh.

On a terminal a ``rich`` Live display redraws the table in place (no clearing, no flicker), changed
rows shown reversed and starred. In a pipe it prints the table once and then one line per change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from ops.errors import SupervisorUnreachable
from ops.render import plain_table, rich_table
from ops.rpc import SupervisorClient
from ops.status import StackStatus, collect_status

if TYPE_CHECKING:
    from config.config import Settings


def changed_processes(before: StackStatus | None, after: StackStatus) -> set[str]:
    """Full names whose state, pid or health verdict differ between two statuses."""
    if before is None:
        return set()
    old = {p.full_name: (p.state, p.pid, p.healthy) for p in before.processes}
    return {p.full_name for p in after.processes if old.get(p.full_name) != (p.state, p.pid, p.healthy)}


def _poll(client: SupervisorClient, settings: Settings) -> StackStatus | str:
    try:
        return collect_status(client, settings)
    except SupervisorUnreachable as exc:
        return str(exc)


def watch(
    client: SupervisorClient,
    settings: Settings,
    *,
    interval: float,
    out: TextIO,
    tty: bool,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> None:
    """Refresh every ``interval`` seconds until Ctrl-C (or ``rounds`` refreshes, for tests)."""
    if tty:
        _watch_live(client, settings, interval=interval, out=out, sleep=sleep, rounds=rounds)
    else:
        _watch_lines(client, settings, interval=interval, out=out, sleep=sleep, rounds=rounds)


def _watch_live(
    client: SupervisorClient,
    settings: Settings,
    *,
    interval: float,
    out: TextIO,
    sleep: Callable[[float], None],
    rounds: int | None,
) -> None:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    previous: StackStatus | None = None
    with Live(console=Console(file=out), auto_refresh=False, transient=False) as live:
        n = 0
        while rounds is None or n < rounds:
            n += 1
            current = _poll(client, settings)
            stamp = datetime.now().strftime("%H:%M:%S")
            if isinstance(current, str):
                live.update(
                    Text(f"{stamp}  {current} - retrying every {interval:g}s", style="bold red"), refresh=True
                )
            else:
                title = f"{stamp}  every {interval:g}s, Ctrl-C to quit  (* = changed)"
                live.update(
                    rich_table(current, changed_processes(previous, current), title=title), refresh=True
                )
                previous = current
            sleep(interval)


def _watch_lines(
    client: SupervisorClient,
    settings: Settings,
    *,
    interval: float,
    out: TextIO,
    sleep: Callable[[float], None],
    rounds: int | None,
) -> None:
    previous: StackStatus | None = None
    last_error = ""
    n = 0
    while rounds is None or n < rounds:
        n += 1
        current = _poll(client, settings)
        stamp = datetime.now().strftime("%H:%M:%S")
        if isinstance(current, str):
            if current != last_error:
                out.write(f"{stamp} {current}\n")
                last_error = current
        else:
            last_error = ""
            if previous is None:
                out.write(plain_table(current) + "\n")
            for name in sorted(changed_processes(previous, current)):
                p = next(x for x in current.processes if x.full_name == name)
                verdict = "healthy" if p.healthy else p.problem
                out.write(f"{stamp} * {p.name}: {p.state} pid {p.pid or '-'} {verdict}\n")
            previous = current
        out.flush()
        sleep(interval)
