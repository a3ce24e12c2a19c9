"""The programs supervisord runs, read from its conf files, and the health URLs they declare.

    for process in program_processes(Path(settings.SUPERVISOR_CONFIG)):
        process.name, process.group, process.environment, process.options.get("health_check")
    fill("http://{WORKER_HEALTH_HOST}:{WORKER_HEALTH_PORT+process_num}/livez", process, settings)
    program_problems(settings)     # [] when every declared URL can be filled (`config check`)

The files are found the way supervisord finds them: SUPERVISOR_CONFIG and its ``[include] files``,
read into one parser in its order (a later include changes an earlier section: the shape file's
``numprocs``). The same list is what the test suite expects supervisord to run, so a team's added
program file changes what the tests expect without a line of Python.
A placeholder ``{NAME}`` in a health URL is filled from the program's own ``environment=`` first
(what the program itself reads), then from the stack's settings; ``{NAME+process_num}`` adds the
process number of a ``numprocs`` program; ``{process_num}`` alone is that number. A ``*_HOST`` bound
to every interface (``0.0.0.0``, ``::``, empty) is probed on ``127.0.0.1``. A placeholder neither
defines is an error naming the program (``python -m config check`` prints it).
"""

from __future__ import annotations

import configparser
import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.datatypes import dict_of_key_value_pairs

from config.config import ConfigError, Settings

URL_KEYS = ("health_check", "liveness_check")
NONE = "none"
_SECTION = re.compile(r"(?:program|eventlistener|fcgi-program):(.+)")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+process_num)?\}")
_EVERY_INTERFACE = ("", "0.0.0.0", "::")  # noqa: S104 - recognises a wildcard bind, binds nothing


@dataclass(frozen=True)
class ProgramProcess:
    """One process of a program section, with the section's keys and its own environment.

    ``group`` is the process group supervisord puts it in (the program, or a ``[group:x]`` that
    lists it); ``autostart`` whether supervisord starts it with itself."""

    name: str
    program: str
    process_num: int
    source: str
    options: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    group: str = ""
    autostart: bool = True


def _parser() -> configparser.RawConfigParser:
    return configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";",), default_section="\0")


_CWD = "/proc/self/cwd"  # supervisord.conf's way to name its working directory, the stack home


def conf_files(config_file: Path, home: Path | None = None) -> list[Path]:
    """The main file, then its ``[include] files`` globs (relative to it), as supervisord reads them.
    ``home``: the working directory supervisord runs in (``/proc/self/cwd`` in a pattern); None
    leaves such patterns to the reading process's own working directory."""
    parser = _parser()
    try:
        read = parser.read(config_file)
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {config_file}: {exc}") from None
    if not read:
        raise ConfigError(f"cannot read supervisord's configuration {config_file} (SUPERVISOR_CONFIG)")
    files = [config_file]
    here = config_file.parent
    patterns = parser.get("include", "files", fallback="").replace("%(here)s", str(here)).split()
    for pattern in patterns:
        if home is not None and (pattern == _CWD or pattern.startswith(_CWD + "/")):
            pattern = str(home) + pattern[len(_CWD) :]
        files.extend(Path(p) for p in sorted(glob.glob(str(here / pattern))))  # absolute stays absolute
    return files


def _expansions(path: Path, program: str, num: int, numprocs: int) -> dict[str, object]:
    values: dict[str, object] = {f"ENV_{k}": v for k, v in os.environ.items()}
    values.update(
        here=str(path.parent),
        program_name=program,
        group_name=program,
        process_num=num,
        numprocs=numprocs,
        host_node_name=os.uname().nodename,
    )
    return values


def _environment(raw: str, expansions: dict[str, object], source: str) -> dict[str, str]:
    try:
        expanded = raw % expansions
    except (KeyError, ValueError, TypeError):
        expanded = raw  # an expansion we do not know: keep the text (only names matter to us)
    try:
        parsed: dict[str, str] = dict_of_key_value_pairs(expanded)
    except ValueError as exc:
        raise ConfigError(f"{source}: environment= does not parse: {exc}") from None
    return parsed


