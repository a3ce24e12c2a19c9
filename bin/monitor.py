#!/bin/sh
# fmt: off
''''true;p=$(readlink -f "$0");p=${p%/*/*}/.venv/bin/python;[ -x "$p" ]||p=python3;exec "$p" "$0" "$@" # '''
# fmt: on
# The line above is sh to the shell (exec .venv's Python, or python3 when there is no .venv: the
# re-exec below then says so) and a string to Python.
#
# Status, start, watch and restart of the supervisord stack (a thin front of `src/ops`).
#
#     bin/monitor.py                       status table; exit 0 all healthy, 1 not, 2 supervisord down
#     bin/monitor.py --json                the same as JSON
#     bin/monitor.py --start-all [--timeout 120]
#     bin/monitor.py --watch [--interval 5]
#     bin/monitor.py --restart [NAME ...]  failed/unhealthy programs, or those named
#     bin/monitor.py --server URL [--server URL ...] [--json | --restart [NAME ...]]
#                                          several hosts (or SUPERVISOR_SERVERS): the table grouped by
#                                          host, exit 2 if any host is unreachable; restarts per host
#
# Runs without an activated venv: the sh line above hands over to .venv's Python at once (one
# interpreter start); started by another Python (`python3 bin/monitor.py`) it re-executes itself.

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
VENV = os.path.join(ROOT, ".venv")

if __name__ == "__main__" and os.path.realpath(sys.prefix) != os.path.realpath(VENV):
    # Started by another Python (the sh line without .venv, or `python3 bin/monitor.py`): hand over
    # to the project's venv before importing anything else.
    _python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(_python):
        sys.stderr.write("monitor.py: .venv is missing: run bin/run once to set up the project\n")
        sys.exit(2)
    os.execv(_python, [_python, os.path.realpath(__file__), *sys.argv[1:]])  # noqa: S606 - replaces this process with the venv's Python, fixed argv

import argparse  # noqa: E402 - after the hand-over above
from collections.abc import Callable  # noqa: E402
from typing import TYPE_CHECKING, TextIO  # noqa: E402

if TYPE_CHECKING:
    from config.config import Settings
    from ops.rpc import SupervisorClient
    from ops.status import StackStatus


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor.py", description="Status and control of the supervisord stack."
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--start-all",
        action="store_true",
        help="start supervisord if needed and every program; wait until all are healthy",
    )
    mode.add_argument("--watch", action="store_true", help="live view, refreshed every --interval seconds")
    mode.add_argument(
        "--restart",
        nargs="*",
        metavar="NAME",
        help="restart failed or unhealthy programs, or the programs named",
    )
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for health (default 120)"
    )
    parser.add_argument(
        "--server",
        action="append",
        metavar="URL",
        help="a supervisord endpoint, unix:///path.sock or http://HOST:PORT (repeatable; "
        "default SUPERVISOR_SERVERS, else the local socket)",
    )
    parser.add_argument("--interval", type=float, default=5.0, help="--watch refresh seconds (default 5)")
    return parser


