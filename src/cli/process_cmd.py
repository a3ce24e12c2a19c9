"""``ctl start``, ``ctl stop``, ``ctl restart``: programs through supervisord, waiting for health."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cli.context import Ctl, pass_ctl

if TYPE_CHECKING:
    from ops.status import ProcessStatus


def _targets(ctl: Ctl, names: tuple[str, ...]) -> list[ProcessStatus]:
    from ops.control import resolve
    from ops.status import collect_status

    status = collect_status(ctl.supervisor, ctl.settings, probe=False)
    if not names or names == ("all",):
        return status.processes
    return resolve(status, names)


@click.command()
@click.argument("names", nargs=-1, metavar="[NAME|all]...")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for health.")
@pass_ctl
def start(ctl: Ctl, names: tuple[str, ...], timeout: float) -> None:
    """Start programs (default: all) and wait until they are healthy."""
    from ops.control import wait_healthy

    targets = _targets(ctl, names)
    for p in targets:
        started = ctl.supervisor.start(p.full_name, wait=False)
        click.echo(f"{p.name}: {'starting' if started else 'already running'}")
    wait_healthy(ctl.supervisor, ctl.settings, [p.full_name for p in targets], timeout=timeout)
    click.echo(f"healthy: {', '.join(p.name for p in targets)}")


@click.command()
@click.argument("names", nargs=-1, required=True, metavar="NAME|all...")
@pass_ctl
def stop(ctl: Ctl, names: tuple[str, ...]) -> None:
    """Stop programs (`all` for every one) and wait until they have exited."""
    for p in _targets(ctl, names):
        stopped = ctl.supervisor.stop(p.full_name, wait=True)
        click.echo(f"{p.name}: {'stopped' if stopped else 'was not running'}")


@click.command()
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for health.")
@click.option(
    "--server",
    "servers",
    multiple=True,
    metavar="URL",
    help="A supervisord endpoint, unix:///path.sock or http://HOST:PORT (repeatable; "
    "default SUPERVISOR_SERVERS, else the local socket): restart NAME on every host that has it.",
)
@pass_ctl
def restart(ctl: Ctl, names: tuple[str, ...], timeout: float, servers: tuple[str, ...]) -> None:
    """Restart programs and wait until they are healthy again."""
    from ops.control import restart as restart_processes
    from ops.control import wait_healthy
    from ops.hosts import collect_hosts, configured_servers, error_lines, hosts_for, restart_on_hosts

    chosen = configured_servers(ctl.settings, servers)
    if chosen:
        results = collect_hosts(hosts_for(ctl.settings, chosen), ctl.settings)
        for line in error_lines(results):
            click.echo(f"Error: {line}", err=True)
        code = restart_on_hosts(
            results,
            ctl.settings,
            list(names),
            timeout=timeout,
            say=click.echo,
            warn=lambda line: click.echo(f"Error: {line}", err=True),
        )
        if code:
            raise click.exceptions.Exit(code)
        return
    targets = _targets(ctl, names)
    restart_processes(ctl.supervisor, targets)
    click.echo(f"restarting {', '.join(p.name for p in targets)}")
    wait_healthy(ctl.supervisor, ctl.settings, [p.full_name for p in targets], timeout=timeout)
    click.echo(f"healthy: {', '.join(p.name for p in targets)}")
