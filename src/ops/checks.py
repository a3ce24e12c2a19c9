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
:func:`declared_processes` lists every process those files declare (what ``getAllProcessInfo``
will show once supervisord runs them): the test suite expects exactly these, so a team's added
program file changes what the tests expect without a line of Python.
"""

from __future__ import annotations

import configparser
import glob
import re
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
_SECTION = re.compile(r"(?:program|eventlistener|fcgi-program):(.+)")


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


_CWD = "/proc/self/cwd"  # supervisord.conf's way to name its working directory, the stack home


def _conf_files(config_file: Path, home: Path | None = None) -> list[Path]:
    """The main file, then its ``[include] files`` globs (relative to it), as supervisord reads them.
    ``home``: the working directory supervisord runs in (``/proc/self/cwd`` in a pattern); None
    leaves such patterns to the reading process's own working directory."""
    parser = _parser()
    if not parser.read(config_file):
        raise BadInput(f"cannot read supervisord's configuration {config_file} (SUPERVISOR_CONFIG)")
    files = [config_file]
    here = config_file.parent
    patterns = parser.get("include", "files", fallback="").replace("%(here)s", str(here)).split()
    for pattern in patterns:
        if home is not None and (pattern == _CWD or pattern.startswith(_CWD + "/")):
            pattern = str(home) + pattern[len(_CWD) :]
        files.extend(Path(p) for p in sorted(glob.glob(str(here / pattern))))  # absolute stays absolute
    return files


def _parser() -> configparser.RawConfigParser:
    return configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";",), default_section="\0")


def _process_names(section: configparser.SectionProxy, program: str) -> list[tuple[str, int]]:
    numprocs = int(section.get("numprocs", "1"))
    start = int(section.get("numprocs_start", "0"))
    pattern = section.get("process_name", "%(program_name)s")
    out = []
    for num in range(start, start + numprocs):
        values = {"program_name": program, "group_name": program, "process_num": num, "numprocs": numprocs}
        try:
            out.append((pattern % values, num))
        except (KeyError, ValueError, TypeError):
            out.append((program if numprocs == 1 else f"{program}_{num}", num))
    return out


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


@dataclass(frozen=True)
class DeclaredProcess:
    """One process supervisord starts from the conf files: its name, group and section."""

    name: str
    group: str
    section: str
    autostart: bool


def declared_processes(config_file: Path, home: Path | None = None) -> list[DeclaredProcess]:
    """Every process supervisord runs from ``config_file`` started in ``home``, in name order.

    The files are read into one parser in supervisord's order, as supervisord does, so a later
    include changes an earlier section (the shape file's ``numprocs``); ``[group:x]`` sections
    regroup their programs. Raises :class:`BadInput` naming the file for what cannot be read.
    """
    parser = _parser()
    for path in _conf_files(config_file, home):
        try:
            parser.read(path)
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read {path}: {exc}") from None
    regrouped: dict[str, str] = {}
    for section_name in parser.sections():
        if section_name.startswith("group:"):
            for program in parser.get(section_name, "programs", fallback="").split(","):
                if program.strip():
                    regrouped[program.strip()] = section_name.split(":", 1)[1]
    found = []
    for section_name in parser.sections():
        match = _SECTION.fullmatch(section_name)
        if match is None:
            continue
        program = match.group(1)
        section = parser[section_name]
        try:
            names = _process_names(section, program)
        except ValueError:
            raise BadInput(f"[{section_name}]: numprocs must be a whole number") from None
        autostart = section.get("autostart", "true").strip().lower() not in ("false", "no", "off", "0")
        group = regrouped.get(program, program)
        found += [DeclaredProcess(name, group, section_name, autostart) for name, _num in names]
    return sorted(found, key=lambda p: p.name)