class Printer:
    """Progress while waiting: one line rewritten in place on a terminal, a line per change otherwise."""

    def __init__(self, out: TextIO, tty: bool) -> None:
        self.out, self.tty, self.last = out, tty, ""

    def __call__(self, status: StackStatus, elapsed: float) -> None:
        waiting = [
            f"{p.name} {p.state if p.state != 'RUNNING' else 'starting up'}" for p in status.unhealthy()
        ]
        done = len(status.processes) - len(waiting)
        text = f"{done}/{len(status.processes)} healthy"
        if waiting:
            text += f"; waiting for {', '.join(waiting)}"
        if self.tty:
            self.out.write(f"\r\033[K[{elapsed:5.1f}s] {text}")
            if not waiting:
                self.out.write("\n")
        elif text != self.last:
            self.out.write(f"[{elapsed:5.1f}s] {text}\n")
        self.last = text
        self.out.flush()

    def finish(self) -> None:
        if self.tty and self.last:
            self.out.write("\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.json and (args.watch or args.start_all or args.restart is not None):
        build_parser().error("--json goes with the status view only")
    from ops.errors import exit_for

    try:
        return run(args, sys.stdout)
    except Exception as exc:  # turned into a line and an exit code in one place: ops.errors.exit_for
        failed = exit_for(exc)
        if failed is None:
            raise
        print(f"monitor.py: {failed.message}", file=sys.stderr)
        return failed.code


def run(args: argparse.Namespace, out: TextIO) -> int:
    from config.config import get_settings
    from ops.hosts import configured_servers

    tty = out.isatty()
    settings = get_settings()
    servers = configured_servers(settings, args.server)
    if servers:
        if args.start_all or args.watch:
            from ops.errors import BadInput

            raise BadInput(
                "--start-all and --watch work on the local supervisord only "
                "(drop --server / SUPERVISOR_SERVERS)"
            )
        return _several_hosts(servers, settings, args, out, tty)
    from ops.errors import ProgramFailed
    from ops.rpc import SupervisorClient

    client = SupervisorClient.from_settings(settings)
    if args.watch:
        from ops.watch import watch

        try:
            watch(client, settings, interval=args.interval, out=out, tty=tty)
        except KeyboardInterrupt:
            out.write("\n")
        return 0
    if not (args.start_all or args.restart is not None):
        return _status(client, settings, args.json, out, tty)
    try:
        if args.start_all:
            return _start_all(client, settings, args.timeout, out, tty)
        return _restart(client, settings, args.restart, args.timeout, out, tty)
    except ProgramFailed:
        _final_table(client, settings, out, tty)  # what the stack looks like now; the error follows
        raise


def _status(client: SupervisorClient, settings: Settings, as_json: bool, out: TextIO, tty: bool) -> int:
    from ops import render
    from ops.status import collect_status

    status = collect_status(client, settings)
    if as_json:
        out.write(render.status_json(status) + "\n")
    else:
        render.print_status(status, out, tty=tty)
    return status.exit_code


def _final_table(client: SupervisorClient, settings: Settings, out: TextIO, tty: bool) -> None:
    from ops import render
    from ops.errors import OpsError
    from ops.status import collect_status

    try:
        status = collect_status(client, settings)
    except OpsError:
        return  # the error being reported says enough
    render.print_status(status, out, tty=tty)
    out.write(render.urls_block(settings, status) + "\n")


def _start_all(client: SupervisorClient, settings: Settings, timeout: float, out: TextIO, tty: bool) -> int:
    from ops import control, render

    supervisord, config_file = control.supervisord_command(settings)
    if control.ensure_supervisord(client, settings, supervisord=supervisord, config_file=config_file):
        out.write(f"started supervisord ({config_file}, home {settings.APP_HOME})\n")
    else:
        out.write("supervisord already running\n")
    control.start_all(client)
    printer = Printer(out, tty)
    try:
        status = control.wait_healthy(client, settings, None, timeout=timeout, progress=printer)
    finally:
        printer.finish()
    render.print_status(status, out, tty=tty)
    out.write(render.urls_block(settings, status) + "\n")
    return status.exit_code


def _restart(
    client: SupervisorClient, settings: Settings, names: list[str], timeout: float, out: TextIO, tty: bool
) -> int:
    from ops import control, render

    printer = Printer(out, tty)
    try:
        final = control.restart_and_wait(
            client, settings, names, timeout=timeout, say=_say(out), progress=printer
        )
    finally:
        printer.finish()
    if final is not None:
        render.print_status(final, out, tty=tty)
    return 0


def _say(out: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    return say


def _several_hosts(
    servers: list[str], settings: Settings, args: argparse.Namespace, out: TextIO, tty: bool
) -> int:
    """Status (or --restart) of each host; an unreachable host is named and the others still shown."""
    from ops import hosts, render

    results = hosts.collect_hosts(hosts.hosts_for(settings, servers), settings)
    for line in hosts.error_lines(results):
        print(f"monitor.py: {line}", file=sys.stderr)
    if args.restart is None:
        if args.json:
            out.write(hosts.hosts_json(results) + "\n")
        else:
            hosts.print_hosts(results, out, tty=tty)
        return hosts.exit_code(results)
    return hosts.restart_on_hosts(
        results,
        settings,
        args.restart,
        timeout=args.timeout,
        say=_say(out),
        warn=lambda line: print(f"monitor.py: {line}", file=sys.stderr),
        show=lambda status: render.print_status(status, out, tty=tty),
    )


if __name__ == "__main__":
    sys.exit(main())
