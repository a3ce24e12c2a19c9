"""``ctl status``: System Status of the API, the database, supervisord's programs and the workers."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from cli.context import Ctl, pass_ctl

ITEM_STATES = ("pending", "processing", "done", "failed")


def api_health(ctl: Ctl) -> dict[str, Any]:
    """The API's own /health answer, or why it could not be had."""
    import httpx

    url = f"{ctl.settings.API_URL}/health"
    try:
        response = httpx.get(url, timeout=ctl.settings.HEALTH_PROBE_TIMEOUT)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return {"url": url, "status": "unreachable", "error": str(exc) or type(exc).__name__}
    body["url"] = url
    if response.status_code != 200 and body.get("status") == "healthy":
        body["status"] = f"HTTP {response.status_code}"
    return body


def database_state(ctl: Ctl) -> dict[str, Any]:
    """Reachable or not, the backend, and every queue's rows by status (``store.queues``)."""
    from sqlalchemy.exc import SQLAlchemyError

    from store.queues import count_queues

    db = ctl.database
    out: dict[str, Any] = {
        "backend": db.url.get_backend_name(),
        "url": db.url.render_as_string(hide_password=True),
        "reachable": (problem := db.check()) is None,
    }
    if problem is not None:
        out["error"] = problem
    if out["reachable"]:
        try:
            with db.engine.connect() as conn:
                queues = count_queues(conn)
            out["queues"] = {q.table: {**q.counts, "total": q.total} for q in queues}
            items = out["queues"].get("items")
            if items is not None:  # the API's queue, where it always was in the JSON
                out["items"] = {state: items[state] for state in ITEM_STATES}
                out["items_total"] = items["total"]
        except SQLAlchemyError as exc:
            out["queues_error"] = str(getattr(exc, "orig", exc)).splitlines()[0]
    db.dispose()
    return out


def _echo_text(api: dict[str, Any], database: dict[str, Any], stack: Any, sizing: str) -> None:
    from ops.render import plain_table, rich_table

    click.echo("System Status")
    click.echo("=============")
    uptime = f", up {api['uptime_seconds']}s" if "uptime_seconds" in api else ""
    error = f"  ({api['error']})" if "error" in api else ""
    click.echo(f"API         {api['status']}  {api['url']}{uptime}{error}")
    pool = api.get("connection_pool")
    if pool:
        click.echo("  pool      " + ", ".join(f"{k}={v}" for k, v in pool.items()))
    if api.get("database", {}).get("error"):
        click.echo(f"  database  unavailable to the API: {api['database']['error']}")
    limiter = api.get("rate_limiter")
    if limiter:
        why = (
            f": {limiter['error']} (RATE_LIMIT_REDIS_DOWN={limiter['when_down']})" if limiter["error"] else ""
        )
        click.echo(f"  limiter   {limiter['state']}, {limiter['storage']}{why}")
    reach = "reachable" if database["reachable"] else "UNREACHABLE"
    why = f"  ({database['error']})" if "error" in database else ""
    click.echo(f"Database    {reach}  {database['backend']}  {database['url']}{why}")
    for table, counts in database.get("queues", {}).items():
        by_state = ", ".join(f"{state} {counts[state]}" for state in ITEM_STATES)
        click.echo(f"  {table:<9} {by_state}  (total {counts['total']})")
    if "queues_error" in database:
        click.echo(f"  queues    unknown: {database['queues_error']}")
    if stack is None:  # several hosts: the caller prints them
        return
    if isinstance(stack, str):
        click.echo("supervisord DOWN (see the error below)")
        return
    click.echo(f"supervisord {stack.supervisord_state}")
    click.echo(f"Sizing      {sizing}")
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(rich_table(stack))
    else:
        click.echo(plain_table(stack))
    workers = [p for p in stack.processes if p.group == "worker"]
    if workers:
        click.echo(
            "Workers     " + ", ".join(f"{p.name} {'healthy' if p.healthy else p.problem}" for p in workers)
        )


def _several_hosts(
    ctl: Ctl, servers: list[str], api: dict[str, Any], database: dict[str, Any], as_json: bool
) -> None:
    """The supervisord part for several hosts: grouped by host; a down host named, the others shown."""
    from ops import hosts

    results = hosts.collect_hosts(hosts.hosts_for(ctl.settings, servers), ctl.settings)
    if as_json:
        click.echo(
            json.dumps({"api": api, "database": database, "hosts": [r.to_dict() for r in results]}, indent=2)
        )
    else:
        _echo_text(api, database, None, "")
        hosts.print_hosts(results, sys.stdout, tty=sys.stdout.isatty())
    errors = hosts.error_lines(results)
    if errors:
        click.echo(f"Error: {'; '.join(errors)}", err=True)
    code = hosts.exit_code(results)
    if code or api.get("status") != "healthy" or not database["reachable"]:
        raise click.exceptions.Exit(max(code, 1))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON document.")
@click.option(
    "--server",
    "servers",
    multiple=True,
    metavar="URL",
    help="A supervisord endpoint, unix:///path.sock or http://HOST:PORT (repeatable; "
    "default SUPERVISOR_SERVERS, else the local socket).",
)
@pass_ctl
def status(ctl: Ctl, as_json: bool, servers: tuple[str, ...]) -> None:
    """System Status: API health and pool, database and every queue, programs, workers.

    Exit 0 when everything is healthy, 1 when anything is not, 2 when supervisord is not running
    (with several hosts: when any host is unreachable).
    """
    from ops.errors import SupervisorUnreachable
    from ops.hosts import configured_servers
    from ops.shape import sizing_summary
    from ops.status import collect_status

    api = api_health(ctl)
    database = database_state(ctl)
    chosen = configured_servers(ctl.settings, servers)
    if chosen:
        _several_hosts(ctl, chosen, api, database, as_json)
        return
    try:
        stack: Any = collect_status(ctl.supervisor, ctl.settings)
        down: SupervisorUnreachable | None = None
    except SupervisorUnreachable as exc:
        stack, down = str(exc), exc
    sizing = sizing_summary(ctl.settings)  # what config chose for this machine (bin/run starts that)
    if as_json:
        programs = stack if isinstance(stack, str) else stack.to_dict()
        report = {"api": api, "database": database, "supervisord": programs, "sizing": sizing}
        click.echo(json.dumps(report, indent=2))
    else:
        _echo_text(api, database, stack, sizing)
    if down is not None:
        raise down  # its line and exit code: CtlGroup.invoke
    healthy = api.get("status") == "healthy" and database["reachable"] and stack.healthy
    if not healthy:
        raise click.exceptions.Exit(1)
