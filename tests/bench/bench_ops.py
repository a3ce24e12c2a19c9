"""bin/bench ops: our operator tools against supervisorctl and superlance's httpok, on one stack.

    bin/bench ops [--runs 20] [--hang-runs 3] [--skip-hang]

Boots the whole stack (the repository's supervisord.conf, free ports, a temporary home), then:
  status   wall time of ``bin/monitor.py`` (every process + parallel health probes) and of
           ``.venv/bin/python bin/monitor.py`` (no sh hand-over) vs ``supervisorctl status`` (no health at
           all), interleaved run by run; medians of --runs.
  hang     the API frozen with SIGSTOP (its whole process group) until it answers /health again with
           a new pid: our listener at its defaults (a probe every 2 s, 2 failures) vs httpok at its documented
           setting (TICK_60, ``-p api``, 2 s timeout). Only one listener runs at a time.
Prints medians and ratios (ours / anchor; below 1.0 is better).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.stack import REPO, Stack
from tests.support.wait import wait_until

VENV_BIN = Path(sys.executable).parent


def httpok_program(api_port: int) -> str:
    return f"""
[eventlistener:httpok]
command = {VENV_BIN}/httpok -p api -t 2 http://127.0.0.1:{api_port}/health
events = TICK_60
autostart = false
autorestart = true
stdout_logfile = NONE
stderr_logfile = logs/httpok.log
"""


def healthy(stack: Stack) -> bool:
    try:
        return httpx.get(stack.api_url + "/health", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def api_info(stack: Stack) -> dict[str, Any]:
    return next(p for p in stack.process_info() if p["name"] == "api")


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return time.perf_counter() - started


def bench_status(stack: Stack, runs: int) -> dict[str, float]:
    # The user's shell: no venv on PATH; bin/monitor.py's sh line hands over to .venv's python.
    user_env = {**stack.env, "PATH": "/usr/local/bin:/usr/bin:/bin"}
    commands = {
        "bin/monitor.py": ([str(REPO / "bin" / "monitor.py")], user_env),
        ".venv/bin/python bin/monitor.py": ([sys.executable, str(REPO / "bin" / "monitor.py")], stack.env),
        "supervisorctl status": (
            [str(VENV_BIN / "supervisorctl"), "-s", f"unix://{stack.socket}", "status"],
            stack.env,
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:  # rotate who goes first
            times[name].append(timed(*commands[name]))
    return {name: statistics.median(values) for name, values in times.items()}


def recover_once(stack: Stack, grace: float) -> float:
    """Seconds from freezing the API to /health answering from a new process."""
    wait_until(
        lambda: healthy(stack) and api_info(stack)["now"] - api_info(stack)["start"] > grace,
        timeout=grace + 120,
        interval=0.5,
        message="the api healthy and past the listener's grace",
    )
    pid = api_info(stack)["pid"]
    os.killpg(pid, signal.SIGSTOP)
    started = time.monotonic()
    try:
        wait_until(
            lambda: api_info(stack)["pid"] not in (0, pid) and healthy(stack),
            timeout=300,
            interval=0.1,
            message="the api to be restarted",
        )
        return time.monotonic() - started
    finally:
        try:
            os.killpg(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def add_httpok(stack: Stack) -> None:
    """Add httpok to the running supervisord, as ``supervisorctl update`` would."""
    (stack.home / "conf.d" / "httpok.conf").write_text(httpok_program(stack.api_port))
    stack.rpc().supervisor.reloadConfig()
    stack.rpc().supervisor.addProcessGroup("httpok")


def bench_hang(stack: Stack, runs: int) -> dict[str, list[float]]:
    add_httpok(stack)
    rpc = stack.rpc().supervisor
    results: dict[str, list[float]] = {"ours": [], "httpok": []}
    for side in ("ours", "httpok"):
        if side == "ours":
            rpc.stopProcess("httpok") if api_state(stack, "httpok") == "RUNNING" else None
            if api_state(stack, "healthcheck") != "RUNNING":
                rpc.startProcess("healthcheck", True)
            grace = 30.0  # HEALTHCHECK_GRACE_SECONDS default: a real hang comes long after start
        else:
            rpc.stopProcess("healthcheck")
            rpc.startProcess("httpok", True)
            grace = 0.0
        for n in range(runs):
            seconds = recover_once(stack, grace)
            results[side].append(seconds)
            print(f"  hang {side} run {n + 1}: {seconds:.1f} s", flush=True)
    return results


def api_state(stack: Stack, name: str) -> str:
    return next(p["statename"] for p in stack.process_info() if p["name"] == name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench ops", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="status runs per command (default 20)")
    parser.add_argument("--hang-runs", type=int, default=3, help="hang recoveries per side (default 3)")
    parser.add_argument("--skip-hang", action="store_true", help="only the status timing")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ops-") as home:
        # The stack as the repository defines it; conf.d/ lets httpok join later (bench_hang).
        with Stack(Path(home), extra_programs="; httpok.conf is added by bench_hang\n") as stack:
            stack.wait_running()
            monitor = [sys.executable, str(REPO / "bin" / "monitor.py")]
            wait_until(
                lambda: subprocess.run(monitor, env=stack.env, capture_output=True).returncode == 0,
                timeout=120,
                message="every program healthy",
            )
            print(f"stack up in {home}; status: {args.runs} runs per command", flush=True)
            status = bench_status(stack, args.runs)
            hang = None if args.skip_hang else bench_hang(stack, args.hang_runs)
    anchor = status["supervisorctl status"]
    print()
    print(f"{'measure':<46} {'median':>9} {'ratio':>7}")
    for name, value in status.items():
        print(f"{'status: ' + name:<46} {value * 1000:>7.0f}ms {value / anchor:>7.2f}")
    if hang:
        ours, theirs = statistics.median(hang["ours"]), statistics.median(hang["httpok"])
        label = "hung API -> healthy: our listener (2 s, K=2)"
        print(f"{label:<46} {ours:>8.1f}s {ours / theirs:>7.2f}")
        print(f"{'hung API -> healthy: httpok (TICK_60)':<46} {theirs:>8.1f}s {1.0:>7.2f}")
        print(
            f"  (runs: ours {', '.join(f'{s:.1f}' for s in hang['ours'])}; "
            f"httpok {', '.join(f'{s:.1f}' for s in hang['httpok'])})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
