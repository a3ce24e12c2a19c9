"""Each supervised program's health and liveness checks, declared in the program's own conf file.

    [program:api]
    command = ...
    health_check = http://{API_HOST}:{API_PORT}/health       ; readiness: shown by status, monitor
    liveness_check = http://{API_HOST}:{API_PORT}/livez      ; what the health listener restarts on

supervisord ignores keys it does not know (checked with supervisor 4.3: no warning, no error), so
the declarations sit beside the command they check and adding a program takes one conf file under
``conf/supervisord.d/``. Each value is a URL that answers 2xx, or ``none``; a program without
``health_check`` has no health check, and one without ``liveness_check`` is restarted on its
``health_check`` (one URL that is both). ``health_check`` says whether the program does its job now
(a database away makes the API's fail); ``liveness_check`` whether a restart could help (it never
depends on another service).

Placeholders are filled from the program's own ``environment=``, then from config
(see :mod:`config.programs`): ``{SETTING}``, ``{SETTING+process_num}`` (the workers' per-process
health ports) and ``{process_num}``. The files are found the way supervisord finds them:
SUPERVISOR_CONFIG and its ``[include] files``. The monitor, ``ctl status``, the health listener and
the admin services endpoint all ask :func:`declared_checks`; nothing else in the project spells a
health URL of a supervised program.
The files are read by :func:`config.programs.program_processes`, which also lists every process
they declare (what the test suite expects supervisord to run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from config.config import ConfigError
from config.programs import ProgramProcess, fill, program_processes
from ops.errors import BadInput

if TYPE_CHECKING:
    from config.config import Settings

KEY = "health_check"
LIVENESS_KEY = "liveness_check"


@dataclass(frozen=True)
class Declaration:
    """One process's checks as written, with where they were written."""

    process: ProgramProcess

    @property
    def source(self) -> str:
        return self.process.source

    def url(self, settings: Settings, key: str = KEY) -> str | None:
        template = self.process.options.get(key)
        if template is None:
            return None
        try:
            return fill(template, self.process, settings)
        except ConfigError as exc:
            raise BadInput(str(exc)) from None


class HealthChecks:
    """The declarations of every process, by process name."""

    def __init__(self, declarations: dict[str, Declaration]) -> None:
        self.declarations = declarations

    def url(self, settings: Settings, process: str) -> str | None:
        """The URL that answers 2xx while ``process`` is healthy, or None if it declares none."""
        declaration = self.declarations.get(process)
        return declaration.url(settings) if declaration else None

    def liveness_url(self, settings: Settings, process: str) -> str | None:
        """The URL that answers 2xx while ``process`` is alive: its ``liveness_check``, else its
        ``health_check``; None when it declares neither (or ``none``)."""
        declaration = self.declarations.get(process)
        if declaration is None:
            return None
        if LIVENESS_KEY in declaration.process.options:
            return declaration.url(settings, LIVENESS_KEY)
        return declaration.url(settings)


def read_declarations(config_file: Path) -> HealthChecks:
    """Every ``health_check`` / ``liveness_check`` of the programs supervisord runs from ``config_file``."""
    try:
        processes = program_processes(config_file)
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    return HealthChecks(
        {p.name: Declaration(p) for p in processes if KEY in p.options or LIVENESS_KEY in p.options}
    )


def declared_checks(settings: Settings) -> HealthChecks:
    """The health checks declared in the conf files of this stack (SUPERVISOR_CONFIG)."""
    from config.config import supervisor_config_problem

    problem = supervisor_config_problem(settings)
    if problem:
        raise BadInput(problem)
    return read_declarations(Path(settings.SUPERVISOR_CONFIG))
