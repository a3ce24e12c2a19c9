"""The worker command: ``python -m workers run MODULE:CLASS [options]`` (and ``MyWorker.main()``).

    python -m workers run myapp.shouter:Shouter --once --batch-size 5
    python -m workers run myapp.shouter:Shouter --help      # the class's options as flags

Like ``rq worker`` or ``celery -A app worker``: user code is found by its import path and the
command owns what a process needs around the loop: the flags (one per ``Option`` of the class,
``workers.options``), the settings check, the logging set-up (``configure_logging``) and the
process exit. A class path that does not import or names no worker class: one line, exit 2; an
unknown flag: argparse's message, exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import os
import sys
from typing import Any

from config.checks import problems as refusals
from config.config import ConfigError, Settings, get_settings
from config.logsetup import configure
from workers.base_worker import BaseWorker
from workers.options import WorkerError

COMMAND = "python -m workers"
EPILOG = (
    "Settings come from the environment and .env (docs/configuration.md); flags win. "
    "SIGTERM/SIGINT: warm stop (finish the batch, exit 0; work not started by "
    "WORKER_STOP_TIMEOUT is given back); a second one: exit at once."
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class BadWorkerPath(Exception):
    """``MODULE:CLASS`` does not name a worker class; the message says why, in one line."""


def program_name() -> str:
    """How this process was started, for ``--help``: ``python -m pkg.mod``, ``python my_worker.py``
    or a console script's name."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        name = spec.name.removesuffix(".__main__")
        return f"python -m {name}"
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "worker"
    return f"python {script}" if script.endswith(".py") else script


def load_worker_class(path: str) -> type[BaseWorker]:
    """The class ``MODULE:CLASS`` names; BadWorkerPath when it does not import or is no worker."""
    module_name, sep, class_name = path.partition(":")
    if not sep or not module_name or not class_name:
        raise BadWorkerPath(f"{path!r} is not MODULE:CLASS (e.g. myapp.shouter:Shouter)")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's module's: say which
        raise BadWorkerPath(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    found: Any = module
    for part in class_name.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise BadWorkerPath(f"{module_name} has no {class_name}")
    if not (isinstance(found, type) and issubclass(found, BaseWorker)):
        raise BadWorkerPath(f"{path} is not a worker class (a subclass of workers.base_worker.BaseWorker)")
    if inspect.isabstract(found):
        missing = ", ".join(sorted(getattr(found, "__abstractmethods__", ())))
        raise BadWorkerPath(f"{path} is abstract: it does not implement {missing}")
    return found


def build_parser(cls: type[BaseWorker], prog: str | None = None) -> argparse.ArgumentParser:
    """The flags of ``cls``: one per declared option, ``--log-level``, and ``add_arguments``' own."""
    doc = (cls.__doc__ or "").strip()
    parser = argparse.ArgumentParser(
        prog=prog or program_name(),
        description=doc.splitlines()[0] if doc else None,
        epilog=EPILOG,
    )
    for option in cls.options().values():
        option.add_to(parser)
    parser.add_argument("--log-level", default=None, choices=LOG_LEVELS, help="log level (LOG_LEVEL)")
    cls.add_arguments(parser)
    return parser


def configure_logging(settings: Settings, level_name: str | None = None) -> None:
    """The worker process's logging: the stack's one configuration (:mod:`config.logsetup`, text or
    JSON lines by LOG_FORMAT) at ``--log-level`` or LOG_LEVEL. ConfigError for a level that does not
    exist."""
    level = logging.getLevelName((level_name or settings.LOG_LEVEL).upper())
    if not isinstance(level, int):
        raise ConfigError(f"unknown log level {settings.LOG_LEVEL!r} (LOG_LEVEL)")
    # DEBUG is for our own loggers; libraries (SQLAlchemy would log every statement) stay at INFO.
    configure(
        settings,
        program="worker",
        level=logging.getLevelName(max(level, logging.INFO)),
        levels={"workers": logging.getLevelName(level)},
    )


def run_worker(cls: type[BaseWorker], argv: list[str] | None = None, prog: str | None = None) -> int:
    """Parse ``cls``'s flags, check the settings, configure logging and run it; the exit code (2 for
    bad flags or settings). Returns, and leaves the process running (for libraries and tests)."""
    try:
        args = build_parser(cls, prog).parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad flag (2, after argparse's one-line message)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        settings = get_settings()
        if refused := refusals(settings):  # what `python -m config check` reports, e.g. no JWT_SECRET
            print("\n".join(f"error: {line}" for line in refused), file=sys.stderr)
            return 2
        configure_logging(settings, args.log_level)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = {name: getattr(args, name) for name in cls.options()}
    options.update(cls.options_from_args(args))
    try:
        worker = cls(settings=settings, **{k: v for k, v in options.items() if v is not None})
        return worker.run()
    except WorkerError as exc:
        logging.getLogger(f"workers.{cls.worker_name}").error("%s", exc)
        return 2


def exit_now(code: int) -> None:
    """End the process with ``code`` once the worker has shut down cleanly (connections closed,
    threads joined, logs written): tearing down the interpreter's modules would only add up to a
    second before a stop completes (measured under load)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def build_command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Run a worker class by its import path.",
        epilog=f"{COMMAND} run MODULE:CLASS --help lists that worker's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run", help="run MODULE:CLASS (e.g. workers.example_worker:ExampleWorker)", add_help=False
    )
    run.add_argument("target", metavar="MODULE:CLASS")
    run.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m workers``: the exit code (the worker's, or 2 for a bad command or class path)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"] and argv[1:2] in (["-h"], ["--help"]):
        build_command_parser().print_help()
        return 0
    try:
        args = build_command_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        cls = load_worker_class(args.target)
    except BadWorkerPath as exc:
        print(f"{COMMAND} run: error: {exc}", file=sys.stderr)
        return 2
    return run_worker(cls, args.args, prog=f"{COMMAND} run {args.target}")
