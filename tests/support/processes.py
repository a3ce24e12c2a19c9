"""Process bookkeeping for tests: find what a stack left behind."""
from __future__ import annotations

import os
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
