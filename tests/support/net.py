"""Free ports on loopback, and checks that a port is free again.

A port handed out here is bound later, by a server a test starts; until then another process could
take it. So the ports come from below the kernel's ephemeral range (where it picks ports for
outgoing connections and ``bind(0)``), each pytest-xdist worker draws from its own slice of it,
and a process never hands out the same port twice: parallel workers and the connections they open
cannot take each other's ports.
"""

from __future__ import annotations

import os
import random
import socket

# Below Linux's default ephemeral range (32768-60999), above the well-known services.
RANGE = (20000, 32768)
_handed_out: set[int] = set()


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def worker_slice() -> tuple[int, int]:
    """This process's share of RANGE: all of it, or 1/N of it for pytest-xdist worker gwI of N."""
    low, high = RANGE
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if not worker.startswith("gw") or not worker[2:].isdigit() or count < 1:
        return low, high
    size = (high - low) // count
    index = int(worker[2:]) % count
    return low + index * size, low + (index + 1) * size


def free_port(count: int = 1, host: str = "127.0.0.1") -> int:
    """A port P such that P .. P+count-1 are all free right now (and not handed out before)."""
    low, high = worker_slice()
    for _ in range(500):
        port = random.randrange(low, max(low + 1, high - count))
        run = range(port, port + count)
        if not _handed_out.intersection(run) and all(port_is_free(p, host) for p in run):
            _handed_out.update(run)
            return port
    for _ in range(200):  # the slice is used up: what the kernel picks
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port + count <= 65535 and all(port_is_free(port + i, host) for i in range(count)):
            return port
    raise RuntimeError(f"no run of {count} free ports found")
