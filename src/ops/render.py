"""Status as text: a plain table for pipes and logs, a rich table for terminals, or JSON.

``rich`` is imported only when the output is a terminal, keeping the plain path fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from ops.status import ProcessStatus, StackStatus

if TYPE_CHECKING:
    from config.config import Settings

COLUMNS = ("NAME", "STATE", "PID", "UPTIME", "HEALTH", "DETAIL")
_STATE_STYLE = {
    "RUNNING": "green",
    "STARTING": "yellow",
    "BACKOFF": "red",
    "FATAL": "bold red",
    "EXITED": "red",
    "STOPPED": "dim",
    "STOPPING": "yellow",
    "UNKNOWN": "red",
}


def format_uptime(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}" if days else f"{hours}:{minutes:02d}:{secs:02d}"


def _health_cell(p: ProcessStatus) -> str:
    if p.health is not None:
        return p.health.summary()
    return "-" if p.health_url else "n/a"


def _detail(p: ProcessStatus) -> str:
    if not p.healthy and p.problem != p.state:
        return p.problem
    return p.health_url or ""


def rows(status: StackStatus, changed: set[str] | None = None) -> list[tuple[str, ...]]:
    changed = changed or set()
    out: list[tuple[str, ...]] = []
    for p in status.processes:
        mark = "*" if p.full_name in changed else ""
        out.append(
            (
                p.name + mark,
                p.state,
                str(p.pid or "-"),
                format_uptime(p.uptime_seconds),
                _health_cell(p),
                _detail(p),
            )
        )
    return out


def summary_line(status: StackStatus) -> str:
    bad = status.unhealthy()
    verdict = (
        "all healthy" if status.healthy else f"{len(bad)} not healthy: " + ", ".join(p.name for p in bad)
    )
    return f"supervisord {status.supervisord_state}, {len(status.processes)} processes, {verdict}"


def plain_table(status: StackStatus, changed: set[str] | None = None) -> str:
    table = [COLUMNS, *rows(status, changed)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1] for r in table
    ]
    return "\n".join([*(line.rstrip() for line in lines), summary_line(status)])


def rich_table(status: StackStatus, changed: set[str] | None = None, title: str | None = None) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, caption=summary_line(status), title_justify="left", caption_justify="left")
    for column in COLUMNS:
        table.add_column(column, no_wrap=column != "DETAIL")
    for p, row in zip(status.processes, rows(status, changed), strict=True):
        state = Text(row[1], style=_STATE_STYLE.get(p.state, ""))
        health = Text(row[4], style="green" if p.health and p.health.ok else ("red" if p.health else "dim"))
        style = "reverse" if changed and p.full_name in changed else ""
        table.add_row(row[0], state, row[2], row[3], health, row[5], style=style)
    return table


def print_status(status: StackStatus, out: TextIO, *, tty: bool, title: str | None = None) -> None:
    if tty:
        from rich.console import Console

        Console(file=out).print(rich_table(status, title=title))
    else:
        if title:
            out.write(title + "\n")
        out.write(plain_table(status) + "\n")


def status_json(status: StackStatus) -> str:
    import json

    return json.dumps(status.to_dict(), indent=2)


def urls_block(settings: Settings, status: StackStatus | None = None) -> str:
    """Where to find the stack, for the end of ``--start-all`` (``bin/run`` prints it)."""
    api = settings.API_URL
    # In production the API serves the built app itself (no Vite dev server).
    app = api if settings.STATIC_DIR else f"http://{settings.FRONTEND_HOST}:{settings.FRONTEND_PORT}"
    lines = [f"API       {api}   (health: {api}/health, docs: {api}/docs)", f"Frontend  {app}"]
    for p in status.processes if status else []:
        if p.group == "worker" and p.health_url:
            lines.append(f"{p.name:<9} {p.health_url}")
    return "\n".join(lines)
