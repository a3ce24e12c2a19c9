"""ctl: day-to-day operations of the stack.

    python -m cli.ctl status              System Status: API, database, programs, workers
    python -m cli.ctl db connections      the pool and the database's own view of connections
    python -m cli.ctl logs tail -n 100 -f api
    python -m cli.ctl restart api

Errors end as one line and an exit code (2: supervisord not running, 3: no access to its socket,
1: anything else), mapped in one place: :meth:`CtlGroup.invoke`.
"""

from __future__ import annotations

from typing import Any

import click

from cli.accounts_cmd import apikeys, users
from cli.context import Ctl, CtlError
from cli.db_cmd import db
from cli.logs_cmd import logs
from cli.process_cmd import restart, start, stop
from cli.status_cmd import status


class CtlGroup(click.Group):
    """Maps the project's exceptions to :class:`CtlError` for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        from config.config import ConfigError
        from ops.errors import OpsError, ProgramFailed

        try:
            return super().invoke(ctx)
        except ProgramFailed as exc:
            raise CtlError(f"{exc}\n{exc.detail}".rstrip(), exc.exit_code) from None
        except OpsError as exc:
            raise CtlError(str(exc), exc.exit_code) from None
        except ConfigError as exc:
            raise CtlError(str(exc), 2) from None


@click.group(cls=CtlGroup)
@click.version_option(package_name="svcstack")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Operate the service stack: status, database, logs, programs, users and API keys."""
    ctx.obj = Ctl()


for command in (status, db, logs, start, stop, restart, users, apikeys):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
