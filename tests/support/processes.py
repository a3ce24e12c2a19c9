"""Process bookkeeping for tests: find what a stack left behind, stop process groups."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def processes_mentioning(marker: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose command line or environment holds marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes()
            status = (entry / "status").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if "State:\tZ" in status:
            continue
        if marker in cmdline or marker.encode() in environ:
            found.append((int(entry.name), cmdline.strip()))
    return found


def stop_process_group(
    process: subprocess.Popen[bytes], *, port: int | None = None, timeout: float = 30
) -> None:
    """SIGTERM a child started with ``start_new_session=True`` and its whole group; SIGKILL what is
    left after ``timeout`` (npm -> sh -> node may outlive its leader); then wait for ``port`` to be free."""
    from tests.support.net import port_is_free
    from tests.support.wait import wait_until

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
    except ProcessLookupError:
        pass
    if port is not None:
        wait_until(lambda: port_is_free(port), timeout=15, message=f"port {port} to be free")


def interrupt(process: subprocess.Popen[str], timeout: float = 20) -> tuple[str, str]:
    """Ctrl-C a command a test follows (``monitor.py --watch``, ``ctl logs -f``) and return its
    remaining output; killed if it does not end within ``timeout``, so a failing test never leaves
    it running (the TimeoutExpired then fails the test)."""
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return out or "", err or ""
