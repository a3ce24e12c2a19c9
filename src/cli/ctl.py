"""ctl: day-to-day operations of the stack.

    python -m cli.ctl status              System Status: API, database, programs, workers
    python -m cli.ctl db connections      the pool and the database's own view of connections
    python -m cli.ctl logs tail -n 100 -f api
    python -m cli.ctl restart api
    python -m cli.ctl queue failed        a queue table's failed items; `queue requeue` them
    python -m cli.ctl audit               who did which admin action, when, and how it went

Errors end as one line and an exit code (2: supervisord not running or input refused, 3: no access
to its socket, 1: anything else): click's own exceptions carry theirs, and the project's are turned
into exits by :func:`ops.errors.exit_for` in :meth:`CtlGroup.invoke`, as ``bin/monitor.py`` does.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from cli.accounts_cmd import apikeys, users
from cli.audit_cmd import audit
from cli.context import Ctl, CtlError
from cli.db_cmd import db
from cli.logs_cmd import logs
from cli.process_cmd import restart, start, stop
from cli.queue_cmd import queue
from cli.status_cmd import status


class CtlGroup(click.Group):
    """Turns the project's exceptions into ``Error: ...`` and their exit code for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        from ops.errors import exit_for

        try:
            return super().invoke(ctx)
        except CtlError as exc:
            if not _json_logs(ctx):
                raise
            _report(ctx, exc.format_message())
            raise click.exceptions.Exit(exc.exit_code) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            failed = exit_for(exc)
            if failed is None:
                raise
            _report(ctx, _home_without_conf(ctx, exc) or failed.message)
            raise click.exceptions.Exit(failed.code) from None


log = logging.getLogger("ctl")


def _json_logs(ctx: click.Context) -> bool:
    """LOG_FORMAT=json (set up in :func:`cli`): a failure is a JSON line too, for cron jobs whose
    stderr is shipped."""
    return bool(ctx.meta.get("ctl.json_logs"))


def _report(ctx: click.Context, message: str) -> None:
    if _json_logs(ctx):
        log.error("%s", message)
    else:
        click.echo(f"Error: {message}", err=True)


def _home_without_conf(ctx: click.Context, exc: Exception) -> str | None:
    """Why supervisord is unreachable when the stack home has no supervisord.conf (an installed
    package run from another directory): that line, not the socket's."""
    from config.config import ConfigError, supervisor_config_problem
    from ops.errors import SupervisorUnreachable

    if not isinstance(exc, SupervisorUnreachable) or not isinstance(ctx.obj, Ctl):
        return None
    try:
        return supervisor_config_problem(ctx.obj.settings)
    except ConfigError:
        return None


@click.group(cls=CtlGroup)
@click.version_option(package_name="svcstack")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Operate the service stack: status, database, logs, programs, queues, users, API keys, audit log."""
    ctx.obj = Ctl()
    _configure_logging(ctx)


def _configure_logging(ctx: click.Context) -> None:
    """config.logsetup's configuration (LOG_FORMAT), on stderr; warnings and up unless LOG_LEVEL is
    DEBUG (a command's output is on stdout, for people and pipes)."""
    from config.config import ConfigError
    from config.logsetup import configure

    try:
        settings = ctx.obj.settings
    except ConfigError:
        return  # the command that needs the settings says what is wrong with them
    level = "DEBUG" if settings.LOG_LEVEL.upper() == "DEBUG" else "WARNING"
    configure(settings, program="ctl", level=level)
    ctx.meta["ctl.json_logs"] = settings.LOG_FORMAT == "json"


for command in (status, db, logs, start, stop, restart, queue, users, apikeys, audit):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
