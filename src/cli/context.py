"""What every ctl command shares, built lazily so each command imports only what it needs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from config.config import Settings
    from ops.rpc import SupervisorClient


class CtlError(click.ClickException):
    """A command failed: one line for the operator (``Error: ...``), exit 1."""

    exit_code = 1


class Refused(CtlError):
    """Input a command refuses before doing anything (a bad revision message, a refused downgrade): exit 2."""

    exit_code = 2


class Ctl:
    """Settings, the supervisord client and the database, each made on first use."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self.overrides = dict(overrides or {})

    @cached_property
    def settings(self) -> Settings:
        # Fresh for each invocation (a ctl run is one), so tests that change the environment see it.
        from config.config import load

        return load(self.overrides)

    @cached_property
    def supervisor(self) -> SupervisorClient:
        from ops.rpc import SupervisorClient

        return SupervisorClient.from_settings(self.settings)

    @cached_property
    def database(self) -> Any:
        from store.db import Database

        database = Database.from_settings(self.settings, application_name="ctl")
        ctx = click.get_current_context(silent=True)
        if ctx is not None:  # its connections closed when the command ends, not left to the collector
            ctx.find_root().call_on_close(database.dispose)
        return database

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A database session; database errors become one clear line."""
        with self.database_errors(), self.database.session() as session:
            yield session

    @contextmanager
    def database_errors(self) -> Iterator[None]:
        """Database errors in the block become one clear line (no schema yet, unreachable)."""
        from sqlalchemy.exc import OperationalError, ProgrammingError

        try:
            yield
        except (OperationalError, ProgrammingError) as exc:
            text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            if "no such table" in text or "does not exist" in text:
                raise CtlError(f"the database has no schema yet ({text}): run `ctl db upgrade`") from None
            raise CtlError(f"database {self.database.url.render_as_string()} unreachable: {text}") from None


pass_ctl = click.make_pass_decorator(Ctl)
