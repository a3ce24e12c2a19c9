"""The one exception tree of ``ops``; each class knows the exit code a command should end with."""

from __future__ import annotations


class OpsError(Exception):
    """Root of every error raised by ``ops``. ``str(exc)`` is one line meant for an operator."""

    exit_code = 1


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

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class SupervisorFault(OpsError):
    """supervisord answered a call with a fault we do not map to something more specific."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"supervisord refused the request: {text} (fault {code})")
        self.code = code
        self.text = text
