"""``ctl logs tail [-n N] [-f] [NAME|all]``: program logs by lines, through supervisord."""

from __future__ import annotations

import time

import click

from cli.context import Ctl, pass_ctl

_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta")


@click.group()
def logs() -> None:
    """Program logs."""


@logs.command()
@click.argument("name", default="all", metavar="[NAME|all]")
@click.option(
    "-n",
    "--lines",
    "count",
    default=100,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many lines from the end.",
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C to stop).")
@click.option(
    "--interval",
    default=0.2,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Seconds between polls while following.",
)
@pass_ctl
def tail(ctl: Ctl, name: str, count: int, follow: bool, interval: float) -> None:
    """The last lines of a program's log (or of every program, prefixed by name with `all`)."""
    from ops.control import resolve
    from ops.logs import LogCursor, LogReader
    from ops.logs import follow as follow_logs
    from ops.status import collect_status

    status = collect_status(ctl.supervisor, ctl.settings, probe=False)
    processes = status.processes if name == "all" else resolve(status, [name])
    reader = LogReader(ctl.supervisor, base_dir=ctl.settings.APP_HOME)
    cursors = [reader.open(p) for p in processes]
    prefixed = len(cursors) > 1
    width = max(len(p.name) for p in processes) if processes else 0
    labels = {
        c.name: click.style(f"{p.name:<{width}} | ", fg=_COLOURS[i % len(_COLOURS)])
        for i, (c, p) in enumerate(zip(cursors, processes, strict=True))
    }

    def emit(cursor: LogCursor, line: str) -> None:
        click.echo(labels[cursor.name] + line if prefixed else line)

    for cursor in cursors:
        for line in reader.last_lines(cursor, count):
            emit(cursor, line)
        if not follow and cursor.partial:
            emit(cursor, cursor.partial.decode("utf-8", "replace"))
    if not follow:
        return
    try:
        follow_logs(reader, cursors, emit, sleep=time.sleep, interval=interval)
    except KeyboardInterrupt:
        pass