def _read(files: list[Path]) -> tuple[configparser.RawConfigParser, dict[str, Path]]:
    """The files read into one parser in supervisord's order (a later file changes an earlier
    section: the shape file's ``numprocs``), and the file that first defined each section."""
    parser = _parser()
    defined_in: dict[str, Path] = {}
    for path in files:
        try:
            parser.read(path)
            own = _parser()
            own.read(path)
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        for section_name in own.sections():
            defined_in.setdefault(section_name, path)
    return parser, defined_in


def _groups(parser: configparser.RawConfigParser) -> dict[str, str]:
    """Program name -> the ``[group:x]`` that lists it."""
    regrouped: dict[str, str] = {}
    for section_name in parser.sections():
        if section_name.startswith("group:"):
            for program in parser.get(section_name, "programs", fallback="").split(","):
                if program.strip():
                    regrouped[program.strip()] = section_name.split(":", 1)[1]
    return regrouped


def program_processes(config_file: Path, home: Path | None = None) -> list[ProgramProcess]:
    """Every process of every program, event listener and fcgi program supervisord runs from
    ``config_file`` started in ``home`` (None: this process's working directory), in name order:
    what ``getAllProcessInfo`` shows once it runs them. ConfigError names what cannot be read."""
    parser, defined_in = _read(conf_files(config_file, home))
    regrouped = _groups(parser)
    out: list[ProgramProcess] = []
    for section_name in parser.sections():
        match = _SECTION.fullmatch(section_name)
        if match is None:
            continue
        program, section = match.group(1), parser[section_name]
        path = defined_in[section_name]
        source = f"{path} [{section_name}]"
        try:
            numprocs = int(section.get("numprocs", "1"))
            start = int(section.get("numprocs_start", "0"))
        except ValueError:
            raise ConfigError(f"{source}: numprocs must be a whole number") from None
        pattern = section.get("process_name", "%(program_name)s")
        autostart = section.get("autostart", "true").strip().lower() not in ("false", "no", "off", "0")
        for num in range(start, start + numprocs):
            expansions = _expansions(path, program, num, numprocs)
            try:
                name = pattern % expansions
            except (KeyError, ValueError, TypeError):
                name = program if numprocs == 1 else f"{program}_{num}"
            out.append(
                ProgramProcess(
                    name=name,
                    program=program,
                    process_num=num,
                    source=source,
                    options=dict(section.items()),
                    environment=_environment(section.get("environment", ""), expansions, source),
                    group=regrouped.get(program, program),
                    autostart=autostart,
                )
            )
    return sorted(out, key=lambda p: p.name)


def fill(template: str, process: ProgramProcess, settings: Settings) -> str | None:
    """The URL ``template`` names for ``process`` (None for ``none``); ConfigError naming the
    program for a placeholder neither its environment nor the settings define."""
    if template.strip().lower() == NONE:
        return None

    def one(match: re.Match[str]) -> str:
        name, offset = match.group(1), match.group(2)
        if name == "process_num":
            return str(process.process_num)
        value: object
        if name in process.environment:
            value = process.environment[name]
        elif name in type(settings).model_fields:
            value = getattr(settings, name)
        else:
            raise ConfigError(
                f"program {process.program} ({process.source}): {{{name}}} in its health URL is "
                "neither in its environment= nor a setting"
            )
        if offset:
            try:
                return str(int(str(value)) + process.process_num)
            except ValueError:
                raise ConfigError(
                    f"program {process.program} ({process.source}): {{{name}+process_num}} adds "
                    f"process_num to {name}={value!r}, which is not a number"
                ) from None
        if name.endswith("_HOST") and value in _EVERY_INTERFACE:
            return "127.0.0.1"  # a server bound to every interface is probed on loopback
        return str(value)

    return _PLACEHOLDER.sub(one, template.strip())


def program_problems(settings: Settings) -> list[str]:
    """Every health URL of SUPERVISOR_CONFIG's programs that cannot be filled, one line each (none
    when the file is absent: a container runs without supervisord)."""
    config_file = Path(settings.SUPERVISOR_CONFIG)
    if not config_file.is_file():
        return []
    try:
        processes = program_processes(config_file)
    except ConfigError as exc:
        return [str(exc)]
    found: list[str] = []
    for process in processes:
        for key in URL_KEYS:
            template = process.options.get(key)
            if template is None:
                continue
            try:
                fill(template, process, settings)
            except ConfigError as exc:
                line = str(exc).replace("its health URL", f"its {key}")
                if line not in found:
                    found.append(line)
    return found
