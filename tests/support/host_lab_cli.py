"""bin/hosts: bring a lab of several hosts up, look at it, cut and heal links, take it down."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.support.host_lab import REPO, HostLab, LabError, can_run

DEFAULT_DIR = REPO / "var" / "hosts"
MONITOR = str(REPO / "bin" / "monitor.py")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bin/hosts", description="Several hosts in network namespaces.")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the lab's state (default var/hosts)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="bring the lab up")
    up.add_argument(
        "--hosts", type=int, default=3, choices=range(1, 10), metavar="N", help="hosts (default 3)"
    )
    sub.add_parser("status", help="bin/monitor.py --server for every host")
    sub.add_parser("env", help='the environment for bin/monitor.py and ctl (eval "$(bin/hosts env)")')
    for name in ("cut", "heal"):
        one = sub.add_parser(name, help=f"{name} host N's link")
        one.add_argument("host", type=int)
    sub.add_parser("cut-db", help="stop the database forwarder")
    sub.add_parser("heal-db", help="start the database forwarder again")
    sub.add_parser("down", help="take the lab down")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    state = args.dir / "lab.json"
    try:
        if args.command == "up":
            if state.exists():
                print(f"hosts: a lab is up already ({state}): bin/hosts down first", file=sys.stderr)
                return 2
            why = can_run()
            if why:
                print(f"hosts: {why}", file=sys.stderr)
                return 2
            admin = os.environ.get(
                "LAB_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
            )
            lab = HostLab.create(args.dir, hosts=args.hosts, admin_url=admin)
            try:
                lab.up()
            except BaseException:
                lab.down()
                state.unlink(missing_ok=True)
                raise
            for h in lab.hosts:
                print(f"host {h.index}: {h.netns} {h.supervisor_url} ({', '.join(h.programs)})")
            print(
                f"database {lab.database} through {lab.gateway}:6432; API http://{lab.host(1).address}:8000"
            )
            return 0
        if not state.exists():
            print(f"hosts: no lab at {args.dir} (bin/hosts up)", file=sys.stderr)
            return 2
        lab = HostLab.load(args.dir)
        if args.command == "status":
            return subprocess.run([MONITOR], env=lab.tool_env(), check=False).returncode
        if args.command == "env":
            keys = ("SUPERVISOR_SERVERS", "SUPERVISOR_USERNAME", "SUPERVISOR_PASSWORD", "API_URL")
            env = lab.tool_env()
            for key in (*keys, "DATABASE_URL", "WORKER_HEALTH_PORT", "API_PORT"):
                print(f"export {key}={shlex.quote(env[key])}")
            return 0
        if args.command in ("cut", "heal"):
            if not 1 <= args.host <= len(lab.hosts):
                print(f"hosts: no host {args.host} (1..{len(lab.hosts)})", file=sys.stderr)
                return 2
            getattr(lab, args.command)(args.host)
            return 0
        if args.command == "cut-db":
            lab.cut_database()
            return 0
        if args.command == "heal-db":
            lab.heal_database()
            return 0
        problems = lab.down()
        for problem in problems:
            print(f"hosts: {problem}", file=sys.stderr)
        state.unlink(missing_ok=True)
        return 1 if problems else 0
    except LabError as exc:
        print(f"hosts: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
