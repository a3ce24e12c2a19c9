"""The one exception tree of ``ops``: each exit code a front end ends with is an exception type.

    OpsError                         something failed (a program, a call)              exit 1
    ├── UnknownProgram               no such program in supervisord                    exit 1
    ├── ProgramFailed                did not start or did not become healthy (detail)  exit 1
    ├── SupervisorFault              any other fault supervisord answered with         exit 1
    ├── BadInput                     an endpoint, a setting or an argument we refuse   exit 2
    └── SupervisorUnreachable        supervisord not running (no socket / refused)     exit 2
        └── SupervisorAccessDenied   it runs, but we may not use its socket            exit 3

:func:`exit_for` is the one place an exception becomes an operator's line and exit code; ``ctl``
(:class:`cli.ctl.CtlGroup`) and ``bin/monitor.py`` both go through it.
"""

from __future__ import annotations

from dataclasses import dataclass


class OpsError(Exception):
    """Root of every error raised by ``ops``. ``str(exc)`` is one line meant for an operator."""

    exit_code = 1


class BadInput(OpsError):
    """Input we refuse before doing anything: a bad endpoint, setting or argument."""

    exit_code = 2


class SupervisorUnreachable(OpsError):
    """supervisord is not running: its socket is missing or nobody listens on it."""

    exit_code = 2


class SupervisorAccessDenied(SupervisorUnreachable):
    """The socket exists but this user may not use it (file mode or HTTP 401)."""

    exit_code = 3


class UnknownProgram(OpsError):
    """supervisord has no program or process by that name."""

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        hint = f" (known: {', '.join(known)})" if known else ""
        super().__init__(f"no program named {name!r}{hint}")
        self.name = name


class ProgramFailed(OpsError):
    """A program failed to start, or did not become healthy in time. ``detail`` says why."""

    def __init__(self, message: str, *, detail: str = "", died_at_once: bool = False) -> None:
        super().__init__(message)
        self.detail = detail
        # supervisord saw it spawn and exit before answering (SPAWN_ERROR / ABNORMAL_TERMINATION).
        self.died_at_once = died_at_once


class SupervisorFault(OpsError):
    """supervisord answered a call with a fault we do not map to something more specific."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"supervisord refused the request: {text} (fault {code})")
        self.code = code
        self.text = text


@dataclass(frozen=True)
class Exit:
    """What a front end prints (to stderr) and the status it exits with."""

    message: str
    code: int


def ops_exit(exc: OpsError) -> Exit:
    """The operator's message (with a failed program's detail) and exit code of an ops error."""
    if isinstance(exc, ProgramFailed):
        return Exit(f"{exc}\n{exc.detail}".rstrip(), exc.exit_code)
    return Exit(str(exc), exc.exit_code)


def exit_for(exc: BaseException) -> Exit | None:
    """The operator's message and exit code for ``exc``; None for an exception that is a bug."""
    from config.config import ConfigError

    if isinstance(exc, OpsError):
        return ops_exit(exc)
    if isinstance(exc, ConfigError):
        return Exit(str(exc), BadInput.exit_code)
    return None
